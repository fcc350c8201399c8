using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EmbedSharp.Formats.IO;

/// <summary>
/// A forward-only buffered reader over a stream that knows its absolute byte offset, so every
/// error can say where it happened, and that never reads a token longer than a caller-given cap
/// (a hostile file with no delimiter cannot make it allocate without bound).
/// </summary>
internal sealed class ByteReader
{
    private const int BufferSize = 1 << 20;

    private readonly Stream _stream;
    private readonly byte[] _buffer;
    private int _pos;
    private int _len;
    private long _bufferStart;
    private bool _eof;
    private byte[] _scratch = [];

    public ByteReader(Stream stream, string op, string? source)
    {
        _stream = stream;
        Op = op;
        Source = source;
        _buffer = new byte[BufferSize];
        _bufferStart = stream.CanSeek ? stream.Position : 0;
        if (stream.CanSeek)
            StreamEnd = stream.Length;
    }

    public string Op { get; }
    public string? Source { get; }

    /// <summary>Absolute offset of the next byte.</summary>
    public long Offset => _bufferStart + _pos;

    /// <summary>Total length of the stream when it is seekable, else null.</summary>
    public long? StreamEnd { get; }

    /// <summary>Bytes left when the stream length is known, else null.</summary>
    public long? Remaining => StreamEnd is long end ? end - Offset : null;

    public EmbeddingFormatException Error(string problem, long? offset = null) =>
        new(Op, Source, offset ?? Offset, problem);

    private bool Fill()
    {
        if (_eof)
            return false;
        int keep = _len - _pos;
        if (keep > 0 && _pos > 0)
            Buffer.BlockCopy(_buffer, _pos, _buffer, 0, keep);
        _bufferStart += _pos;
        _pos = 0;
        _len = keep;
        int n = _stream.Read(_buffer, _len, _buffer.Length - _len);
        if (n <= 0)
        {
            _eof = true;
            return false;
        }
        _len += n;
        return true;
    }

    /// <summary>True when no bytes are left.</summary>
    public bool AtEnd => _pos >= _len && !Fill();

    /// <summary>The next byte without consuming it, or -1 at the end.</summary>
    public int Peek() => _pos < _len || Fill() ? _buffer[_pos] : -1;

    public byte ReadByte(string what)
    {
        if (_pos >= _len && !Fill())
            throw Error($"file ends while reading {what}");
        return _buffer[_pos++];
    }

    public void ReadExactly(Span<byte> destination, string what)
    {
        long start = Offset;
        while (!destination.IsEmpty)
        {
            if (_pos >= _len && !Fill())
                throw Error($"file ends while reading {what} ({destination.Length} more bytes needed, started at byte {start})");
            int n = Math.Min(destination.Length, _len - _pos);
            _buffer.AsSpan(_pos, n).CopyTo(destination);
            _pos += n;
            destination = destination[n..];
        }
    }

    public int ReadInt32(string what)
    {
        Span<byte> b = stackalloc byte[4];
        ReadExactly(b, what);
        return BinaryPrimitives.ReadInt32LittleEndian(b);
    }

    public long ReadInt64(string what)
    {
        Span<byte> b = stackalloc byte[8];
        ReadExactly(b, what);
        return BinaryPrimitives.ReadInt64LittleEndian(b);
    }

    public double ReadDouble(string what)
    {
        Span<byte> b = stackalloc byte[8];
        ReadExactly(b, what);
        return BinaryPrimitives.ReadDoubleLittleEndian(b);
    }

    /// <summary>Reads little-endian float32 values.</summary>
    public void ReadSingles(Span<float> destination, string what)
    {
        ReadExactly(MemoryMarshal.AsBytes(destination), what);
        if (!BitConverter.IsLittleEndian)
        {
            Span<int> bits = MemoryMarshal.Cast<float, int>(destination);
            BinaryPrimitives.ReverseEndianness(bits, bits);
        }
    }

    /// <summary>Skips <paramref name="count"/> bytes, failing if the file ends first.</summary>
    public void Skip(long count, string what)
    {
        long start = Offset;
        while (count > 0)
        {
            if (_pos >= _len)
            {
                if (_stream.CanSeek && StreamEnd is long end && count > _len - _pos)
                {
                    long target = Offset + count;
                    if (target > end)
                        throw Error($"file ends while skipping {what} ({count} bytes from byte {start})");
                    _stream.Position = target;
                    _bufferStart = target;
                    _pos = _len = 0;
                    return;
                }
                if (!Fill())
                    throw Error($"file ends while skipping {what} ({count} more bytes needed, started at byte {start})");
            }
            int n = (int)Math.Min(count, _len - _pos);
            _pos += n;
            count -= n;
        }
    }

    /// <summary>
    /// Reads bytes up to (not including) <paramref name="delimiter"/> and consumes the delimiter.
    /// At the end of the file the bytes read so far are returned when <paramref name="endTerminates"/>
    /// is true (and <paramref name="hitEnd"/> is set), else the method throws. A token longer than
    /// <paramref name="maxLength"/> throws. The span is valid until the next call.
    /// </summary>
    public ReadOnlySpan<byte> ReadUntil(byte delimiter, int maxLength, string what, bool endTerminates, out bool hitEnd)
    {
        hitEnd = false;
        long start = Offset;
        // Fast path: the token lies inside the current buffer.
        if (_pos < _len || Fill())
        {
            int idx = _buffer.AsSpan(_pos, _len - _pos).IndexOf(delimiter);
            if (idx >= 0)
            {
                if (idx > maxLength)
                    throw Error($"{what} is longer than {maxLength} bytes", start);
                var token = _buffer.AsSpan(_pos, idx);
                _pos += idx + 1;
                return token;
            }
        }
        else
        {
            if (endTerminates)
            {
                hitEnd = true;
                return [];
            }
            throw Error($"file ends while reading {what}");
        }
        // Slow path: accumulate into scratch.
        int length = 0;
        while (true)
        {
            var window = _buffer.AsSpan(_pos, _len - _pos);
            int idx = window.IndexOf(delimiter);
            int take = idx >= 0 ? idx : window.Length;
            if (length + take > maxLength)
                throw Error($"{what} is longer than {maxLength} bytes", start);
            if (_scratch.Length < length + take)
                Array.Resize(ref _scratch, Math.Min(Math.Max(length + take, Math.Max(256, _scratch.Length * 2)), maxLength + 1));
            window[..take].CopyTo(_scratch.AsSpan(length));
            length += take;
            _pos += take;
            if (idx >= 0)
            {
                _pos++;
                return _scratch.AsSpan(0, length);
            }
            if (!Fill())
            {
                if (endTerminates)
                {
                    hitEnd = true;
                    return _scratch.AsSpan(0, length);
                }
                throw Error($"file ends while reading {what} (no terminating byte 0x{delimiter:X2})", start);
            }
        }
    }

    /// <summary>Reads one line without its '\n' (and without a trailing '\r'); false at the end of the file.</summary>
    public bool TryReadLine(int maxLength, string what, out ReadOnlySpan<byte> line)
    {
        if (AtEnd)
        {
            line = default;
            return false;
        }
        line = ReadUntil((byte)'\n', maxLength, what, endTerminates: true, out _);
        if (!line.IsEmpty && line[^1] == (byte)'\r')
            line = line[..^1];
        return true;
    }
}
