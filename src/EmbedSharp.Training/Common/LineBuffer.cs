namespace EmbedSharp.Training.Common;

/// <summary>
/// The line splitting both corpus line sources share, over UTF-8 bytes (<see cref="Utf8Units"/>) or
/// characters (<see cref="CharUnits"/>): one growable buffer refilled in blocks, lines handed out as
/// ranges of <see cref="Buffer"/> (valid until the next call; writable, for in-place normalisation), and a line longer than <c>maxLine</c> handed out in pieces
/// cut at the last space or tab (or, with none, at a character boundary).
/// </summary>
internal sealed class LineBuffer<T, TUnits>(Func<T[], int, int, int> read, int maxLine, int block)
    where T : unmanaged, IEquatable<T>
    where TUnits : struct, ILineUnits<T>
{
    private T[] _buffer = new T[block];
    private int _start, _end;
    private bool _eof, _midLine;

    /// <summary>The buffer the ranges <see cref="Next"/> hands out index.</summary>
    public T[] Buffer => _buffer;

    /// <summary>Absolute offset, in units, of the next unread unit (the source's start offset plus what was consumed).</summary>
    public long Position { get; set; }

    /// <summary>
    /// The next line or piece of one; false at the end. <paramref name="lineStart"/> is false for the
    /// pieces after the first of an over-long line; <paramref name="offset"/> is where the piece starts.
    /// </summary>
    public bool Next(out int start, out int length, out bool lineStart, out long offset)
    {
        lineStart = !_midLine;
        while (true)
        {
            int nl = _buffer.AsSpan(_start, _end - _start).IndexOf(TUnits.NewLine);
            if (nl >= 0)
            {
                offset = Position;
                (start, length) = (_start, nl);
                Advance(nl + 1);
                _midLine = false;
                return true;
            }
            if (_eof)
            {
                offset = Position;
                (start, length) = (_start, _end - _start);
                Advance(_end - _start);
                _midLine = false;
                return length > 0 || !lineStart;
            }
            if (_end - _start >= maxLine)
            {
                // An over-long line: hand out a piece ending at the last white space (or a character boundary).
                var span = _buffer.AsSpan(_start, _end - _start);
                int cut = span.LastIndexOfAny(TUnits.Space, TUnits.Tab);
                if (cut <= 0)
                    cut = TUnits.BoundaryCut(span);
                offset = Position;
                (start, length) = (_start, cut);
                Advance(cut);
                _midLine = true;
                return true;
            }
            Fill();
        }
    }

    /// <summary>Consumes everything up to and including the next newline (a shard's partial first line).</summary>
    public void SkipPastNewline()
    {
        while (true)
        {
            int nl = _buffer.AsSpan(_start, _end - _start).IndexOf(TUnits.NewLine);
            if (nl >= 0)
            {
                Advance(nl + 1);
                return;
            }
            Advance(_end - _start);
            if (_eof)
                return;
            Fill();
        }
    }

    private void Advance(int n)
    {
        _start += n;
        Position += n;
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
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, maxLine + block));
        int count = read(_buffer, _end, _buffer.Length - _end);
        if (count == 0)
            _eof = true;
        _end += count;
    }
}

/// <summary>The units a <see cref="LineBuffer{T, TUnits}"/> splits: newline, the two white-space separators, and where to cut a piece with no white space.</summary>
internal interface ILineUnits<T>
{
    static abstract T NewLine { get; }

    static abstract T Space { get; }

    static abstract T Tab { get; }

    /// <summary>The length of a piece of <paramref name="span"/> (a full buffer without white space) that ends on a character boundary.</summary>
    static abstract int BoundaryCut(ReadOnlySpan<T> span);
}

/// <summary>UTF-8 bytes: a piece never ends inside a multi-byte sequence.</summary>
internal readonly struct Utf8Units : ILineUnits<byte>
{
    public static byte NewLine => (byte)'\n';

    public static byte Space => (byte)' ';

    public static byte Tab => (byte)'\t';

    public static int BoundaryCut(ReadOnlySpan<byte> span)
    {
        int cut = span.Length;
        while (cut > 0 && (span[cut - 1] & 0xC0) == 0x80)
            cut--;
        if (cut > 0 && span[cut - 1] >= 0xC0)
            cut--;
        return cut == 0 ? span.Length : cut;
    }
}

/// <summary>UTF-16 characters: a piece never ends between the halves of a surrogate pair.</summary>
internal readonly struct CharUnits : ILineUnits<char>
{
    public static char NewLine => '\n';

    public static char Space => ' ';

    public static char Tab => '\t';

    public static int BoundaryCut(ReadOnlySpan<char> span) => char.IsHighSurrogate(span[^1]) ? span.Length - 1 : span.Length;
}
