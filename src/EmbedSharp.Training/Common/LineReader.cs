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
    private readonly LineBuffer<byte, Utf8Units> _lines;
    private char[] _chars = new char[1 << 12];
    private readonly long _limit;    // lines starting at or after this offset belong to the next shard
    private readonly int _modulo, _residue;
    private long _lineNumber = -1;
    private int _lineLength;
    private bool _continuation;

    public LineReader(Stream stream, int shard, int shardCount, bool ownsStream = true)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _lines = new LineBuffer<byte, Utf8Units>(stream.Read, MaxLineBytes, 1 << 16);
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
                _lines.Position = begin - 1;
                _lines.SkipPastNewline();
            }
        }
        else
        {
            _modulo = shardCount;
            _residue = shard;
        }
    }

    public override ReadOnlySpan<char> Line => _chars.AsSpan(0, _lineLength);

    public override Span<char> WritableLine => _chars.AsSpan(0, _lineLength);

    public override bool IsContinuation => _continuation;

    public override bool ReadLine()
    {
        while (true)
        {
            if (!_lines.Next(out int start, out int length, out bool lineStart, out long offset))
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
            ReadOnlySpan<byte> bytes = _lines.Buffer.AsSpan(start, length);
            int need = Encoding.UTF8.GetMaxCharCount(bytes.Length);
            if (_chars.Length < need)
                _chars = new char[Math.Max(need, _chars.Length * 2)];
            _lineLength = Encoding.UTF8.GetChars(bytes, _chars);
            return true;
        }
    }

    public override void Dispose()
    {
        if (_ownsStream)
            _stream.Dispose();
    }
}
