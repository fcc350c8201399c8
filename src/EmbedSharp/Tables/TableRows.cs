using System.Runtime.CompilerServices;
using EmbedSharp.Numerics;

namespace EmbedSharp.Tables;

/// <summary>
/// Rows of an <see cref="EmbeddingTable"/> for the pooled-bag kernels, specialised per storage type:
/// float32 rows are read in place, float16/bfloat16 rows are widened into the kernel's scratch row.
/// </summary>
internal readonly unsafe struct TableRows<T>(EmbeddingTable table) : IPoolRowSource, IRowPrefetcher where T : unmanaged
{
    private readonly EmbeddingTable _table = table;

    public int Dims => _table.Dims;

    public static bool Enabled => System.Runtime.Intrinsics.X86.Sse.IsSupported;

    /// <summary>Prefetches every cache line of the row, up to 2 KiB (the hardware prefetcher streams the rest).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(int row)
    {
        nint bytes = (nint)_table.Dims * sizeof(T);
        byte* p = _table.Pointer + row * bytes;
        nint end = Math.Min(bytes, 32 * 64);
        for (nint offset = 0; offset < end; offset += 64)
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(p + offset);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<float> Row(int row, Span<float> scratch)
    {
        System.Diagnostics.Debug.Assert((uint)row < (uint)_table.NumEmbeddings);
        if (typeof(T) == typeof(float))
            return _table.RowUnchecked<float>(row);
        Span<float> dst = scratch.Slice(0, _table.Dims);
        Kernels.WidenRow<T>(_table.RowUnchecked<T>(row), dst);
        return dst;
    }
}
