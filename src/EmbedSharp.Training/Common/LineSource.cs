namespace EmbedSharp.Training.Common;

/// <summary>Where a corpus cursor gets its lines: UTF-8 bytes from a stream, or characters from a text reader.</summary>
internal abstract class LineSource : IDisposable
{
    /// <summary>Moves to the next line of this shard; false at the end.</summary>
    public abstract bool ReadLine();

    /// <summary>Characters of the current line (valid until the next call).</summary>
    public abstract ReadOnlySpan<char> Line { get; }

    /// <summary>The current line as a writable span (for in-place normalisation).</summary>
    public abstract Span<char> WritableLine { get; }

    /// <summary>True when the current piece continues the previous one (an over-long line handed out in pieces).</summary>
    public abstract bool IsContinuation { get; }

    public abstract void Dispose();
}

/// <summary>
/// Lines from a <see cref="TextReader"/>, read in blocks into a reusable buffer (no string per line).
/// Shard k of n takes every n-th line; lines longer than <see cref="MaxLineChars"/> come out in pieces cut at white space.
/// </summary>
internal sealed class TextReaderLines : LineSource
{
    public const int MaxLineChars = 1 << 20;
    private readonly TextReader _reader;
    private readonly LineBuffer<char, CharUnits> _lines;
    private readonly int _modulo, _residue;
    private int _lineStart, _lineLength;
    private long _lineNumber = -1;
    private bool _continuation;

    public TextReaderLines(TextReader reader, int shard, int shardCount)
    {
        _reader = reader;
        _lines = new LineBuffer<char, CharUnits>(reader.Read, MaxLineChars, 1 << 15);
        _modulo = Math.Max(1, shardCount);
        _residue = shard;
    }

    public override ReadOnlySpan<char> Line => _lines.Buffer.AsSpan(_lineStart, _lineLength);
    public override Span<char> WritableLine => _lines.Buffer.AsSpan(_lineStart, _lineLength);
    public override bool IsContinuation => _continuation;

    public override bool ReadLine()
    {
        while (true)
        {
            if (!_lines.Next(out _lineStart, out _lineLength, out bool lineStart, out _))
                return false;
            if (lineStart)
                _lineNumber++;
            if (_modulo > 1 && _lineNumber % _modulo != _residue)
                continue;
            _continuation = !lineStart;
            return true;
        }
    }

    public override void Dispose() => _reader.Dispose();
}
