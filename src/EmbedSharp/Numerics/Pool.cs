using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Numerics;

public static partial class Kernels
{
    /// <summary>
    /// Pooled lookup over CSR bags (FBGEMM's <c>EmbeddingSpMDM</c>, PyTorch's <c>embedding_bag</c>
    /// forward), written once and specialised per pooling rule <typeparamref name="TPool"/> and row
    /// storage <typeparamref name="TRows"/>.
    /// </summary>
    /// <remarks>
    /// Bag <c>b</c> covers positions <c>[offsets[b], offsets[b+1])</c>, the last bag ending at
    /// <paramref name="end"/>. Positions whose id equals <paramref name="paddingIdx"/> are skipped
    /// entirely. With <c>M_b</c> the remaining positions, the kernel effectively computes
    /// <c>destination[b] = Σ_{j∈M_b} w_j · rows[indices[j]]</c> (sum),
    /// <c>(Σ_{j∈M_b} rows[indices[j]]) · (1/|M_b|)</c> (mean) or the per-dimension maximum (max), and
    /// zeros when <c>M_b</c> is empty. Worked example, dims 1, rows = [10, 20, 30, 40]:
    /// <c>indices = [0, 2, 2, 3]</c>, <c>offsets = [0, 1, 1]</c>, <c>end = 4</c> gives bags
    /// <c>[0]</c>, <c>[]</c>, <c>[2, 2, 3]</c> and sums <c>[10, 0, 100]</c>.
    /// Sums run in position order, so results are reproducible. For max,
    /// <paramref name="source"/> (when not empty, <c>B · Dims</c> long) receives the position <c>j</c>
    /// that produced each output element, or -1 for an empty bag.
    /// Inputs must be validated by the caller: ids in range, offsets non-decreasing within
    /// <c>[0, end]</c>, <c>destination</c> at least <c>B · Dims</c>.
    /// </remarks>
    public static unsafe void PoolBags<TPool, TRows>(TRows rows, ReadOnlySpan<int> indices, ReadOnlySpan<int> offsets, int end,
        ReadOnlySpan<float> perSampleWeights, int paddingIdx, Span<float> destination, Span<int> source = default)
        where TPool : struct, IPoolingOperator
        where TRows : IPoolRowSource, allows ref struct =>
        PoolRows<TPool, PoolSourceRows<TRows>>(new PoolSourceRows<TRows>(rows), indices, offsets, end, perSampleWeights, paddingIdx, destination, source);

    /// <summary>
    /// <see cref="PoolBags{TPool, TRows}"/> written once over the internal row source: dense tables of each dtype
    /// and quantized tables pool through this loop. Rows <paramref name="prefetchDistance"/> positions ahead
    /// (across bag boundaries) are prefetched when the source prefetches, so memory latency of random rows
    /// overlaps the pooling of the current ones.
    /// </summary>
    internal static unsafe void PoolRows<TPool, TRows>(TRows rows, ReadOnlySpan<int> indices, ReadOnlySpan<int> offsets, int end,
        ReadOnlySpan<float> perSampleWeights, int paddingIdx, Span<float> destination, Span<int> source = default,
        int prefetchDistance = PoolPrefetchDistance)
        where TPool : struct, IPoolingOperator
        where TRows : IRowSource, allows ref struct
    {
        int dims = rows.Dims;
        int total = indices.Length;
        int bags = offsets.Length;
        Debug.Assert(destination.Length >= (long)bags * dims);
        Debug.Assert(perSampleWeights.IsEmpty || perSampleWeights.Length == indices.Length);
        bool track = TPool.TracksSource && !source.IsEmpty;
        if (typeof(TRows) == typeof(DenseRows<float>) && !track && PoolFoldFloat32Supported(dims)
            && (typeof(TPool) == typeof(MaxPooling) || (typeof(TPool) == typeof(SumPooling) && !perSampleWeights.IsEmpty)))
        {
            // Float32 rows on AVX2: max and weighted-sum bags with the bag's result held in registers.
            float* table = Unsafe.As<TRows, DenseRows<float>>(ref rows).Data;
            fixed (int* ids = indices)
            fixed (int* st = offsets)
            fixed (float* w = perSampleWeights)
            fixed (float* dst = destination)
            {
                if (typeof(TPool) == typeof(MaxPooling))
                    PoolFoldFloat32<MaxFold>(table, dims, ids, total, st, bags, end, null, paddingIdx, dst);
                else
                    PoolFoldFloat32<WeightedSumFold>(table, dims, ids, total, st, bags, end, w, paddingIdx, dst);
            }
            return;
        }
        // A pinned heap scratch row, where sources decode rows that are not stored as float32.
        float[] scratchRow = new float[dims];
        fixed (float* scratch = scratchRow)
        {
            for (int b = 0; b < bags; b++)
            {
                int start = offsets[b];
                int stop = b + 1 < bags ? offsets[b + 1] : end;
                Span<float> acc = destination.Slice(b * dims, dims);
                Span<int> src = track ? source.Slice(b * dims, dims) : default;
                int count = 0;
                for (int j = start; j < stop; j++)
                {
                    if (TRows.Prefetches && j + prefetchDistance < total)
                        rows.Prefetch(indices[j + prefetchDistance]);
                    int id = indices[j];
                    if (id == paddingIdx)
                        continue;
                    var row = new ReadOnlySpan<float>(rows.Row(id, scratch), dims);
                    float w = perSampleWeights.IsEmpty ? 1f : perSampleWeights[j];
                    if (count == 0)
                        TPool.First(row, w, j, acc, src);
                    else
                        TPool.Next(row, w, j, acc, src);
                    count++;
                }
                if (count == 0)
                {
                    acc.Clear();
                    if (track)
                        src.Fill(-1);
                }
                else
                {
                    TPool.Finish(acc, count);
                }
            }
        }
    }

    /// <summary>Positions ahead whose row a prefetching pool kernel asks for.</summary>
    internal const int PoolPrefetchDistance = 32;

    /// <summary>
    /// <c>acc[d] = acc[d] + x[d] · a</c>, rounded twice (a multiply, then an add; never a fused
    /// multiply-add), so it equals the scalar loop bit for bit. Vector256, then Vector128, then
    /// scalar; the tail is done in scalar code (a re-run lane would add twice).
    /// </summary>
    internal static void AddScaled(ReadOnlySpan<float> x, float a, Span<float> acc)
    {
        Debug.Assert(acc.Length >= x.Length);
        int n = x.Length, d = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float ar = ref MemoryMarshal.GetReference(acc);
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; d <= n - Vector256<float>.Count; d += Vector256<float>.Count)
                (Vector256.LoadUnsafe(ref ar, (nuint)d) + Vector256.LoadUnsafe(ref xr, (nuint)d) * va).StoreUnsafe(ref ar, (nuint)d);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            var va = Vector128.Create(a);
            for (; d <= n - Vector128<float>.Count; d += Vector128<float>.Count)
                (Vector128.LoadUnsafe(ref ar, (nuint)d) + Vector128.LoadUnsafe(ref xr, (nuint)d) * va).StoreUnsafe(ref ar, (nuint)d);
        }
        for (; d < n; d++)
            Unsafe.Add(ref ar, d) += Unsafe.Add(ref xr, d) * a;
    }
}
