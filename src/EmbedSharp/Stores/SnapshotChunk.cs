using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

/// <summary>The header of one snapshot chunk: which table, its shape, which buckets, how many records, their checksum.</summary>
/// <param name="Table">The table's name.</param>
/// <param name="Dims">Floats per row.</param>
/// <param name="DType">Storage type of the rows (records hold float32 either way).</param>
/// <param name="Optimizer">The rule whose state the records carry.</param>
/// <param name="StateWidth">Floats of optimizer state per record.</param>
/// <param name="Step">The store's step count t when the snapshot was taken.</param>
/// <param name="Buckets">The buckets every record's id falls in.</param>
/// <param name="RowCount">The number of records.</param>
/// <param name="Checksum">The checksum of the record bytes (<see cref="SnapshotChunk.Checksum"/>).</param>
public sealed record SnapshotChunkHeader(string Table, int Dims, DType DType, OptimizerKind Optimizer, int StateWidth, long Step,
    BucketRange Buckets, long RowCount, ulong Checksum);

/// <summary>The records of one chunk: ids ascending, their rows and their optimizer state.</summary>
/// <param name="Ids">Record ids, strictly ascending.</param>
/// <param name="Rows">Ids.Length × Dims floats.</param>
/// <param name="States">Ids.Length × StateWidth floats.</param>
public sealed record SnapshotRecords(long[] Ids, float[] Rows, float[] States);

/// <summary>
/// One snapshot chunk file: the rows of a bucket range, written by <see cref="Write"/> and read back,
/// checked, by <see cref="Read"/>.
/// </summary>
/// <remarks>
/// Layout, little-endian:
/// <code>
/// magic "ESSNAP01" (8 bytes) | version int32 = 1
/// table name: length int32 (1..256) + UTF-8 bytes
/// dims int32 (1..1,048,576) | dtype int32 | optimizer kind int32 | stateWidth int32 (0..4·dims) | step int64
/// bucket first int32 | bucket end int32 (0 ≤ first &lt; end ≤ 4096) | rowCount int64 | checksum uint64
/// rowCount × record: id int64 | dims × float32 row | stateWidth × float32 state
/// </code>
/// Ids are strictly ascending and each lies in the chunk's buckets. The checksum is FNV-1a 64 over the
/// record bytes taken as 32-bit little-endian words: <c>h = 0xCBF29CE484222325; h = (h ^ w) · 0x100000001B3</c>
/// per word. Reading never allocates from a count in the file: records are read in blocks as they arrive,
/// so a hostile row count runs into the end of the stream, not into memory.
/// </remarks>
public static class SnapshotChunk
{
    private const string WriteOp = "snapshot.write";
    private const string ReadOp = "snapshot.read";
    private static ReadOnlySpan<byte> Magic => "ESSNAP01"u8;
    private const int Version = 1;
    private const int MaxDims = 1 << 20;
    private const ulong FnvOffset = 0xCBF29CE484222325UL, FnvPrime = 0x100000001B3UL;

    /// <summary>The file name of the chunk for <paramref name="buckets"/>: <c>buckets-FFFF-LLLL.esnap</c> with the first and last bucket.</summary>
    public static string NameFor(BucketRange buckets) => $"buckets-{buckets.First:D4}-{buckets.End - 1:D4}.esnap";

    /// <summary>Continues an FNV-1a 64 checksum over <paramref name="bytes"/> (a multiple of 4 bytes).</summary>
    public static ulong Checksum(ulong hash, ReadOnlySpan<byte> bytes)
    {
        ReadOnlySpan<uint> words = MemoryMarshal.Cast<byte, uint>(bytes);
        foreach (uint w in words)
            hash = (hash ^ (BitConverter.IsLittleEndian ? w : BinaryPrimitives.ReverseEndianness(w))) * FnvPrime;
        return hash;
    }

    /// <summary>
    /// Writes a chunk: the header, then one record per id. <paramref name="ids"/> must be strictly ascending and
    /// inside <paramref name="buckets"/>; rows are float32.
    /// </summary>
    /// <returns>The header written (with its row count and checksum).</returns>
    /// <exception cref="ArgumentException">Ids out of order or outside the buckets, or buffers of the wrong length.</exception>
    public static SnapshotChunkHeader Write(Stream stream, string table, int dims, OptimizerKind optimizer, int stateWidth, long step,
        BucketRange buckets, ReadOnlySpan<long> ids, ReadOnlySpan<float> rows, ReadOnlySpan<float> states)
    {
        Guard.NotNull(WriteOp, stream);
        Guard.NotNull(WriteOp, table);
        Guard.InRange(WriteOp, dims, 1, MaxDims + 1);
        Guard.InRange(WriteOp, stateWidth, 0, 4L * dims + 1);
        Guard.Length(WriteOp, rows.Length, (long)ids.Length * dims, $"ids.Length × dims = {ids.Length} × {dims}");
        Guard.Length(WriteOp, states.Length, (long)ids.Length * stateWidth, $"ids.Length × stateWidth = {ids.Length} × {stateWidth}");
        for (int i = 0; i < ids.Length; i++)
        {
            if (i > 0 && ids[i] <= ids[i - 1])
                ThrowHelper.Argument(WriteOp, nameof(ids), $"ids[{i}] = {ids[i]} is not above ids[{i - 1}] = {ids[i - 1]}; chunk ids must be strictly ascending");
            if (!buckets.Contains(BucketRouter.BucketOf(ids[i])))
                ThrowHelper.Argument(WriteOp, nameof(ids), $"ids[{i}] = {ids[i]} is in bucket {BucketRouter.BucketOf(ids[i])}, outside the chunk's buckets {buckets}");
        }
        int recordFloats = dims + stateWidth;
        var record = new byte[8 + recordFloats * 4];
        ulong hash = FnvOffset;
        for (int pass = 0; pass < 2; pass++)
        {
            if (pass == 1)
            {
                var header = new SnapshotChunkHeader(table, dims, DType.Float32, optimizer, stateWidth, step, buckets, ids.Length, hash);
                WriteHeader(stream, header);
            }
            for (int i = 0; i < ids.Length; i++)
            {
                BinaryPrimitives.WriteInt64LittleEndian(record, ids[i]);
                WriteFloats(rows.Slice(i * dims, dims), record.AsSpan(8));
                WriteFloats(states.Slice(i * stateWidth, stateWidth), record.AsSpan(8 + dims * 4));
                if (pass == 0)
                    hash = Checksum(hash, record);
                else
                    stream.Write(record);
            }
        }
        return new SnapshotChunkHeader(table, dims, DType.Float32, optimizer, stateWidth, step, buckets, ids.Length, hash);
    }

    /// <summary>Reads and checks a chunk's header only; <paramref name="name"/> names the file in messages.</summary>
    /// <exception cref="InvalidDataException">Bad magic, unsupported version, a field out of range, or the stream ends early.</exception>
    public static SnapshotChunkHeader ReadHeader(Stream stream, string name)
    {
        Guard.NotNull(ReadOp, stream);
        long at = 0;
        Span<byte> magic = stackalloc byte[8];
        ReadExactly(stream, magic, name, ref at, "magic");
        if (!magic.SequenceEqual(Magic))
            throw Invalid(name, 0, "not an EmbedSharp snapshot chunk (bad magic; expected \"ESSNAP01\")");
        int version = ReadInt32(stream, name, ref at, "version");
        if (version != Version)
            throw Invalid(name, at - 4, $"chunk format version {version} is not supported (supported: {Version})");
        int nameLength = ReadInt32(stream, name, ref at, "table name length");
        if (nameLength is < 1 or > 256)
            throw Invalid(name, at - 4, $"table name length {nameLength} is out of range (1..256)");
        var nameBytes = new byte[nameLength];
        ReadExactly(stream, nameBytes, name, ref at, "table name");
        string table = Encoding.UTF8.GetString(nameBytes);
        int dims = ReadInt32(stream, name, ref at, "dims");
        if (dims is < 1 or > MaxDims)
            throw Invalid(name, at - 4, $"dims {dims} is out of range (1..{MaxDims})");
        int dtype = ReadInt32(stream, name, ref at, "dtype");
        if (dtype != (int)DType.Float32)
            throw Invalid(name, at - 4, $"dtype {dtype} is not supported; chunk records are Float32 ({(int)DType.Float32})");
        int kind = ReadInt32(stream, name, ref at, "optimizer kind");
        if (!Enum.IsDefined((OptimizerKind)kind))
            throw Invalid(name, at - 4, $"optimizer kind {kind} is unknown (0..{(int)OptimizerKind.LazyAdam})");
        int stateWidth = ReadInt32(stream, name, ref at, "state width");
        if (stateWidth < 0 || stateWidth > 4L * dims || (kind == 0 && stateWidth != 0))
            throw Invalid(name, at - 4, $"state width {stateWidth} is out of range (0..{4L * dims}, and 0 without an optimizer)");
        long step = ReadInt64(stream, name, ref at, "step");
        if (step < 0)
            throw Invalid(name, at - 8, $"step {step} is negative");
        int first = ReadInt32(stream, name, ref at, "first bucket"), end = ReadInt32(stream, name, ref at, "bucket end");
        if (first < 0 || end <= first || end > BucketRouter.BucketCount)
            throw Invalid(name, at - 8, $"bucket range [{first}, {end}) is not valid (0 <= first < end <= {BucketRouter.BucketCount})");
        long rowCount = ReadInt64(stream, name, ref at, "row count");
        if (rowCount < 0)
            throw Invalid(name, at - 8, $"row count {rowCount} is negative");
        ulong checksum = (ulong)ReadInt64(stream, name, ref at, "checksum");
        return new SnapshotChunkHeader(table, dims, (DType)dtype, (OptimizerKind)kind, stateWidth, step, new BucketRange(first, end), rowCount, checksum);
    }

    /// <summary>
    /// Reads a whole chunk and checks it: the header, every record (ids strictly ascending, inside the buckets,
    /// and below <paramref name="numEmbeddings"/> when given; rows and state finite), the checksum, and that
    /// nothing follows the last record.
    /// </summary>
    /// <exception cref="InvalidDataException">Anything malformed or truncated, or dims or state width other than
    /// <paramref name="dims"/> and <paramref name="stateWidth"/> when given; the message names the file and byte offset.</exception>
    public static (SnapshotChunkHeader Header, SnapshotRecords Records) Read(Stream stream, string name, long? numEmbeddings = null, int? dims = null, int? stateWidth = null)
    {
        SnapshotChunkHeader header = ReadHeader(stream, name);
        long at = HeaderLength(header);
        if (dims is int d && d != header.Dims)
            throw Invalid(name, 0, $"the chunk holds rows of {header.Dims} dims but the table has {d}");
        if (stateWidth is int sw && sw != header.StateWidth)
            throw Invalid(name, 0, $"the chunk holds {header.StateWidth} floats of optimizer state a row but the store keeps {sw}");
        return (header, ReadRecords(stream, name, header, at, numEmbeddings));
    }

    private static SnapshotRecords ReadRecords(Stream stream, string name, SnapshotChunkHeader header, long at, long? numEmbeddings)
    {
        int dims = header.Dims, width = header.StateWidth;
        int recordBytes = 8 + (dims + width) * 4;
        // Blocks of at most 1 MiB (one record when a record is larger): memory grows only with bytes actually read.
        int blockRecords = Math.Max(1, (1 << 20) / recordBytes);
        var ids = new List<long>();
        var rowBlocks = new List<float[]>();
        var stateBlocks = new List<float[]>();
        var block = new byte[recordBytes * (int)Math.Min(blockRecords, Math.Max(1, header.RowCount))];
        ulong hash = FnvOffset;
        long previous = long.MinValue;
        for (long done = 0; done < header.RowCount;)
        {
            int n = (int)Math.Min(blockRecords, header.RowCount - done);
            Span<byte> bytes = block.AsSpan(0, n * recordBytes);
            ReadExactly(stream, bytes, name, ref at, $"record {done} of {header.RowCount}");
            hash = Checksum(hash, bytes);
            var rows = new float[n * dims];
            var states = new float[n * width];
            for (int r = 0; r < n; r++)
            {
                ReadOnlySpan<byte> rec = bytes.Slice(r * recordBytes, recordBytes);
                long id = BinaryPrimitives.ReadInt64LittleEndian(rec);
                long offset = at - bytes.Length + (long)r * recordBytes;
                if (done + r > 0 && id <= previous)
                    throw Invalid(name, offset, $"record {done + r} has id {id}, not above the previous id {previous}; ids must be strictly ascending");
                if (!header.Buckets.Contains(BucketRouter.BucketOf(id)))
                    throw Invalid(name, offset, $"record {done + r} has id {id} in bucket {BucketRouter.BucketOf(id)}, outside the chunk's buckets {header.Buckets}");
                if (numEmbeddings is long count && (id < 0 || id >= count))
                    throw Invalid(name, offset, $"record {done + r} has id {id}, outside the table's ids 0..{count - 1}");
                previous = id;
                ids.Add(id);
                ReadFloats(rec.Slice(8, dims * 4), rows.AsSpan(r * dims, dims));
                ReadFloats(rec.Slice(8 + dims * 4, width * 4), states.AsSpan(r * width, width));
                int bad = Numerics.Kernels.FirstNonFinite(rows.AsSpan(r * dims, dims));
                if (bad >= 0)
                    throw Invalid(name, offset + 8 + bad * 4L, $"record {done + r} (id {id}) has row value {rows[r * dims + bad]} at element {bad}; rows must be finite");
                bad = Numerics.Kernels.FirstNonFinite(states.AsSpan(r * width, width));
                if (bad >= 0)
                    throw Invalid(name, offset + 8 + (dims + bad) * 4L, $"record {done + r} (id {id}) has optimizer state {states[r * width + bad]} at element {bad}; state must be finite");
            }
            rowBlocks.Add(rows);
            stateBlocks.Add(states);
            done += n;
        }
        if (hash != header.Checksum)
            throw Invalid(name, at, $"the records' checksum is {hash:X16} but the header says {header.Checksum:X16}; the file is corrupt");
        if (stream.ReadByte() >= 0)
            throw Invalid(name, at, $"bytes follow the last of the {header.RowCount} records; the file is corrupt or not a chunk");
        return new SnapshotRecords([.. ids], Concat(rowBlocks), Concat(stateBlocks));
    }

    private static float[] Concat(List<float[]> blocks)
    {
        var all = new float[blocks.Sum(b => (long)b.Length)];
        long at = 0;
        foreach (float[] b in blocks)
        {
            b.CopyTo(all, at);
            at += b.Length;
        }
        return all;
    }

    private static long HeaderLength(SnapshotChunkHeader h) => 8 + 4 + 4 + Encoding.UTF8.GetByteCount(h.Table) + 4 * 4 + 8 + 4 + 4 + 8 + 8;

    private static void WriteHeader(Stream stream, SnapshotChunkHeader h)
    {
        byte[] name = Encoding.UTF8.GetBytes(h.Table);
        if (name.Length is < 1 or > 256)
            ThrowHelper.Argument(WriteOp, "table", $"table name '{h.Table}' is {name.Length} UTF-8 bytes; valid names are 1..256 bytes");
        var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write(name.Length);
        w.Write(name);
        w.Write(h.Dims);
        w.Write((int)h.DType);
        w.Write((int)h.Optimizer);
        w.Write(h.StateWidth);
        w.Write(h.Step);
        w.Write(h.Buckets.First);
        w.Write(h.Buckets.End);
        w.Write(h.RowCount);
        w.Write(h.Checksum);
        w.Flush();
    }

    private static void WriteFloats(ReadOnlySpan<float> values, Span<byte> destination)
    {
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(destination.Slice(i * 4, 4), values[i]);
    }

    private static void ReadFloats(ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
            return;
        }
        for (int i = 0; i < destination.Length; i++)
            destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * 4, 4));
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string name, ref long at, string what)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0)
                throw Invalid(name, at + total, $"the file ends early while reading the {what} ({buffer.Length - total} more bytes expected)");
            total += n;
        }
        at += buffer.Length;
    }

    private static int ReadInt32(Stream stream, string name, ref long at, string what)
    {
        Span<byte> b = stackalloc byte[4];
        ReadExactly(stream, b, name, ref at, what);
        return BinaryPrimitives.ReadInt32LittleEndian(b);
    }

    private static long ReadInt64(Stream stream, string name, ref long at, string what)
    {
        Span<byte> b = stackalloc byte[8];
        ReadExactly(stream, b, name, ref at, what);
        return BinaryPrimitives.ReadInt64LittleEndian(b);
    }

    private static InvalidDataException Invalid(string name, long offset, string text) =>
        new(ThrowHelper.Format(ReadOp, $"{name} at byte {offset}: {text}"));
}
