namespace EmbedSharp.Formats;

/// <summary>
/// A file (or stream) is not a valid embedding file of the format being read: it is truncated,
/// a header field is out of range, a value does not parse, a word is not valid UTF-8, and so on.
/// </summary>
/// <remarks>
/// The message reads <c>[op] file at byte offset: problem</c>, e.g.
/// <c>[word2vec.read] vectors.bin at byte 10: header dims -5 must be ≥ 1</c>, so the reader
/// learns which file, where, and what is wrong. Readers throw this type for every defect they
/// detect in the data; argument errors (a null stream, a bad option) stay
/// <see cref="ArgumentException"/>s, and I/O failures stay <see cref="IOException"/>s.
/// </remarks>
public sealed class EmbeddingFormatException : FormatException
{
    /// <summary>Creates the exception; the message is composed from the parts.</summary>
    public EmbeddingFormatException(string op, string? source, long offset, string problem, Exception? inner = null)
        : base($"[{op}] {source ?? "<stream>"} at byte {offset}: {problem}", inner)
    {
        Operation = op;
        FileName = source;
        Offset = offset;
        Problem = problem;
    }

    /// <summary>The operation that failed (<c>word2vec.read</c>, <c>fasttext.read</c>, ...).</summary>
    public string Operation { get; }

    /// <summary>The file name, or null when reading an anonymous stream.</summary>
    public string? FileName { get; }

    /// <summary>Byte offset in the file where the problem was found.</summary>
    public long Offset { get; }

    /// <summary>The problem, without the operation and position prefix.</summary>
    public string Problem { get; }
}
