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
        switch (table.DType)
        {
            case DType.Float32: Forward(new TableRows<float>(table), mode, indices, bags, perSampleWeights, paddingIdx, destination, source); break;
            case DType.Float16: Forward(new TableRows<Half>(table), mode, indices, bags, perSampleWeights, paddingIdx, destination, source); break;
            default: Forward(new TableRows<BFloat16>(table), mode, indices, bags, perSampleWeights, paddingIdx, destination, source); break;
        }
    }

    private static void Forward<TRows>(TRows rows, PoolingMode mode, ReadOnlySpan<int> indices, in BagBatch bags,
        ReadOnlySpan<float> psw, int paddingIdx, Span<float> destination, Span<int> source)
        where TRows : IPoolRowSource
    {
        switch (mode)
        {
            case PoolingMode.Sum: Kernels.PoolBags<SumPooling, TRows>(rows, indices, bags.Starts, bags.End, psw, paddingIdx, destination); break;
            case PoolingMode.Mean: Kernels.PoolBags<MeanPooling, TRows>(rows, indices, bags.Starts, bags.End, default, paddingIdx, destination); break;
            default: Kernels.PoolBags<MaxPooling, TRows>(rows, indices, bags.Starts, bags.End, default, paddingIdx, destination, source); break;
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
