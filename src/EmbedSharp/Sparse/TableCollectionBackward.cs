using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;

namespace EmbedSharp.Sparse;

/// <summary>The backward pass of a <see cref="TableCollection"/>.</summary>
public static class TableCollectionBackward
{
    /// <summary>
    /// The coalesced weight gradient of every table for upstream gradient <paramref name="gradOutput"/>
    /// (<c>[B, TotalDims]</c>, the loss being <c>Σ out · gradOutput</c>), keyed by table name.
    /// </summary>
    /// <remarks>
    /// Each feature follows its table's pooling rule: sum <c>gW[indices[j]] += g[b] · w_j</c>, mean
    /// <c>g[b] / |bag b|</c>, max routes <c>g[b, d]</c> to the first row attaining the maximum (recomputed
    /// from the current weights). Features sharing a table are added, in feature order.
    /// </remarks>
    /// <exception cref="ArgumentException">The batch lacks a feature or has an unknown one; <paramref name="gradOutput"/> has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside its table.</exception>
    public static IReadOnlyDictionary<string, SparseGradient> Backward(this TableCollection collection, KeyedBatch batch, ReadOnlySpan<float> gradOutput)
    {
        const string op = "table_collection.backward";
        Guard.NotNull(op, collection);
        collection.Validate(op, batch);
        int bags = batch.BatchSize;
        int total = collection.TotalDims;
        Guard.Length(op, gradOutput.Length, (long)bags * total, $"B × TotalDims = {bags} × {total}");
        var result = new Dictionary<string, SparseGradient>(StringComparer.Ordinal);
        foreach (var (feature, config, offset) in collection.FeatureSlots)
        {
            batch.TryGet(feature, out var f);
            int dims = config.Dims;
            var grad = new float[(long)bags * dims];
            for (int b = 0; b < bags; b++)
                gradOutput.Slice(b * total + offset, dims).CopyTo(grad.AsSpan(b * dims, dims));
            using var layout = BagBatch.FromOffsets(op, config.NumEmbeddings, f.Indices, f.Offsets, includeLastOffset: true);
            SparseGradient g = PooledBackward.Backward(collection.TableOf(config), config.PoolingMode, f.Indices, layout, grad,
                f.PerSampleWeights, -1, scaleGradByFreq: false, default);
            result[config.Name] = result.TryGetValue(config.Name, out var earlier) ? SparseMerge.Add(earlier, g) : g;
        }
        return result;
    }
}
