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
    private readonly int _modulo, _residue;
    private char[] _buffer = new char[1 << 15];
    private int _start, _end, _lineStart, _lineLength;
    private long _lineNumber = -1;
    private bool _eof, _midLine, _continuation;

    public TextReaderLines(TextReader reader, int shard, int shardCount)
    {
        _reader = reader;
        _modulo = Math.Max(1, shardCount);
        _residue = shard;
    }

    public override ReadOnlySpan<char> Line => _buffer.AsSpan(_lineStart, _lineLength);
    public override Span<char> WritableLine => _buffer.AsSpan(_lineStart, _lineLength);
    public override bool IsContinuation => _continuation;

    public override bool ReadLine()
    {
        while (true)
        {
            bool lineStart = !_midLine;
            if (!ReadRaw())
                return false;
            if (lineStart)
                _lineNumber++;
            if (_modulo > 1 && _lineNumber % _modulo != _residue)
                continue;
            _continuation = !lineStart;
            return true;
        }
    }

    private bool ReadRaw()
    {
        while (true)
        {
            int nl = _buffer.AsSpan(_start, _end - _start).IndexOf('\n');
            if (nl >= 0)
            {
                Take(nl, nl + 1);
                _midLine = false;
                return true;
            }
            if (_eof)
            {
                bool any = _end > _start || _midLine;
                Take(_end - _start, _end - _start);
                _midLine = false;
                return any;
            }
            if (_end - _start >= MaxLineChars)
            {
                var span = _buffer.AsSpan(_start, _end - _start);
                int cut = span.LastIndexOfAny(' ', '\t');
                if (cut <= 0)
                    cut = char.IsHighSurrogate(span[^1]) ? span.Length - 1 : span.Length;
                Take(cut, cut);
                _midLine = true;
                return true;
            }
            Fill();
        }
    }

    private void Take(int length, int advance)
    {
        _lineStart = _start;
        _lineLength = length;
        _start += advance;
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxLineChars + (1 << 15)));
        int read = _reader.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
            _eof = true;
        _end += read;
    }

    public override void Dispose() => _reader.Dispose();
}
