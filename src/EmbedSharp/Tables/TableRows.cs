using System.Runtime.CompilerServices;
using EmbedSharp.Numerics;

namespace EmbedSharp.Tables;

/// <summary>
/// Rows of an <see cref="EmbeddingTable"/> for the pooled-bag kernels, specialised per storage type:
/// float32 rows are read in place, float16/bfloat16 rows are widened into the kernel's scratch row.
/// </summary>
internal readonly struct TableRows<T>(EmbeddingTable table) : IPoolRowSource where T : unmanaged
{
    private readonly EmbeddingTable _table = table;

    public int Dims => _table.Dims;

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
