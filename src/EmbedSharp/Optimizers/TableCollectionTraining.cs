using EmbedSharp.Diagnostics;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp.Optimizers;

/// <summary>Fused backward + optimizer step for a <see cref="TableCollection"/>.</summary>
public static class TableCollectionTraining
{
    /// <summary>
    /// Applies one step per table with the optimizer keyed by that table's name, in one pass over the
    /// tables; tables without an optimizer stay frozen. All inputs are validated before any table changes.
    /// </summary>
    /// <remarks>
    /// A table read by one sum- or mean-pooled feature (the usual case: TorchRec's one feature per table)
    /// takes the fused path of <c>EmbeddingBag.BackwardAndStep</c>: each touched row's gradient is summed
    /// from the bags' upstream rows just before the optimizer updates it, so the table's coalesced
    /// gradient is never materialised. A max-pooled table, or one shared by several features (whose
    /// gradients are added per feature, see <see cref="TableCollectionBackward.Backward"/>), forms its
    /// coalesced gradient first. Either way the result equals <c>Backward</c> followed by one
    /// <see cref="SparseOptimizer.Step(SparseGradient)"/> per table, bit for bit.
    /// </remarks>
    /// <exception cref="ArgumentException">An optimizer is keyed by an unknown table or bound to another table; the batch or gradient is malformed.</exception>
    public static void BackwardAndStep(this TableCollection collection, KeyedBatch batch, ReadOnlySpan<float> gradOutput,
        IReadOnlyDictionary<string, SparseOptimizer> optimizers)
    {
        const string op = "table_collection.backward_step";
        Guard.NotNull(op, collection);
        Guard.NotNull(op, optimizers);
        foreach (var (name, optimizer) in optimizers)
        {
            if (!collection.TryGetTable(name, out var table))
                ThrowHelper.Argument(op, nameof(optimizers), $"no table named '{name}' (tables: {string.Join(", ", collection.Configs.Select(c => c.Name))})");
            if (optimizer is null || !ReferenceEquals(optimizer.Table, table))
                ThrowHelper.Argument(op, nameof(optimizers), $"the optimizer for '{name}' is null or was created over another table");
        }
        collection.Validate(op, batch);
        int bags = batch.BatchSize;
        int total = collection.TotalDims;
        Guard.Length(op, gradOutput.Length, (long)bags * total, $"B × TotalDims = {bags} × {total}");

        foreach (TableConfig config in collection.Configs)
        {
            if (!optimizers.TryGetValue(config.Name, out var optimizer))
                continue;
            EmbeddingTable table = collection.TableOf(config);
            int dims = config.Dims;
            SparseGradient? materialised = null;
            foreach (var (feature, featureConfig, offset) in collection.FeatureSlots)
            {
                if (!ReferenceEquals(featureConfig, config))
                    continue;
                batch.TryGet(feature, out var f);
                var grad = new float[(long)bags * dims];
                for (int b = 0; b < bags; b++)
                    gradOutput.Slice(b * total + offset, dims).CopyTo(grad.AsSpan(b * dims, dims));
                using var layout = BagBatch.FromOffsets(op, config.NumEmbeddings, f.Indices, f.Offsets, includeLastOffset: true);
                if (config.PoolingMode != PoolingMode.Max && config.FeatureNames.Count == 1)
                {
                    var (bagOf, scale) = PooledBackward.Prepare(table, config.PoolingMode, f.Indices, layout, grad, f.PerSampleWeights, -1, false, default);
                    optimizer.Step(f.Indices, -1, null, new GradientSource(grad, dims, bagOf, scale));
                    continue;
                }
                SparseGradient g = PooledBackward.Backward(table, config.PoolingMode, f.Indices, layout, grad, f.PerSampleWeights, -1, scaleGradByFreq: false, default);
                materialised = materialised is null ? g : SparseMerge.Add(materialised, g);
            }
            if (materialised is not null)
                optimizer.Step(materialised);
        }
    }
}
