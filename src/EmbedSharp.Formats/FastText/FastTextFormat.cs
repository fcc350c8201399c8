using EmbedSharp.Diagnostics;
using EmbedSharp.Formats.Word2Vec;

namespace EmbedSharp.Formats.FastText;

/// <summary>
/// fastText's files: <see cref="Vec"/>, the word2vec-style text vectors it writes (header
/// <c>"N D"</c>, then <c>word v1 … vD </c> with a trailing space), and <see cref="Bin"/>, the full
/// model (<c>.bin</c>, quantized <c>.ftz</c>). Reading a model as rows gives each dictionary word's
/// vector, the same values as the <c>.vec</c> fastText writes beside it.
/// </summary>
public sealed class FastTextFormat : EmbeddingFormat
{
    private readonly bool _bin;

    private FastTextFormat(bool bin) => _bin = bin;

    /// <summary>The <c>.vec</c> text format.</summary>
    public static FastTextFormat Vec { get; } = new(bin: false);

    /// <summary>The binary model format (<c>.bin</c>, <c>.ftz</c>).</summary>
    public static FastTextFormat Bin { get; } = new(bin: true);

    /// <inheritdoc/>
    public override string Name => _bin ? "fasttext-bin" : "fasttext-vec";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Extensions => _bin ? [".bin", ".ftz"] : [".vec"];

    /// <inheritdoc/>
    public override FormatMatch Detect(ReadOnlySpan<byte> head, long? length) =>
        _bin ? FastTextDetector.DetectBin(head) : FastTextDetector.DetectVec(head);

    /// <inheritdoc/>
    public override VectorRowReader OpenReader(Stream stream, ReadOptions? options = null, string? source = null)
    {
        Guard.NotNull(Name + ".read", stream);
        options ??= ReadOptions.Default;
        return _bin
            ? new FastTextBinRowReader(stream, options, source)
            : new Word2VecTextReader(stream, options, source, "fasttext-vec.read");
    }

    /// <inheritdoc/>
    public override VectorRowWriter OpenWriter(Stream stream, long numEmbeddings, int dims) =>
        _bin
            ? new FastTextBinRowWriter(stream, numEmbeddings, dims)
            : new Word2VecTextWriter(stream, numEmbeddings, dims, "fasttext-vec.write", header: true, trailingSpace: true);

    /// <summary>Reads a full model (only for <see cref="Bin"/>).</summary>
    /// <exception cref="EmbeddingFormatException">The file is not a valid model.</exception>
    public FastTextModel ReadModel(string path, ReadOptions? options = null)
    {
        if (!_bin)
            ThrowHelper.InvalidOperation("fasttext-vec.read", ".vec files hold vectors only; use Read, or FastTextFormat.Bin for models");
        Guard.NotNull("fasttext.read", path);
        using var fs = OpenRead(path);
        return FastTextReader.Read(fs, options ?? ReadOptions.Default, path, loadOutput: true);
    }
}
