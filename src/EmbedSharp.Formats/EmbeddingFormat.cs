using EmbedSharp.Diagnostics;
using EmbedSharp.Formats.IO;

namespace EmbedSharp.Formats;

/// <summary>How sure a format is that some bytes are its own (from <see cref="EmbeddingFormat.Detect"/>).</summary>
public enum FormatMatch
{
    /// <summary>Not this format.</summary>
    No = 0,
    /// <summary>Could be this format, nothing contradicts it.</summary>
    Possible = 1,
    /// <summary>The structure checks out on the bytes seen.</summary>
    Likely = 2,
    /// <summary>A magic number identifies it.</summary>
    Certain = 3,
}

/// <summary>
/// One embedding file format: its name and extensions, a content sniffer, and a row-streaming
/// reader and writer; whole-table reads and writes (and the path overloads, which write to a
/// temporary file and rename it into place) are built on those.
/// </summary>
public abstract class EmbeddingFormat
{
    /// <summary>Short, stable name (<c>word2vec</c>, <c>word2vec-binary</c>, <c>glove</c>, <c>fasttext-vec</c>, <c>fasttext-bin</c>, <c>npy</c>).</summary>
    public abstract string Name { get; }

    /// <summary>File extensions, with the dot, that usually mean this format.</summary>
    public abstract IReadOnlyList<string> Extensions { get; }

    /// <summary>True when the writer must know the row count before the first row (a header states it).</summary>
    public virtual bool WriterNeedsCount => true;

    /// <summary>
    /// True when the format holds only the matrix and keeps the words in a <c>path.vocab</c> sidecar
    /// (NumPy, safetensors); such files may also stand alone without words.
    /// </summary>
    public virtual bool UsesVocabularySidecar => false;

    /// <summary>Judges whether <paramref name="head"/>, the first bytes of a file of <paramref name="length"/> bytes (null if unknown), is this format.</summary>
    public abstract FormatMatch Detect(ReadOnlySpan<byte> head, long? length);

    /// <summary>Opens a row reader over <paramref name="stream"/>, positioned at the start of the file.</summary>
    /// <param name="stream">The data; it is read forward and not closed.</param>
    /// <param name="options">Read policies; null for <see cref="ReadOptions.Default"/>.</param>
    /// <param name="source">A name for error messages (the file path).</param>
    /// <exception cref="EmbeddingFormatException">The header is invalid.</exception>
    public abstract VectorRowReader OpenReader(Stream stream, ReadOptions? options = null, string? source = null);

    /// <summary>Opens a row writer that writes <paramref name="numEmbeddings"/> rows of <paramref name="dims"/> values.</summary>
    /// <param name="stream">Destination; not closed.</param>
    /// <param name="numEmbeddings">Rows to be written (ignored when <see cref="WriterNeedsCount"/> is false).</param>
    /// <param name="dims">Row length.</param>
    public abstract VectorRowWriter OpenWriter(Stream stream, long numEmbeddings, int dims);

    /// <summary>Reads a whole file from a stream.</summary>
    /// <exception cref="EmbeddingFormatException">The data is malformed (the message names the offset and the problem).</exception>
    public virtual WordEmbeddings Read(Stream stream, ReadOptions? options = null, string? source = null)
    {
        Guard.NotNull($"{Name}.read", stream);
        options ??= ReadOptions.Default;
        using var reader = OpenReader(stream, options, source);
        return ReadAll(reader, options);
    }

    /// <summary>Reads a whole file.</summary>
    /// <exception cref="EmbeddingFormatException">The data is malformed.</exception>
    public virtual WordEmbeddings Read(string path, ReadOptions? options = null)
    {
        Guard.NotNull($"{Name}.read", path);
        using var fs = OpenRead(path);
        return Read(fs, options, path);
    }

    /// <summary>Writes all rows of <paramref name="embeddings"/> to a stream.</summary>
    public virtual void Write(Stream stream, WordEmbeddings embeddings)
    {
        string op = $"{Name}.write";
        Guard.NotNull(op, stream);
        Guard.NotNull(op, embeddings);
        using var writer = OpenWriter(stream, embeddings.NumEmbeddings, embeddings.Dims);
        var row = new float[embeddings.Dims];
        for (int r = 0; r < embeddings.NumEmbeddings; r++)
        {
            embeddings.Table.ReadRow(r, row);
            writer.WriteRow(embeddings.Words?[r], row, embeddings.Counts is { } c ? c[r] : -1);
        }
        writer.Complete();
    }

    /// <summary>Writes a file through a temporary sibling that is renamed into place when complete.</summary>
    public virtual void Write(string path, WordEmbeddings embeddings)
    {
        Guard.NotNull($"{Name}.write", path);
        AtomicFile.Write(path, s => Write(s, embeddings));
    }

    /// <summary>Drains a row reader into a table.</summary>
    internal static WordEmbeddings ReadAll(VectorRowReader reader, ReadOptions options)
    {
        using var builder = new TableBuilder(reader.Dims, options.DType, reader.Count, reader.CountIsVerified, reader.HasWords);
        var row = new float[reader.Dims];
        while (reader.TryReadRow(row, out string? word, out long count))
            builder.Add(word, row, count);
        return builder.Build();
    }

    internal static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 12, FileOptions.SequentialScan);

    /// <inheritdoc/>
    public override string ToString() => Name;
}
