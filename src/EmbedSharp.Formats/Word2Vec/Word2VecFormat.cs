using EmbedSharp.Diagnostics;

namespace EmbedSharp.Formats.Word2Vec;

/// <summary>
/// The word2vec formats of Mikolov's C tool, as gensim's <c>load_word2vec_format</c> /
/// <c>save_word2vec_format</c> read and write them: <see cref="Text"/> and <see cref="Binary"/>.
/// </summary>
/// <remarks>
/// Both start with the ASCII header <c>"N D\n"</c>. Text rows are <c>word v1 … vD\n</c>; binary rows
/// are the word, a space, D little-endian float32 and '\n'. Values are read as gensim reads them
/// (text parsed to double, then rounded to float32), words are UTF-8 (see
/// <see cref="ReadOptions.UnicodeErrors"/>), <see cref="ReadOptions.Limit"/> reads the first rows only.
/// </remarks>
public sealed class Word2VecFormat : EmbeddingFormat
{
    private readonly bool _binary;

    private Word2VecFormat(bool binary) => _binary = binary;

    /// <summary>word2vec text (<c>.txt</c>).</summary>
    public static Word2VecFormat Text { get; } = new(binary: false);

    /// <summary>word2vec binary (<c>.bin</c>).</summary>
    public static Word2VecFormat Binary { get; } = new(binary: true);

    /// <inheritdoc/>
    public override string Name => _binary ? "word2vec-binary" : "word2vec";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Extensions => _binary ? [".bin"] : [".txt", ".w2v"];

    /// <inheritdoc/>
    public override FormatMatch Detect(ReadOnlySpan<byte> head, long? length) =>
        _binary ? Word2VecDetector.DetectBinary(head) : Word2VecDetector.DetectText(head);

    /// <inheritdoc/>
    public override VectorRowReader OpenReader(Stream stream, ReadOptions? options = null, string? source = null)
    {
        string op = Name + ".read";
        Guard.NotNull(op, stream);
        options ??= ReadOptions.Default;
        return _binary
            ? new Word2VecBinaryReader(stream, options, source, op)
            : new Word2VecTextReader(stream, options, source, op);
    }

    /// <inheritdoc/>
    public override VectorRowWriter OpenWriter(Stream stream, long numEmbeddings, int dims)
    {
        string op = Name + ".write";
        return _binary
            ? new Word2VecBinaryWriter(stream, numEmbeddings, dims, op)
            : new Word2VecTextWriter(stream, numEmbeddings, dims, op);
    }
}
