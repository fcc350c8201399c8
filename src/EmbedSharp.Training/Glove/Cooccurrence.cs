using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EmbedSharp.Training.Glove;

/// <summary>One co-occurrence record: word <see cref="I"/>, context word <see cref="J"/>, weighted count <see cref="X"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct CooccurrenceRecord(int I, int J, float X)
{
    internal long Key => ((long)I << 32) | (uint)J;

    /// <summary>Bytes per record in a shard (int32 i, int32 j, float32 x, little-endian).</summary>
    public const int Size = 12;
}

/// <summary>Reads and writes sorted shards of records (12-byte little-endian records, no header).</summary>
internal static class ShardIO
{
    public static void Write(Stream s, ReadOnlySpan<CooccurrenceRecord> records)
    {
        var buffer = new byte[CooccurrenceRecord.Size * 4096];
        int at = 0;
        foreach (var r in records)
        {
            var span = buffer.AsSpan(at, CooccurrenceRecord.Size);
            BinaryPrimitives.WriteInt32LittleEndian(span, r.I);
            BinaryPrimitives.WriteInt32LittleEndian(span[4..], r.J);
            BinaryPrimitives.WriteSingleLittleEndian(span[8..], r.X);
            at += CooccurrenceRecord.Size;
            if (at == buffer.Length)
            {
                s.Write(buffer, 0, at);
                at = 0;
            }
        }
        s.Write(buffer, 0, at);
    }

    /// <summary>Sequential reader over one shard; validates every record against the vocabulary size.</summary>
    public sealed class Reader : IDisposable
    {
        private readonly Stream _s;
        private readonly int _vocab;
        private readonly byte[] _buffer = new byte[CooccurrenceRecord.Size * 4096];
        private int _at, _len;

        public Reader(Stream s, int vocab)
        {
            _s = s;
            _vocab = vocab;
        }

        public bool TryRead(out CooccurrenceRecord record)
        {
            if (_at == _len)
            {
                _len = 0;
                _at = 0;
                int n;
                while (_len < _buffer.Length && (n = _s.Read(_buffer, _len, _buffer.Length - _len)) > 0)
                    _len += n;
                if (_len == 0)
                {
                    record = default;
                    return false;
                }
                if (_len % CooccurrenceRecord.Size != 0)
                    throw new InvalidDataException(Diagnostics.ThrowHelper.Format("glove.merge", $"a shard ends inside a record ({_len % CooccurrenceRecord.Size} stray bytes); the shard stream was truncated or changed"));
            }
            var span = _buffer.AsSpan(_at, CooccurrenceRecord.Size);
            _at += CooccurrenceRecord.Size;
            int i = BinaryPrimitives.ReadInt32LittleEndian(span), j = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
            float x = BinaryPrimitives.ReadSingleLittleEndian(span[8..]);
            if ((uint)i >= (uint)_vocab || (uint)j >= (uint)_vocab || !(x > 0) || float.IsInfinity(x))
                throw new InvalidDataException(Diagnostics.ThrowHelper.Format("glove.merge", $"a shard holds the record ({i}, {j}, {x}); ids must be in 0..{_vocab - 1} and counts finite and > 0"));
            record = new CooccurrenceRecord(i, j, x);
            return true;
        }

        public void Dispose() => _s.Dispose();
    }
}
