using EmbedSharp.Diagnostics;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp;

public sealed partial class TableCollection
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
    public IReadOnlyDictionary<string, SparseGradient> Backward(KeyedBatch batch, ReadOnlySpan<float> gradOutput)
    {
        const string op = "table_collection.backward";
        CheckGradient(op, batch, gradOutput);
        var result = new Dictionary<string, SparseGradient>(StringComparer.Ordinal);
        foreach (var (feature, config, offset) in _features)
        {
            SparseGradient g = FeatureGradient(op, batch, gradOutput, feature, config, offset);
            result[config.Name] = result.TryGetValue(config.Name, out var earlier) ? SparseMerge.Add(earlier, g) : g;
        }
        return result;
    }

    /// <summary>
    /// "Summed gradient per unique id, not applied": for each table (all, or those in <paramref name="tables"/>),
    /// the distinct row ids the batch touches, ascending, each with the sum of its gradient over the batch —
    /// what <see cref="BackwardAndStep"/> would hand its optimizer, for a store that runs the optimizer itself
    /// (a parameter server, a sharded store applying <c>ApplyGradients</c> beside its rows).
    /// </summary>
    /// <remarks>
    /// A table read by one sum- or mean-pooled feature is summed by the fused step's own grouping (positions
    /// grouped by row, each row's upstream rows summed in batch order) without a per-position gradient; other
    /// tables are formed as in <see cref="Backward"/>. Applying the result with
    /// <see cref="SparseOptimizer.Step(SparseGradient)"/> per table equals <see cref="BackwardAndStep"/> bit for bit.
    /// No table is modified.
    /// </remarks>
    /// <exception cref="ArgumentException">The batch or gradient is malformed, or <paramref name="tables"/> names an unknown table.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside its table.</exception>
    public IReadOnlyDictionary<string, SparseGradient> SummedGradients(KeyedBatch batch, ReadOnlySpan<float> gradOutput, IEnumerable<string>? tables = null)
    {
        const string op = "table_collection.summed_gradients";
        HashSet<string>? wanted = tables is null ? null : new HashSet<string>(tables, StringComparer.Ordinal);
        foreach (string name in wanted ?? [])
            if (!_tables.ContainsKey(name))
                ThrowHelper.Argument(op, nameof(tables), $"no table named '{name}' (tables: {string.Join(", ", Configs.Select(c => c.Name))})");
        CheckGradient(op, batch, gradOutput);
        var result = new Dictionary<string, SparseGradient>(StringComparer.Ordinal);
        foreach (TableConfig config in Configs)
        {
            if (wanted is not null && !wanted.Contains(config.Name))
                continue;
            SparseGradient? sum = null;
            foreach (var (feature, featureConfig, offset) in _features)
            {
                if (!ReferenceEquals(featureConfig, config))
                    continue;
                SparseGradient g;
                if (Fusable(config))
                {
                    batch.TryGet(feature, out var f);
                    float[] grad = FeatureSlice(gradOutput, batch.BatchSize, config.Dims, offset);
                    using var layout = BagBatch.FromOffsets(op, config.NumEmbeddings, f.Indices, f.Offsets, includeLastOffset: true);
                    var (bagOf, scale) = PooledBackward.Prepare(TableOf(config), config.PoolingMode, f.Indices, layout, grad, f.PerSampleWeights, -1, false, default);
                    using RowGroups groups = RowGroups.Build(f.Indices, config.NumEmbeddings);
                    g = groups.Materialize(config.NumEmbeddings, new GradientSource(grad, config.Dims, bagOf, scale));
                }
                else
                {
                    g = FeatureGradient(op, batch, gradOutput, feature, config, offset);
                }
                sum = sum is null ? g : SparseMerge.Add(sum, g);
            }
            if (sum is not null)
                result[config.Name] = sum;
        }
        return result;
    }

    /// <summary>
    /// Applies one step per table with the optimizer keyed by that table's name, in one pass over the
    /// tables; tables without an optimizer stay frozen. All inputs are validated before any table changes.
    /// </summary>
    /// <remarks>
    /// A table read by one sum- or mean-pooled feature (the usual case: TorchRec's one feature per table)
    /// takes the fused path of <see cref="EmbeddingBag.BackwardAndStep(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{float}, SparseOptimizer, ReadOnlySpan{float}, Span{float})"/>:
    /// each touched row's gradient is summed from the bags' upstream rows just before the optimizer updates it,
    /// so the table's coalesced gradient is never materialised. A max-pooled table, or one shared by several
    /// features (whose gradients are added per feature, see <see cref="Backward"/>), forms its coalesced
    /// gradient first. Either way the result equals <see cref="Backward"/> followed by one
    /// <see cref="SparseOptimizer.Step(SparseGradient)"/> per table, bit for bit.
    /// </remarks>
    /// <exception cref="ArgumentException">An optimizer is keyed by an unknown table or bound to another table; the batch or gradient is malformed.</exception>
    public void BackwardAndStep(KeyedBatch batch, ReadOnlySpan<float> gradOutput, IReadOnlyDictionary<string, SparseOptimizer> optimizers)
    {
        const string op = "table_collection.backward_step";
        Guard.NotNull(op, optimizers);
        foreach (var (name, optimizer) in optimizers)
        {
            if (!TryGetTable(name, out var table))
                ThrowHelper.Argument(op, nameof(optimizers), $"no table named '{name}' (tables: {string.Join(", ", Configs.Select(c => c.Name))})");
            if (optimizer is null || !ReferenceEquals(optimizer.Table, table))
                ThrowHelper.Argument(op, nameof(optimizers), $"the optimizer for '{name}' is null or was created over another table");
        }
        CheckGradient(op, batch, gradOutput);
        foreach (TableConfig config in Configs)
        {
            if (!optimizers.TryGetValue(config.Name, out var optimizer))
                continue;
            EmbeddingTable table = TableOf(config);
            SparseGradient? materialised = null;
            foreach (var (feature, featureConfig, offset) in _features)
            {
                if (!ReferenceEquals(featureConfig, config))
                    continue;
                if (Fusable(config))
                {
                    batch.TryGet(feature, out var f);
                    float[] grad = FeatureSlice(gradOutput, batch.BatchSize, config.Dims, offset);
                    using var layout = BagBatch.FromOffsets(op, config.NumEmbeddings, f.Indices, f.Offsets, includeLastOffset: true);
                    var (bagOf, scale) = PooledBackward.Prepare(table, config.PoolingMode, f.Indices, layout, grad, f.PerSampleWeights, -1, false, default);
                    optimizer.Step(f.Indices, -1, null, new GradientSource(grad, config.Dims, bagOf, scale));
                    continue;
                }
                SparseGradient g = FeatureGradient(op, batch, gradOutput, feature, config, offset);
                materialised = materialised is null ? g : SparseMerge.Add(materialised, g);
            }
            if (materialised is not null)
                optimizer.Step(materialised);
        }
    }

    /// <summary>Whether a table's step runs fused: one sum- or mean-pooled feature reads it.</summary>
    private static bool Fusable(TableConfig config) => config.PoolingMode != PoolingMode.Max && config.FeatureNames.Count == 1;

    private void CheckGradient(string op, KeyedBatch batch, ReadOnlySpan<float> gradOutput)
    {
        Validate(op, batch);
        Guard.Length(op, gradOutput.Length, (long)batch.BatchSize * TotalDims, $"B × TotalDims = {batch.BatchSize} × {TotalDims}");
    }

    /// <summary>One feature's <c>[B, Dims]</c> columns of the <c>[B, TotalDims]</c> upstream gradient.</summary>
    private float[] FeatureSlice(ReadOnlySpan<float> gradOutput, int bags, int dims, int offset)
    {
        var grad = new float[(long)bags * dims];
        for (int b = 0; b < bags; b++)
            gradOutput.Slice(b * TotalDims + offset, dims).CopyTo(grad.AsSpan(b * dims, dims));
        return grad;
    }

    /// <summary>The materialised coalesced gradient of one feature.</summary>
    private SparseGradient FeatureGradient(string op, KeyedBatch batch, ReadOnlySpan<float> gradOutput, string feature, TableConfig config, int offset)
    {
        batch.TryGet(feature, out var f);
        float[] grad = FeatureSlice(gradOutput, batch.BatchSize, config.Dims, offset);
        using var layout = BagBatch.FromOffsets(op, config.NumEmbeddings, f.Indices, f.Offsets, includeLastOffset: true);
        return PooledBackward.Backward(TableOf(config), config.PoolingMode, f.Indices, layout, grad, f.PerSampleWeights, -1, scaleGradByFreq: false, default);
    }
}
