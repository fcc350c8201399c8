using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace EmbedSharp.Numerics;

/// <summary>
/// Where a kernel reads table rows from — the one internal row-source contract under gather, pooled bags
/// and the matrix products (<see cref="Kernels.GatherRows{TRows}"/>, <see cref="Kernels.GatherStreaming{TRows}"/>,
/// <see cref="Kernels.PoolRows{TPool, TRows}"/>, <see cref="Gemm"/>). Dense tables of each dtype
/// (<see cref="DenseRows{T}"/>), quantized tables (<c>QuantizedTable.RowReader</c>) and sources adapted from
/// the public <see cref="IPoolRowSource"/> implement it as small structs, so every kernel is specialised per
/// storage at JIT time and the row fetch inlines.
/// </summary>
/// <remarks>
/// <see cref="Row"/> returns Dims float32 values: a pointer into the storage itself (float32 rows), or
/// <c>scratch</c> (at least Dims floats) filled with the row widened or dequantized. Kernels that write
/// their output row by row pass the output row as the scratch, so a decoded row lands where it belongs.
/// Row ids are validated by the callers; sources only assert them.
/// </remarks>
internal unsafe interface IRowSource
{
    /// <summary>Length of each row.</summary>
    int Dims { get; }

    /// <summary>False when <see cref="Prefetch"/> does nothing: kernels then skip the call and its index load.</summary>
    static abstract bool Prefetches { get; }

    /// <summary>Row <paramref name="row"/> as float32: in place, or decoded into <paramref name="scratch"/>.</summary>
    float* Row(int row, float* scratch);

    /// <summary>Starts loading what <see cref="Row"/> will read for row <paramref name="row"/> (a hint; it never faults).</summary>
    void Prefetch(int row);
}

/// <summary>
/// Rows of row-major float32, float16 or bfloat16 storage: float32 rows are read in place, 16-bit rows are
/// widened into the scratch. Prefetch asks for at most <c>prefetchLines</c> 64-byte lines of a row (the
/// hardware prefetcher streams the rest of a longer one).
/// </summary>
internal readonly unsafe struct DenseRows<T>(T* data, int dims, int prefetchLines = Kernels.RowPrefetchLines) : IRowSource
    where T : unmanaged
{
    private readonly nint _prefetchBytes = Math.Min((nint)dims * sizeof(T), (nint)prefetchLines * 64);

    public int Dims => dims;

    /// <summary>Row 0 of the storage.</summary>
    internal T* Data => data;

    public static bool Prefetches => Sse.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float* Row(int row, float* scratch)
    {
        T* p = data + (nint)row * dims;
        if (typeof(T) == typeof(float))
            return (float*)p;
        Kernels.WidenRow(new ReadOnlySpan<T>(p, dims), new Span<float>(scratch, dims));
        return scratch;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(int row) => Kernels.PrefetchRow(data + (nint)row * dims, _prefetchBytes);
}

/// <summary>
/// A public <see cref="IPoolRowSource"/> (which hands out spans, possibly of managed memory) as a row source:
/// each row is copied into the kernel's pinned scratch. Only the public span kernel uses it; the layers
/// pass pointer sources.
/// </summary>
internal readonly unsafe ref struct PoolSourceRows<TRows>(TRows rows) : IRowSource
    where TRows : IPoolRowSource, allows ref struct
{
    private readonly TRows _rows = rows;

    public int Dims => _rows.Dims;

    public static bool Prefetches => false;

    public float* Row(int row, float* scratch)
    {
        var s = new Span<float>(scratch, _rows.Dims);
        ReadOnlySpan<float> r = _rows.Row(row, s);
        if (!Unsafe.AreSame(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(r), ref System.Runtime.InteropServices.MemoryMarshal.GetReference(s)))
            r.Slice(0, s.Length).CopyTo(s);
        return scratch;
    }

    public void Prefetch(int row) { }
}

public static partial class Kernels
{
    /// <summary>64-byte lines of a row that <see cref="DenseRows{T}"/> prefetches by default (2 KiB).</summary>
    internal const int RowPrefetchLines = 32;

    /// <summary>
    /// The one row-prefetch loop: x86 <c>prefetcht0</c> on every 64-byte line of the first
    /// <paramref name="bytes"/> bytes at <paramref name="row"/> (callers clamp it once, outside their loop).
    /// A no-op without SSE.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void PrefetchRow(void* row, nint bytes)
    {
        if (!Sse.IsSupported)
            return;
        // A bumped pointer against an end pointer: two live registers where an offset loop needs three,
        // which kept the JIT from spilling around the pooled-bag kernels' eight accumulators.
        byte* line = (byte*)row;
        byte* end = line + bytes;
        for (; line < end; line += 64)
            Sse.Prefetch0(line);
    }

    /// <summary>
    /// The row gather written once over a row source: <c>destination[i] = scale · rows[ids[i]]</c> for
    /// <paramref name="count"/> ids (validated by the caller), rows <paramref name="prefetchDistance"/> ids
    /// ahead prefetched. A row the source decodes is decoded straight into its output row.
    /// </summary>
    /// <remarks>
    /// The unscaled gather (every layer's lookup) has a loop of its own with no call in it for a source that hands
    /// out rows in place, and both loops work on a copy of the source: read through the reference, the source's
    /// fields were loaded again for every row (a store to the output might have changed them), and a call in the
    /// loop left too few registers to keep them and the loop's own variables, so the row index went to the stack.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void GatherRows<TRows>(ref TRows rows, int* ids, int count, float* destination, float scale, int prefetchDistance)
        where TRows : struct, IRowSource
    {
        if (scale == 1f)
            GatherRowsLoop<TRows, UnitScale>(rows, ids, count, destination, 1f, prefetchDistance);
        else
            GatherRowsLoop<TRows, AnyScale>(rows, ids, count, destination, scale, prefetchDistance);
    }

    /// <summary>The loop of <see cref="GatherRows{TRows}"/>, compiled once with the scale known to be 1 (no call left in it) and once for any scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static unsafe void GatherRowsLoop<TRows, TScale>(TRows rows, int* ids, int count, float* destination, float scale, int prefetchDistance)
        where TRows : struct, IRowSource
        where TScale : struct, IScaleKind
    {
        int dims = rows.Dims;
        for (int i = 0; i < count; i++)
        {
            if (TRows.Prefetches && i + prefetchDistance < count)
                rows.Prefetch(ids[i + prefetchDistance]);
            float* output = destination + (nint)i * dims;
            float* row = rows.Row(ids[i], output);
            if (row != output)
            {
                CopyScaled(row, output, dims, TScale.IsUnit ? 1f : scale);
            }
            else if (!TScale.IsUnit)
            {
                var span = new Span<float>(output, dims);
                System.Numerics.Tensors.TensorPrimitives.Multiply(span, scale, span);
            }
        }
    }

    /// <summary>Whether a gather's scale is known to be 1 when its loop is compiled (a type argument, so the test folds away).</summary>
    private interface IScaleKind
    {
        static abstract bool IsUnit { get; }
    }

    private readonly struct UnitScale : IScaleKind
    {
        public static bool IsUnit => true;
    }

    private readonly struct AnyScale : IScaleKind
    {
        public static bool IsUnit => false;
    }
}
