using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Tables;

/// <summary>
/// A dense <c>NumEmbeddings × Dims</c> table of rows stored contiguously, row-major, in 64-byte
/// aligned native memory (no GC moves, no 2 GiB array limit); tables of 2 MiB or more are 2 MiB
/// aligned and advised to use huge pages on Linux. Storage is float32, float16 or
/// bfloat16; reads widen to float32 and writes round to nearest, ties to even.
/// </summary>
/// <remarks>
/// Row <c>r</c> starts at byte <c>r · Dims · ElementSize</c>. A new table is all zeros.
/// Reads from several threads are safe; writes to the same row from several threads are not
/// synchronised (Hogwild training relies on that being cheap, not on it being exact).
/// Dispose the table to free its memory; a finalizer frees it too if you forget.
/// </remarks>
// Size: one type in four files (~520 lines) by concern — storage and row access (this file), gathers, the
// row sources, and 64-bit row addresses. They share the native block, which is why they are one type.
public sealed unsafe partial class EmbeddingTable : IDisposable
{
    /// <summary>Alignment of the storage, in bytes (one cache line, and a full AVX-512 vector).</summary>
    public const int Alignment = 64;

    private byte* _data;
    private readonly nuint _byteLength;
    private readonly nuint _reserved;
    private readonly IDisposable? _owner;

    /// <summary>Allocates a zeroed table.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or the table would not fit in memory.</exception>
    public EmbeddingTable(int numEmbeddings, int dims, DType dtype = DType.Float32)
    {
        const string op = "table.create";
        Guard.NonNegative(op, numEmbeddings);
        Guard.NonNegative(op, dims);
        if (!Enum.IsDefined(dtype))
            ThrowHelper.ArgumentOutOfRange(op, nameof(dtype), dtype, $"dtype {dtype} is unknown; valid values are Float32, Float16, BFloat16");
        NumEmbeddings = numEmbeddings;
        Dims = dims;
        DType = dtype;
        ElementSize = dtype.SizeInBytes();
        ulong bytes = (ulong)numEmbeddings * (ulong)dims * (ulong)ElementSize;
        if (bytes > (ulong)long.MaxValue / 2)
            ThrowHelper.ArgumentOutOfRange(op, nameof(numEmbeddings), numEmbeddings, $"{numEmbeddings} × {dims} elements do not fit in memory");
        _byteLength = (nuint)bytes;
        _data = NativeAllocation.AllocateZeroed(_byteLength, out _reserved);
        GC.AddMemoryPressure((long)_reserved);
    }

    private EmbeddingTable(byte* data, nuint byteLength, int numEmbeddings, int dims, DType dtype, IDisposable owner)
    {
        _data = data;
        _byteLength = byteLength;
        NumEmbeddings = numEmbeddings;
        Dims = dims;
        DType = dtype;
        ElementSize = dtype.SizeInBytes();
        _owner = owner;
    }

    /// <summary>
    /// A table over memory it does not allocate (a memory-mapped file view, a pinned buffer):
    /// rows are read and written in place, and <see cref="Dispose"/> disposes
    /// <paramref name="owner"/> instead of freeing anything.
    /// </summary>
    /// <remarks>
    /// The memory must stay valid until <paramref name="owner"/> is disposed; the table does not
    /// copy it. It need not be 64-byte aligned (<see cref="Alignment"/> only holds for allocated
    /// tables). If the table is never disposed, the finalizer leaves <paramref name="owner"/> to its
    /// own finalization. Writing to read-only memory (a read-only mapping) faults the process.
    /// </remarks>
    /// <param name="pointer">Address of row 0.</param>
    /// <param name="byteLength">Bytes available at <paramref name="pointer"/>; at least <c>numEmbeddings · dims · elementSize</c>.</param>
    /// <param name="numEmbeddings">Rows.</param>
    /// <param name="dims">Row length.</param>
    /// <param name="dtype">Storage type of the memory.</param>
    /// <param name="owner">Released when the table is disposed.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or the memory is too small.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="owner"/> is null, or <paramref name="pointer"/> is zero for a non-empty table.</exception>
    public static EmbeddingTable FromExternalMemory(nint pointer, long byteLength, int numEmbeddings, int dims, DType dtype, IDisposable owner)
    {
        const string op = "table.external";
        Guard.NotNull(op, owner);
        Guard.NonNegative(op, numEmbeddings);
        Guard.NonNegative(op, dims);
        if (!Enum.IsDefined(dtype))
            ThrowHelper.ArgumentOutOfRange(op, nameof(dtype), dtype, $"dtype {dtype} is unknown; valid values are Float32, Float16, BFloat16");
        long needed = (long)numEmbeddings * dims * dtype.SizeInBytes();
        if (byteLength < needed)
            ThrowHelper.ArgumentOutOfRange(op, nameof(byteLength), byteLength, $"{byteLength} bytes cannot hold {numEmbeddings} × {dims} {dtype} elements ({needed} bytes)");
        if (pointer == 0 && needed > 0)
            throw new ArgumentNullException(nameof(pointer), ThrowHelper.Format(op, "pointer is null for a non-empty table"));
        return new EmbeddingTable((byte*)pointer, (nuint)needed, numEmbeddings, dims, dtype, owner);
    }

    /// <summary>Number of rows (the vocabulary size).</summary>
    public int NumEmbeddings { get; }

    /// <summary>Length of each row.</summary>
    public int Dims { get; }

    /// <summary>Storage element type.</summary>
    public DType DType { get; }

    /// <summary>Bytes per stored element (4 or 2).</summary>
    public int ElementSize { get; }

    /// <summary>Total bytes of storage, <c>NumEmbeddings · Dims · ElementSize</c>.</summary>
    public long ByteLength => (long)_byteLength;

    /// <summary>Total element count, <c>NumEmbeddings · Dims</c>.</summary>
    public long ElementCount => (long)NumEmbeddings * Dims;

    /// <summary>True once <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => _data == null;

    internal byte* Pointer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (_data == null)
                ThrowHelper.Disposed("table", "EmbeddingTable");
            return _data;
        }
    }

    /// <summary>
    /// The stored row <paramref name="row"/> as a span of the storage type: <see cref="float"/>,
    /// <see cref="Half"/> or <see cref="BFloat16"/>, matching <see cref="DType"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is not in [0, NumEmbeddings).</exception>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> does not match <see cref="DType"/>.</exception>
    public Span<T> GetRow<T>(int row) where T : unmanaged
    {
        CheckElementType<T>("table.row");
        if ((uint)row >= (uint)NumEmbeddings)
            ThrowHelper.IndexOutOfRange("table.row", nameof(row), row, 0, NumEmbeddings);
        return new Span<T>(Pointer + (nint)row * Dims * ElementSize, Dims);
    }

    /// <summary>Row <paramref name="row"/> without checks, for kernels that validated their indices.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Span<T> RowUnchecked<T>(int row) where T : unmanaged =>
        new(Pointer + (nint)row * Dims * sizeof(T), Dims);

    /// <summary>The whole storage as one span; only for tables of at most <see cref="int.MaxValue"/> elements.</summary>
    /// <exception cref="InvalidOperationException">The table is larger than a span can address.</exception>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        CheckElementType<T>("table.span");
        if (ElementCount > int.MaxValue)
            ThrowHelper.InvalidOperation("table.span", $"the table has {ElementCount} elements, more than one span can hold ({int.MaxValue}); use GetRow instead");
        return new Span<T>(Pointer, (int)ElementCount);
    }

    /// <summary>The raw storage bytes; only for tables of at most <see cref="int.MaxValue"/> bytes.</summary>
    public Span<byte> AsBytes()
    {
        if (ByteLength > int.MaxValue)
            ThrowHelper.InvalidOperation("table.bytes", $"the table has {ByteLength} bytes, more than one span can hold ({int.MaxValue})");
        return new Span<byte>(Pointer, (int)ByteLength);
    }

    /// <summary>Reads row <paramref name="row"/> widened to float32 into <paramref name="destination"/>.</summary>
    public void ReadRow(int row, Span<float> destination)
    {
        const string op = "table.read";
        if ((uint)row >= (uint)NumEmbeddings)
            ThrowHelper.IndexOutOfRange(op, nameof(row), row, 0, NumEmbeddings);
        Guard.MinLength(op, destination.Length, Dims, "one row");
        ReadRowUnchecked(row, destination);
    }

    /// <summary>Writes <paramref name="source"/> into row <paramref name="row"/>, rounding to the storage type.</summary>
    public void WriteRow(int row, ReadOnlySpan<float> source)
    {
        const string op = "table.write";
        if ((uint)row >= (uint)NumEmbeddings)
            ThrowHelper.IndexOutOfRange(op, nameof(row), row, 0, NumEmbeddings);
        Guard.Length(op, source.Length, Dims, "one row");
        WriteRowUnchecked(row, source);
    }

    internal void ReadRowUnchecked(int row, Span<float> destination)
    {
        switch (DType)
        {
            case DType.Float32: Kernels.WidenRow<float>(RowUnchecked<float>(row), destination); break;
            case DType.Float16: Kernels.WidenRow<Half>(RowUnchecked<Half>(row), destination); break;
            default: Kernels.WidenRow<BFloat16>(RowUnchecked<BFloat16>(row), destination); break;
        }
    }

    internal void WriteRowUnchecked(int row, ReadOnlySpan<float> source)
    {
        switch (DType)
        {
            case DType.Float32: Kernels.NarrowRow(source, RowUnchecked<float>(row)); break;
            case DType.Float16: Kernels.NarrowRow(source, RowUnchecked<Half>(row)); break;
            default: Kernels.NarrowRow(source, RowUnchecked<BFloat16>(row)); break;
        }
    }

    /// <summary>Copies a row-major <c>NumEmbeddings × Dims</c> float32 matrix in, rounding to the storage type.</summary>
    public void CopyFrom(ReadOnlySpan<float> source)
    {
        Guard.Length("table.copy_from", source.Length, ElementCount, $"NumEmbeddings × Dims = {NumEmbeddings} × {Dims}");
        for (int r = 0; r < NumEmbeddings; r++)
            WriteRowUnchecked(r, source.Slice(r * Dims, Dims));
    }

    /// <summary>Copies the whole table out as a row-major float32 matrix.</summary>
    public void CopyTo(Span<float> destination)
    {
        Guard.MinLength("table.copy_to", destination.Length, ElementCount, $"NumEmbeddings × Dims = {NumEmbeddings} × {Dims}");
        for (int r = 0; r < NumEmbeddings; r++)
            ReadRowUnchecked(r, destination.Slice(r * Dims, Dims));
    }

    /// <summary>The whole table as a new row-major float32 array.</summary>
    public float[] ToArray()
    {
        if (ElementCount > Array.MaxLength)
            ThrowHelper.InvalidOperation("table.to_array", $"the table has {ElementCount} elements, more than an array can hold");
        var result = new float[ElementCount];
        CopyTo(result);
        return result;
    }

    /// <summary>Copies storage from a table of the same shape and dtype, byte for byte.</summary>
    public void CopyFrom(EmbeddingTable other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.NumEmbeddings != NumEmbeddings || other.Dims != Dims || other.DType != DType)
            ThrowHelper.Argument("table.copy_from", nameof(other), $"shape/dtype {other.NumEmbeddings}×{other.Dims} {other.DType} differs from {NumEmbeddings}×{Dims} {DType}");
        Buffer.MemoryCopy(other.Pointer, Pointer, (long)_byteLength, (long)_byteLength);
    }

    /// <summary>A deep copy, optionally in another storage type (converted through float32).</summary>
    public EmbeddingTable Clone(DType? dtype = null)
    {
        var copy = new EmbeddingTable(NumEmbeddings, Dims, dtype ?? DType);
        if (copy.DType == DType)
        {
            copy.CopyFrom(this);
            return copy;
        }
        var row = new float[Dims];
        for (int r = 0; r < NumEmbeddings; r++)
        {
            ReadRowUnchecked(r, row);
            copy.WriteRowUnchecked(r, row);
        }
        return copy;
    }

    /// <summary>Sets every element of row <paramref name="row"/> to zero.</summary>
    public void ClearRow(int row)
    {
        if ((uint)row >= (uint)NumEmbeddings)
            ThrowHelper.IndexOutOfRange("table.clear_row", nameof(row), row, 0, NumEmbeddings);
        NativeMemory.Clear(Pointer + (nint)row * Dims * ElementSize, (nuint)Dims * (nuint)ElementSize);
    }

    private void CheckElementType<T>(string op) where T : unmanaged
    {
        bool ok = DType switch
        {
            DType.Float32 => typeof(T) == typeof(float),
            DType.Float16 => typeof(T) == typeof(Half),
            DType.BFloat16 => typeof(T) == typeof(BFloat16),
            _ => false,
        };
        if (!ok)
            ThrowHelper.Argument(op, "T", $"element type {typeof(T).Name} does not match the table's dtype {DType} (use {ElementTypeName(DType)})");
    }

    private static string ElementTypeName(DType dtype) => dtype switch
    {
        DType.Float32 => "float",
        DType.Float16 => "Half",
        _ => "BFloat16",
    };

    /// <summary>Frees the native storage. Further use throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_owner is not null && _data != null)
        {
            _data = null;
            _owner.Dispose();
        }
        FreeStorage();
        GC.SuppressFinalize(this);
    }

    private void FreeStorage()
    {
        byte* p = _data;
        if (p == null)
            return;
        if (_owner is not null)
        {
            // External memory: its owner finalizes itself.
            _data = null;
            return;
        }
        _data = null;
        NativeMemory.AlignedFree(p);
        GC.RemoveMemoryPressure((long)_reserved);
    }

    /// <summary>Frees the storage if <see cref="Dispose"/> was not called.</summary>
    ~EmbeddingTable() => FreeStorage();
}
