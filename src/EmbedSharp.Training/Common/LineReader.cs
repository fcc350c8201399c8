using System.Text;

namespace EmbedSharp.Training.Common;

/// <summary>
/// Reads UTF-8 lines from a stream with fixed buffers (nothing is allocated per line once the buffers
/// have grown to the longest line), optionally restricted to one shard of the bytes.
/// </summary>
/// <remarks>
/// Shards of a seekable stream are byte ranges <c>[len·k/n, len·(k+1)/n)</c>; a line belongs to the shard
/// its first byte falls in, so every line is read by exactly one shard. A non-seekable stream is
/// sharded by line number modulo <c>n</c> instead. A line longer than <see cref="MaxLineBytes"/> is
/// handed out in pieces cut at white space, so a one-line corpus such as text8 streams too.
/// </remarks>
internal sealed class LineReader : LineSource
{
    public const int MaxLineBytes = 1 << 20;
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private byte[] _buffer = new byte[1 << 16];
    private char[] _chars = new char[1 << 12];
    private int _start, _end;
    private long _position;          // absolute offset of _buffer[_start]
    private readonly long _limit;    // lines starting at or after this offset belong to the next shard
    private readonly int _modulo, _residue;
    private long _lineNumber = -1;
    private bool _eof, _midLine;
    private int _lineLength;

    public LineReader(Stream stream, int shard, int shardCount, bool ownsStream = true)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _limit = long.MaxValue;
        _modulo = 1;
        if (shardCount <= 1)
            return;
        if (stream.CanSeek)
        {
            long len = stream.Length;
            long begin = len * shard / shardCount;
            if (shard < shardCount - 1)
                _limit = len * (shard + 1) / shardCount;
            if (begin > 0)
            {
                stream.Seek(begin - 1, SeekOrigin.Begin);
                _position = begin - 1;
                SkipPastNewline();
            }
        }
        else
        {
            _modulo = shardCount;
            _residue = shard;
        }
    }

    public override ReadOnlySpan<char> Line => _chars.AsSpan(0, _lineLength);

    public override bool IsContinuation => _continuation;

    private bool _continuation;

    public override bool ReadLine()
    {
        while (true)
        {
            if (!ReadRawLine(out ReadOnlySpan<byte> bytes, out bool lineStart, out long offset))
                return false;
            if (lineStart)
            {
                if (offset >= _limit)
                    return false;
                _lineNumber++;
            }
            if (_modulo > 1 && _lineNumber % _modulo != _residue)
                continue;
            _continuation = !lineStart;
            int need = Encoding.UTF8.GetMaxCharCount(bytes.Length);
            if (_chars.Length < need)
                _chars = new char[Math.Max(need, _chars.Length * 2)];
            _lineLength = Encoding.UTF8.GetChars(bytes, _chars);
            return true;
        }
    }

    public override Span<char> WritableLine => _chars.AsSpan(0, _lineLength);

    private bool ReadRawLine(out ReadOnlySpan<byte> line, out bool lineStart, out long offset)
    {
        lineStart = !_midLine;
        while (true)
        {
            int nl = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (nl >= 0)
            {
                offset = _position;
                line = _buffer.AsSpan(_start, nl);
                Advance(nl + 1);
                _midLine = false;
                return true;
            }
            if (_eof)
            {
                offset = _position;
                line = _buffer.AsSpan(_start, _end - _start);
                Advance(_end - _start);
                _midLine = false;
                return line.Length > 0 || !lineStart;
            }
            if (_end - _start >= MaxLineBytes)
            {
                // An over-long line: hand out a piece ending at the last white space (or a UTF-8 boundary).
                var span = _buffer.AsSpan(_start, _end - _start);
                int cut = span.LastIndexOfAny((byte)' ', (byte)'\t');
                if (cut <= 0)
                {
                    cut = span.Length;
                    while (cut > 0 && (span[cut - 1] & 0xC0) == 0x80)
                        cut--;
                    if (cut > 0 && span[cut - 1] >= 0xC0)
                        cut--;
                    if (cut == 0)
                        cut = span.Length;
                }
                offset = _position;
                line = _buffer.AsSpan(_start, cut);
                Advance(cut);
                _midLine = true;
                return true;
            }
            Fill();
        }
    }

    private void Advance(int n)
    {
        _start += n;
        _position += n;
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxLineBytes + (1 << 16)));
        int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
            _eof = true;
        _end += read;
    }

    private void SkipPastNewline()
    {
        while (true)
        {
            int nl = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
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

    public override void Dispose()
    {
        if (_ownsStream)
            _stream.Dispose();
    }
}
