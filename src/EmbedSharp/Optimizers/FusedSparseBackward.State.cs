using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;

namespace EmbedSharp.Optimizers;

/// <remarks>
/// State stream layout, little-endian:
/// <code>
/// magic "EMBSOPT1" (8 bytes) | version int32 = 1 | rule name: length int32 (1..64) + UTF-8 bytes
/// numEmbeddings int32 | dims int32 | stateWidth int32 | pageRows int32 | step int64
/// pageCount int32 | pageCount × (pageIndex int32, strictly ascending | pageRows · stateWidth float32)
/// hasTable byte (0/1) | if 1: dtype int32 | byteLength int64 | the table's raw storage bytes
/// </code>
/// Every size is checked against this optimizer's own shape, never trusted from the stream.
/// A row range (<see cref="ExportState(int, int, Stream)"/>), little-endian:
/// <code>
/// magic "EMBSROWS" (8 bytes) | version int32 = 1 | rule name: length int32 (1..64) + UTF-8 bytes
/// numEmbeddings int32 | dims int32 | stateWidth int32 | pageRows int32 | step int64 | firstRow int32 | rowCount int32
/// for each state page the range overlaps, ascending: held byte (0/1) | if 1: its rows inside the range · stateWidth float32
/// </code>
/// </remarks>
public sealed partial class FusedSparseBackward<TRule>
{
    private const string SaveOp = "optimizer.save";
    private const string LoadOp = "optimizer.load";
    private static ReadOnlySpan<byte> Magic => "EMBSOPT1"u8;
    private const int FormatVersion = 1;

    /// <inheritdoc/>
    public override void Save(Stream stream, bool includeTable = true)
    {
        using StateUse use = Enter(SaveOp);
        Guard.NotNull(SaveOp, stream);
        if (!stream.CanWrite)
            ThrowHelper.Argument(SaveOp, nameof(stream), "the stream is not writable");
        var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        WriteHeader(w, Magic);
        w.Write(_state.AllocatedPages);
        for (int p = 0; p < _state.PageCount; p++)
        {
            if (!_state.IsAllocated(p))
                continue;
            w.Write(p);
            WriteFloats(w, _state.PageRowsOf(p));
        }
        w.Write(includeTable ? (byte)1 : (byte)0);
        if (includeTable)
        {
            w.Write((int)Table.DType);
            w.Write(Table.ByteLength);
            w.Flush();
            WriteTableBytes(stream, Table);
        }
        w.Flush();
    }

    /// <inheritdoc/>
    public override void Load(Stream stream)
    {
        using StateUse use = Enter(LoadOp);
        Guard.NotNull(LoadOp, stream);
        if (!stream.CanRead)
            ThrowHelper.Argument(LoadOp, nameof(stream), "the stream is not readable");
        long step = ReadHeader(stream, Magic, "state", "saved");
        int pageCount = ReadInt32(stream, "page count");
        if (pageCount < 0 || pageCount > _state.PageCount)
            throw Invalid($"page count {pageCount} is out of range (0..{_state.PageCount})");
        var pages = new float[]?[_state.PageCount];
        int previous = -1;
        for (int k = 0; k < pageCount; k++)
        {
            int index = ReadInt32(stream, "page index");
            if (index <= previous || index >= _state.PageCount)
                throw Invalid($"page index {index} at entry {k} is out of order or out of range (after {previous}, below {_state.PageCount})");
            previous = index;
            var page = new float[RowStateStore.PageRows * _state.Width];
            ReadExactly(stream, MemoryMarshal.AsBytes(page.AsSpan()), $"state page {index}");
            if (!BitConverter.IsLittleEndian)
                ReverseFloats(page);
            pages[index] = page;
        }
        int hasTable = stream.ReadByte();
        if (hasTable is not (0 or 1))
            throw Invalid(hasTable < 0 ? "stream ended early while reading the table flag" : $"table flag {hasTable} is not 0 or 1");
        EmbeddingTable? staged = null;
        try
        {
            if (hasTable == 1)
            {
                int dtype = ReadInt32(stream, "table dtype");
                if (dtype != (int)Table.DType)
                    throw Invalid($"the saved table has dtype {(DType)dtype} but this table is {Table.DType}");
                long bytes = ReadInt64(stream, "table byte length");
                if (bytes != Table.ByteLength)
                    throw Invalid($"the saved table has {bytes} bytes but this table has {Table.ByteLength}");
                staged = new EmbeddingTable(Table.NumEmbeddings, Table.Dims, Table.DType);
                ReadTableBytes(stream, staged);
            }
            // Everything has been read and checked: commit.
            _state.Replace(pages);
            Volatile.Write(ref _step, step);
            if (staged is not null)
                Table.CopyFrom(staged);
        }
        finally
        {
            staged?.Dispose();
        }
    }

    private const string ExportOp = "optimizer.export_state";
    private const string ImportOp = "optimizer.import_state";
    private static ReadOnlySpan<byte> RangeMagic => "EMBSROWS"u8;

    /// <inheritdoc/>
    public override void ExportState(int firstRow, int rowCount, Span<float> destination)
    {
        using StateUse use = Enter(ExportOp);
        CheckRange(ExportOp, firstRow, rowCount);
        Guard.MinLength(ExportOp, destination.Length, (long)rowCount * StateWidth, "rowCount · StateWidth floats");
        if (StateWidth > 0)
            _state.CopyRowsTo(firstRow, rowCount, destination, _rule);
    }

    /// <inheritdoc/>
    public override void ImportState(int firstRow, int rowCount, ReadOnlySpan<float> source)
    {
        using StateUse use = Enter(ImportOp);
        CheckRange(ImportOp, firstRow, rowCount);
        Guard.MinLength(ImportOp, source.Length, (long)rowCount * StateWidth, "rowCount · StateWidth floats");
        source = source[..(rowCount * StateWidth)];
        int bad = Numerics.Kernels.FirstNonFinite(source);
        if (bad >= 0)
            ThrowHelper.Argument(ImportOp, nameof(source), $"source[{bad}] = {source[bad]} (row {firstRow + bad / StateWidth}) is not finite; state values must be finite");
        if (StateWidth > 0)
            _state.WriteRows(firstRow, rowCount, source, null, _rule);
    }

    /// <inheritdoc/>
    public override void ExportState(int firstRow, int rowCount, Stream stream)
    {
        using StateUse use = Enter(ExportOp);
        CheckRange(ExportOp, firstRow, rowCount);
        Guard.NotNull(ExportOp, stream);
        if (!stream.CanWrite)
            ThrowHelper.Argument(ExportOp, nameof(stream), "the stream is not writable");
        var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        WriteHeader(w, RangeMagic);
        w.Write(firstRow);
        w.Write(rowCount);
        foreach ((int page, int first, int count) in RangePages(firstRow, rowCount))
        {
            bool held = _state.IsAllocated(page);
            w.Write(held ? (byte)1 : (byte)0);
            if (held)
                WriteFloats(w, _state.PageRowsOf(page).Slice((first & (RowStateStore.PageRows - 1)) * _state.Width, count * _state.Width));
        }
        w.Flush();
    }

    /// <inheritdoc/>
    public override void ImportState(Stream stream)
    {
        using StateUse use = Enter(ImportOp);
        Guard.NotNull(ImportOp, stream);
        if (!stream.CanRead)
            ThrowHelper.Argument(ImportOp, nameof(stream), "the stream is not readable");
        long step = ReadHeader(stream, RangeMagic, "row-range", "exported");
        int firstRow = ReadInt32(stream, "first row"), rowCount = ReadInt32(stream, "row count");
        if (firstRow < 0 || rowCount < 0 || (long)firstRow + rowCount > Table.NumEmbeddings)
            throw Invalid($"rows [{firstRow}, {(long)firstRow + rowCount}) are not inside the table (0..{Table.NumEmbeddings})");
        var values = new float[(long)rowCount * _state.Width];
        var held = new bool[rowCount];
        foreach ((int page, int first, int count) in RangePages(firstRow, rowCount))
        {
            int flag = stream.ReadByte();
            if (flag is not (0 or 1))
                throw Invalid(flag < 0 ? $"stream ended early while reading the flag of state page {page}" : $"state page {page}'s flag {flag} is not 0 or 1");
            if (flag == 0)
                continue;
            Span<float> rows = values.AsSpan((first - firstRow) * _state.Width, count * _state.Width);
            ReadExactly(stream, MemoryMarshal.AsBytes(rows), $"state page {page}");
            if (!BitConverter.IsLittleEndian)
                ReverseFloats(rows);
            held.AsSpan(first - firstRow, count).Fill(true);
        }
        // Everything has been read and checked: commit.
        if (_state.Width > 0)
            _state.WriteRows(firstRow, rowCount, values, r => held[r - firstRow], _rule);
        Volatile.Write(ref _step, step);
    }

    /// <summary>The state pages rows <c>[firstRow, firstRow + rowCount)</c> overlap: the page and its rows inside the range.</summary>
    private IEnumerable<(int Page, int First, int Count)> RangePages(int firstRow, int rowCount)
    {
        if (_state.Width == 0)
            yield break;
        for (int r = firstRow; r < firstRow + rowCount;)
        {
            int page = r >> RowStateStore.PageShift;
            int end = Math.Min(firstRow + rowCount, (page + 1) << RowStateStore.PageShift);
            yield return (page, r, end - r);
            r = end;
        }
    }

    private void CheckRange(string op, int firstRow, int rowCount)
    {
        if ((uint)firstRow > (uint)Table.NumEmbeddings)
            ThrowHelper.ArgumentOutOfRange(op, nameof(firstRow), firstRow, $"firstRow {firstRow} is out of range; valid values are 0..{Table.NumEmbeddings}");
        if (rowCount < 0 || rowCount > Table.NumEmbeddings - firstRow)
            ThrowHelper.ArgumentOutOfRange(op, nameof(rowCount), rowCount, $"rowCount {rowCount} is out of range; valid values are 0..{Table.NumEmbeddings - firstRow} from row {firstRow}");
    }

    /// <summary>The part both stream layouts share: magic, version, rule name, shape, page rows and t.</summary>
    private void WriteHeader(BinaryWriter w, ReadOnlySpan<byte> magic)
    {
        w.Write(magic);
        w.Write(FormatVersion);
        byte[] name = Encoding.UTF8.GetBytes(_rule.Name);
        w.Write(name.Length);
        w.Write(name);
        w.Write(Table.NumEmbeddings);
        w.Write(Table.Dims);
        w.Write(_state.Width);
        w.Write(RowStateStore.PageRows);
        w.Write(StepCount);
    }

    /// <summary>Reads and checks what <see cref="WriteHeader"/> wrote against this optimizer; returns t.</summary>
    private long ReadHeader(Stream stream, ReadOnlySpan<byte> expectedMagic, string what, string verb)
    {
        Span<byte> magic = stackalloc byte[8];
        ReadExactly(stream, magic, "magic");
        if (!magic.SequenceEqual(expectedMagic))
            throw Invalid($"not an EmbedSharp optimizer {what} stream (bad magic)");
        int version = ReadInt32(stream, "version");
        if (version != FormatVersion)
            throw Invalid($"format version {version} is not supported (supported: {FormatVersion})");
        int nameLength = ReadInt32(stream, "rule name length");
        if (nameLength < 1 || nameLength > 64)
            throw Invalid($"rule name length {nameLength} is out of range (1..64)");
        var nameBytes = new byte[nameLength];
        ReadExactly(stream, nameBytes, "rule name");
        string name = Encoding.UTF8.GetString(nameBytes);
        if (name != _rule.Name)
            throw Invalid($"the state was {verb} by rule '{name}' but this optimizer runs '{_rule.Name}'");
        Expect(ReadInt32(stream, "numEmbeddings"), Table.NumEmbeddings, "numEmbeddings");
        Expect(ReadInt32(stream, "dims"), Table.Dims, "dims");
        Expect(ReadInt32(stream, "stateWidth"), _state.Width, "stateWidth");
        Expect(ReadInt32(stream, "pageRows"), RowStateStore.PageRows, "pageRows");
        long step = ReadInt64(stream, "step");
        if (step < 0)
            throw Invalid($"step {step} is negative");
        return step;
    }

    private static unsafe void WriteTableBytes(Stream stream, EmbeddingTable table)
    {
        const int chunk = 1 << 20;
        byte* p = table.Pointer;
        for (long done = 0; done < table.ByteLength; done += chunk)
            stream.Write(new ReadOnlySpan<byte>(p + done, (int)Math.Min(chunk, table.ByteLength - done)));
    }

    private static unsafe void ReadTableBytes(Stream stream, EmbeddingTable table)
    {
        const int chunk = 1 << 20;
        byte* p = table.Pointer;
        for (long done = 0; done < table.ByteLength; done += chunk)
            ReadExactly(stream, new Span<byte>(p + done, (int)Math.Min(chunk, table.ByteLength - done)), "table storage");
    }

    private static void WriteFloats(BinaryWriter w, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            w.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        foreach (float v in values)
            w.Write(v);
    }

    private static void ReverseFloats(Span<float> values)
    {
        Span<int> bits = MemoryMarshal.Cast<float, int>(values);
        BinaryPrimitives.ReverseEndianness(bits, bits);
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string what)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException(ThrowHelper.Format(LoadOp, $"stream ended early while reading the {what}"), ex);
        }
    }

    private static int ReadInt32(Stream stream, string what)
    {
        Span<byte> b = stackalloc byte[4];
        ReadExactly(stream, b, what);
        return BinaryPrimitives.ReadInt32LittleEndian(b);
    }

    private static long ReadInt64(Stream stream, string what)
    {
        Span<byte> b = stackalloc byte[8];
        ReadExactly(stream, b, what);
        return BinaryPrimitives.ReadInt64LittleEndian(b);
    }

    private static void Expect(int actual, int expected, string what)
    {
        if (actual != expected)
            throw Invalid($"{what} is {actual} in the stream but {expected} in this optimizer");
    }

    private static InvalidDataException Invalid(string text) => new(ThrowHelper.Format(LoadOp, text));
}
