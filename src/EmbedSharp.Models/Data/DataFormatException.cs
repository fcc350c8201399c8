namespace EmbedSharp.Models.Data;

/// <summary>
/// A defect in a data file: the message reads <c>[op] source line L column C: problem</c>, so a person
/// can open the file at the place.
/// </summary>
public sealed class DataFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public DataFormatException(string op, string source, long line, int column, string problem)
        : base($"[{op}] {source} line {line} column {column}: {problem}")
    {
        Source = source;
        Line = line;
        Column = column;
    }

    /// <summary>The file (or stream) name given to the reader.</summary>
    public new string Source { get; }

    /// <summary>1-based line.</summary>
    public long Line { get; }

    /// <summary>1-based column (field).</summary>
    public int Column { get; }
}
