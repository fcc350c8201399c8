using EmbedSharp.Diagnostics;

namespace EmbedSharp.Formats.Glove;

/// <summary>
/// Stanford GloVe text vectors: <c>word v1 … vD</c> per line and no header; D is inferred from the
/// first line and, on a seekable stream, the row count from a quick pass over the line ends.
/// </summary>
public sealed class GloveFormat : EmbeddingFormat
{
    private GloveFormat()
    {
    }

    /// <summary>The format.</summary>
    public static GloveFormat Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => "glove";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Extensions => [".txt"];

    /// <inheritdoc/>
    public override bool WriterNeedsCount => false;

    /// <inheritdoc/>
    public override FormatMatch Detect(ReadOnlySpan<byte> head, long? length) => GloveDetector.Detect(head);

    /// <inheritdoc/>
    public override VectorRowReader OpenReader(Stream stream, ReadOptions? options = null, string? source = null)
    {
        Guard.NotNull("glove.read", stream);
        return new GloveReader(stream, options ?? ReadOptions.Default, source, "glove.read");
    }

    /// <inheritdoc/>
    public override VectorRowWriter OpenWriter(Stream stream, long numEmbeddings, int dims) => new GloveWriter(stream, dims);
}
