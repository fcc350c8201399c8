using System.Numerics.Tensors;
using EmbedSharp.Tables;

namespace EmbedSharp.Sparse;

/// <summary>
/// The backward pass of pooled lookups (<see cref="EmbeddingBag"/>, <see cref="TableCollection"/>): turns
/// an upstream gradient per bag into a coalesced <see cref="SparseGradient"/>. Inputs are validated by
/// the callers.
/// </summary>
internal static class PooledBackward
{
    /// <summary>
    /// The weight gradient of a pooled lookup, coalesced. Sum/mean:
    /// <c>gW[indices[j]] += g[b] · w_j · (1/|M_b| for mean) · (1/count(indices[j]) with scaleGradByFreq)</c>
    /// over non-padding positions, count taken over the whole batch. Max: each <c>g[b, d]</c> goes to the
    /// row at the position that attained the maximum (the forward's tie and NaN rule), recomputed from
    /// the current weights. When <paramref name="gradPerSampleWeights"/> is not empty it receives
    /// <c>dot(g[b], W[indices[j]])</c>, 0 at padding positions.
    /// </summary>
    public static SparseGradient Backward(EmbeddingTable table, PoolingMode mode, ReadOnlySpan<int> indices, in BagBatch bags,
        ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> perSampleWeights, int paddingIdx, bool scaleGradByFreq,
        Span<float> gradPerSampleWeights)
    {
        if (mode == PoolingMode.Max)
            return MaxBackward(table, indices, bags, gradOutput, paddingIdx);
        var (bagOf, scale) = Prepare(table, mode, indices, bags, gradOutput, perSampleWeights, paddingIdx, scaleGradByFreq, gradPerSampleWeights);
        return Coalesce.Rows(table.NumEmbeddings, table.Dims, indices, gradOutput, bagOf, scale, paddingIdx);
    }

    /// <summary>
    /// For sum and mean pooling: the bag each position belongs to and its factor (per-sample weight,
    /// 1/kept for mean, 1/count with scale-by-frequency), so the weight gradient is
    /// <c>grad[r] = Σ_{j: indices[j] = r} scale[j] · gradOutput[bagOf[j]]</c>; also fills
    /// <paramref name="gradPerSampleWeights"/> when asked.
    /// </summary>
    public static (int[] BagOf, float[] Scale) Prepare(EmbeddingTable table, PoolingMode mode, ReadOnlySpan<int> indices, in BagBatch bags,
        ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> perSampleWeights, int paddingIdx, bool scaleGradByFreq,
        Span<float> gradPerSampleWeights)
    {
        System.Diagnostics.Debug.Assert(mode != PoolingMode.Max);
        int dims = table.Dims;
        int n = indices.Length;
        var bagOf = new int[n];
        var scale = new float[n];
        int[]? counts = scaleGradByFreq ? CountIds(indices) : null;
        for (int b = 0; b < bags.Count; b++)
        {
            int start = bags.Starts[b], stop = bags.Stop(b);
            int kept = 0;
            for (int j = start; j < stop; j++)
                if (indices[j] != paddingIdx)
                    kept++;
            float bagScale = mode == PoolingMode.Mean && kept > 1 ? 1f / kept : 1f;
            for (int j = start; j < stop; j++)
            {
                bagOf[j] = b;
                float s = perSampleWeights.IsEmpty ? bagScale : perSampleWeights[j] * bagScale;
                if (counts is not null)
                    s /= counts[Array.BinarySearch(counts, 0, counts.Length / 2, indices[j]) + counts.Length / 2];
                scale[j] = s;
            }
        }
        if (!gradPerSampleWeights.IsEmpty)
        {
            Span<float> row = dims <= 256 ? stackalloc float[dims] : new float[dims];
            for (int b = 0; b < bags.Count; b++)
            {
                for (int j = bags.Starts[b]; j < bags.Stop(b); j++)
                {
                    if (indices[j] == paddingIdx)
                    {
                        gradPerSampleWeights[j] = 0;
                        continue;
                    }
                    table.ReadRowUnchecked(indices[j], row);
                    gradPerSampleWeights[j] = TensorPrimitives.Dot(gradOutput.Slice(b * dims, dims), row);
                }
            }
        }
        return (bagOf, scale);
    }

    /// <summary>
    /// Occurrence counts of each distinct id, packed as <c>[ids ascending…, counts…]</c> so a binary
    /// search over the first half finds the count in the second half.
    /// </summary>
    private static int[] CountIds(ReadOnlySpan<int> indices)
    {
        int[] sorted = indices.ToArray();
        Array.Sort(sorted);
        int distinct = 0;
        for (int k = 0; k < sorted.Length; k++)
            if (k == 0 || sorted[k] != sorted[k - 1])
                distinct++;
        var packed = new int[2 * distinct];
        int slot = -1;
        for (int k = 0; k < sorted.Length; k++)
        {
            if (k == 0 || sorted[k] != sorted[k - 1])
                packed[++slot] = sorted[k];
            packed[distinct + slot]++;
        }
        return packed;
    }

    private static SparseGradient MaxBackward(EmbeddingTable table, ReadOnlySpan<int> indices, in BagBatch bags,
        ReadOnlySpan<float> gradOutput, int paddingIdx)
    {
        int dims = table.Dims;
        int bagCount = bags.Count;
        var pooled = new float[(long)bagCount * dims];
        var source = new int[(long)bagCount * dims];
        PooledLookup.Forward(table, PoolingMode.Max, indices, bags, default, paddingIdx, pooled, source);

        // One gradient entry per (bag, winning position): g[b, d] at the dimensions that position won.
        var entryOfPosition = new int[indices.Length];
        Array.Fill(entryOfPosition, -1);
        var entryIds = new List<int>();
        var entryRows = new List<float>();
        for (int b = 0; b < bagCount; b++)
        {
            for (int d = 0; d < dims; d++)
            {
                int j = source[b * dims + d];
                if (j < 0)
                    continue;
                int e = entryOfPosition[j];
                if (e < 0)
                {
                    e = entryOfPosition[j] = entryIds.Count;
                    entryIds.Add(indices[j]);
                    for (int z = 0; z < dims; z++)
                        entryRows.Add(0f);
                }
                entryRows[e * dims + d] = gradOutput[b * dims + d];
            }
        }
        return Coalesce.Rows(table.NumEmbeddings, dims, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(entryIds),
            System.Runtime.InteropServices.CollectionsMarshal.AsSpan(entryRows));
    }
}
