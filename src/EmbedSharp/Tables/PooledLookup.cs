using System.Numerics.Tensors;
using EmbedSharp.Numerics;

namespace EmbedSharp.Tables;

/// <summary>
/// Pooled lookups on one <see cref="EmbeddingTable"/>: the forward kernel dispatch (pooling mode and
/// storage type become generic arguments once, here) and max-norm renormalisation. Shared by
/// <see cref="EmbeddingBag"/> and <see cref="TableCollection"/>; the backward pass lives in
/// <c>Sparse/PooledBackward.cs</c> (Tables may not depend on Sparse). Inputs are validated by the
/// callers (<see cref="BagBatch"/>).
/// </summary>
internal static class PooledLookup
{
    /// <summary>Runs the pooled forward for <paramref name="bags"/> into <c>destination</c> (B · Dims).</summary>
    public static void Forward(EmbeddingTable table, PoolingMode mode, ReadOnlySpan<int> indices, in BagBatch bags,
        ReadOnlySpan<float> perSampleWeights, int paddingIdx, Span<float> destination, Span<int> source = default)
    {
        if (table.DType == DType.Float32 && mode != PoolingMode.Max && perSampleWeights.IsEmpty && Kernels.PoolSumFloat32Supported(table.Dims))
        {
            ForwardSumFloat32(table, mode == PoolingMode.Mean, indices, bags, paddingIdx, destination);
            return;
        }
        switch (table.DType)
        {
            case DType.Float32: Forward(table.Rows<float>(), mode, indices, bags, perSampleWeights, paddingIdx, destination, source); break;
            case DType.Float16: Forward(table.Rows<Half>(), mode, indices, bags, perSampleWeights, paddingIdx, destination, source); break;
            default: Forward(table.Rows<BFloat16>(), mode, indices, bags, perSampleWeights, paddingIdx, destination, source); break;
        }
    }

    /// <summary>Unweighted sum/mean over float32 rows: the register-accumulating kernel, over bag ranges claimed by threads.</summary>
    private static unsafe void ForwardSumFloat32(EmbeddingTable table, bool mean, ReadOnlySpan<int> indices, in BagBatch bags, int paddingIdx, Span<float> destination)
    {
        int count = bags.Count, end = bags.End, dims = table.Dims, total = indices.Length;
        if (count == 0)
            return;
        int threads = (long)total * dims < ParallelThreshold ? 1 : ParallelWork.DefaultThreads;
        fixed (int* ids = indices)
        fixed (int* st = bags.Starts)
        fixed (float* dst = destination)
        {
            nint idsA = (nint)ids, stA = (nint)st, dstA = (nint)dst, tableA = (nint)table.Pointer;
            int grain = Math.Clamp(count / (8 * threads), 1, 256);
            ParallelWork.For(count, grain, threads, (first, last) =>
                Kernels.PoolSumFloat32((float*)tableA, dims, (int*)idsA, total, (int*)stA + first, last - first,
                    last < count ? ((int*)stA)[last] : end, paddingIdx, mean, (float*)dstA + (nint)first * dims));
        }
    }

    /// <summary>Pooled positions × Dims below which the bags stay on one thread.</summary>
    private const long ParallelThreshold = 1 << 18;

    private static void Forward<TRows>(TRows rows, PoolingMode mode, ReadOnlySpan<int> indices, in BagBatch bags,
        ReadOnlySpan<float> psw, int paddingIdx, Span<float> destination, Span<int> source)
        where TRows : struct, IRowSource
    {
        switch (mode)
        {
            case PoolingMode.Sum: Forward<SumPooling, TRows>(rows, indices, bags, psw, paddingIdx, destination, default); break;
            case PoolingMode.Mean: Forward<MeanPooling, TRows>(rows, indices, bags, default, paddingIdx, destination, default); break;
            default: Forward<MaxPooling, TRows>(rows, indices, bags, default, paddingIdx, destination, source); break;
        }
    }

    /// <summary>
    /// Runs the kernel with row prefetching, over contiguous ranges of bags claimed by up to the
    /// processor count of threads when the batch is large (each bag is pooled by one thread, in
    /// position order, so results do not depend on the thread count).
    /// </summary>
    private static unsafe void Forward<TPool, TRows>(TRows rows, ReadOnlySpan<int> indices, in BagBatch bags,
        ReadOnlySpan<float> psw, int paddingIdx, Span<float> destination, Span<int> source)
        where TPool : struct, IPoolingOperator
        where TRows : struct, IRowSource
    {
        ReadOnlySpan<int> starts = bags.Starts;
        int count = starts.Length, end = bags.End, dims = rows.Dims;
        int threads = (long)indices.Length * Math.Max(dims, 1) < ParallelThreshold ? 1 : ParallelWork.DefaultThreads;
        if (threads == 1 || count < 2)
        {
            Kernels.PoolRows<TPool, TRows>(rows, indices, starts, end, psw, paddingIdx, destination, source);
            return;
        }
        fixed (int* ids = indices)
        fixed (int* st = starts)
        fixed (float* weights = psw)
        fixed (float* dst = destination)
        fixed (int* src = source)
        {
            nint idsA = (nint)ids, stA = (nint)st, wA = (nint)weights, dstA = (nint)dst, srcA = (nint)src;
            int idCount = indices.Length, wCount = psw.Length;
            bool track = !source.IsEmpty;
            int grain = Math.Clamp(count / (8 * threads), 1, 256);
            ParallelWork.For(count, grain, threads, (first, last) =>
            {
                var chunkStarts = new ReadOnlySpan<int>((int*)stA + first, last - first);
                int chunkEnd = last < count ? ((int*)stA)[last] : end;
                Kernels.PoolRows<TPool, TRows>(rows, new ReadOnlySpan<int>((int*)idsA, idCount), chunkStarts, chunkEnd,
                    new ReadOnlySpan<float>((float*)wA, wCount), paddingIdx,
                    new Span<float>((float*)dstA + (nint)first * dims, (last - first) * dims),
                    track ? new Span<int>((int*)srcA + (nint)first * dims, (last - first) * dims) : default);
            });
        }
    }

    /// <summary>
    /// PyTorch's <c>embedding_renorm_</c>: every distinct looked-up row (padding included) whose
    /// <paramref name="normType"/>-norm n exceeds <paramref name="maxNorm"/> (strictly) is scaled in
    /// place by <c>maxNorm / (n + 1e-7)</c>, computed in double and applied in float32.
    /// </summary>
    public static void Renorm(EmbeddingTable table, ReadOnlySpan<int> indices, double maxNorm, double normType)
    {
        if (indices.IsEmpty || table.Dims == 0)
            return;
        int[] ids = indices.ToArray();
        Array.Sort(ids);
        Span<float> row = table.Dims <= 256 ? stackalloc float[table.Dims] : new float[table.Dims];
        for (int k = 0; k < ids.Length; k++)
        {
            if (k > 0 && ids[k] == ids[k - 1])
                continue;
            table.ReadRowUnchecked(ids[k], row);
            double n = Kernels.Norm(row, normType);
            if (n > maxNorm)
            {
                TensorPrimitives.Multiply(row, (float)(maxNorm / (n + 1e-7)), row);
                table.WriteRowUnchecked(ids[k], row);
            }
        }
    }
}
