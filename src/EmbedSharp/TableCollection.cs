using System.Buffers;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp;

/// <summary>
/// Many pooled tables looked up in one call: FBGEMM's table-batched embedding bags, TorchRec's
/// <c>EmbeddingBagCollection</c>. Each <see cref="TableConfig"/> names a table with its own
/// NumEmbeddings, Dims and pooling, and the features that read it; a <see cref="KeyedBatch"/> gives B
/// bags per feature, and the output holds one pooled vector per feature per bag.
/// </summary>
/// <remarks>
/// <para>Output layout (FBGEMM's and TorchRec's <c>KeyedTensor</c>): row-major <c>[B, TotalDims]</c>, bag b's
/// row being the features' pooled vectors side by side in <see cref="FeatureNames"/> order;
/// <see cref="FeatureOffset"/> gives where each starts. Tables start uniform in
/// <c>[−√(1/NumEmbeddings), √(1/NumEmbeddings)]</c>, TorchRec's default, drawn from one stream seeded by
/// <c>seed</c> (0 by default, so a collection is the same on every run, like every layer).</para>
/// <para>A layer like the others: each table is an <see cref="EmbeddingBag"/> (<see cref="Bag"/>) that every
/// feature reading it pools through, and the backward pass (<see cref="Backward"/>), the fused step of all
/// tables in one pass (<see cref="BackwardAndStep"/>) and the summed gradient a remote store applies itself
/// (<see cref="SummedGradients"/>) share one grouping of each table's rows. <see cref="TableConfig"/> and
/// <see cref="KeyedBatch"/> stay in <c>Tables/</c> as plain data.</para>
/// </remarks>
public sealed partial class TableCollection : IDisposable
{
    private readonly Dictionary<string, EmbeddingBag> _tables = new(StringComparer.Ordinal);
    private readonly (string Feature, TableConfig Config, int Offset)[] _features;
    private readonly Dictionary<string, int> _featureIndex = new(StringComparer.Ordinal);

    /// <summary>Allocates and initialises every table (seed 0 unless given).</summary>
    /// <exception cref="ArgumentException">No tables, a repeated table name, or a feature claimed by two tables.</exception>
    public TableCollection(IEnumerable<TableConfig> configs, ulong? seed = null)
    {
        const string op = "table_collection.create";
        Guard.NotNull(op, configs);
        Configs = [.. configs];
        if (Configs.Count == 0)
            ThrowHelper.Argument(op, nameof(configs), "at least one table is needed");
        var features = new List<(string, TableConfig, int)>();
        int offset = 0;
        foreach (TableConfig c in Configs)
        {
            Guard.NotNull(op, c, "config");
            if (_tables.ContainsKey(c.Name))
                ThrowHelper.Argument(op, nameof(configs), $"table name '{c.Name}' is used twice");
            _tables.Add(c.Name, null!);
            foreach (string f in c.FeatureNames)
            {
                if (!_featureIndex.TryAdd(f, features.Count))
                    ThrowHelper.Argument(op, nameof(configs), $"feature '{f}' is claimed by two tables");
                features.Add((f, c, offset));
                offset += c.Dims;
            }
        }
        _features = [.. features];
        TotalDims = offset;
        FeatureNames = [.. _features.Select(x => x.Feature)];
        var rng = new SeededRandom(seed ?? 0);
        foreach (TableConfig c in Configs)
        {
            var table = new EmbeddingTable(c.NumEmbeddings, c.Dims, c.DType);
            float bound = c.NumEmbeddings == 0 ? 0f : (float)Math.Sqrt(1.0 / c.NumEmbeddings);
            var row = new float[c.Dims];
            for (int r = 0; r < c.NumEmbeddings; r++)
            {
                for (int d = 0; d < c.Dims; d++)
                    row[d] = (2 * rng.NextSingle() - 1) * bound;
                table.WriteRowUnchecked(r, row);
            }
            _tables[c.Name] = EmbeddingBag.Over(table, new EmbeddingBagOptions { Mode = c.PoolingMode, DType = c.DType, IncludeLastOffset = true });
        }
    }

    /// <summary>The table configurations, in order.</summary>
    public IReadOnlyList<TableConfig> Configs { get; }

    /// <summary>All features, in output order (tables in order, then each table's features).</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>Width of one output row: the sum of every feature's Dims.</summary>
    public int TotalDims { get; }

    /// <summary>The table named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such table.</exception>
    public EmbeddingTable this[string name] => Bag(name).Weight;

    /// <summary>The bag layer of the table named <paramref name="name"/> (its pooling, its rows).</summary>
    /// <exception cref="KeyNotFoundException">No such table.</exception>
    public EmbeddingBag Bag(string name) =>
        _tables.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException(ThrowHelper.Format("table_collection", $"no table named '{name}' (tables: {string.Join(", ", _tables.Keys)})"));

    /// <summary>Where feature <paramref name="feature"/>'s pooled vector starts within an output row.</summary>
    public int FeatureOffset(string feature) => _features[IndexOf("table_collection", feature)].Offset;

    /// <summary>
    /// Pools every feature of <paramref name="batch"/> into <paramref name="destination"/>, <c>[B, TotalDims]</c> row-major.
    /// </summary>
    /// <remarks>Each feature effectively computes its table's pooled lookup (see <see cref="PoolingMode"/>); empty bags give zeros.</remarks>
    /// <exception cref="ArgumentException">The batch lacks a feature or has an unknown one; the destination is too short.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside its table.</exception>
    /// <exception cref="NotSupportedException">Per-sample weights on a feature whose table does not sum.</exception>
    public void Forward(KeyedBatch batch, Span<float> destination)
    {
        const string op = "table_collection.forward";
        Validate(op, batch);
        int bags = batch.BatchSize;
        Guard.MinLength(op, destination.Length, (long)bags * TotalDims, $"B × TotalDims = {bags} × {TotalDims}");
        foreach (var (feature, config, offset) in _features)
        {
            batch.TryGet(feature, out var f);
            int dims = config.Dims;
            float[] pooled = ArrayPool<float>.Shared.Rent(Math.Max(bags * dims, 1));
            try
            {
                using var layout = BagBatch.FromOffsets(op, config.NumEmbeddings, f.Indices, f.Offsets, includeLastOffset: true);
                _tables[config.Name].ForwardCore(op, f.Indices, layout, pooled, f.PerSampleWeights);
                for (int b = 0; b < bags; b++)
                    pooled.AsSpan(b * dims, dims).CopyTo(destination.Slice(b * TotalDims + offset, dims));
            }
            finally
            {
                ArrayPool<float>.Shared.Return(pooled);
            }
        }
    }

    /// <summary>Allocating form of <see cref="Forward(KeyedBatch, Span{float})"/>: returns <c>[B, TotalDims]</c>.</summary>
    public float[] Forward(KeyedBatch batch)
    {
        Guard.NotNull("table_collection.forward", batch);
        var result = new float[(long)batch.BatchSize * TotalDims];
        Forward(batch, result);
        return result;
    }

    /// <summary>The features in output order with their table and output offset (for the backward pass).</summary>
    internal ReadOnlySpan<(string Feature, TableConfig Config, int Offset)> FeatureSlots => _features;

    /// <summary>The table of <paramref name="config"/>.</summary>
    internal EmbeddingTable TableOf(TableConfig config) => _tables[config.Name].Weight;

    /// <summary>Whether a table of that name exists, and which.</summary>
    internal bool TryGetTable(string name, out EmbeddingTable table)
    {
        bool found = _tables.TryGetValue(name, out var bag);
        table = found ? bag!.Weight : null!;
        return found;
    }

    /// <summary>Checks that <paramref name="batch"/> has exactly this collection's features, valid offsets and ids.</summary>
    internal void Validate(string op, KeyedBatch batch)
    {
        Guard.NotNull(op, batch);
        foreach (string f in batch.Features)
            IndexOf(op, f);
        foreach (var (feature, config, _) in _features)
        {
            if (!batch.TryGet(feature, out var f))
                ThrowHelper.Argument(op, nameof(batch), $"the batch has no bags for feature '{feature}' (features: {string.Join(", ", FeatureNames)})");
            if (f.PerSampleWeights is not null && config.PoolingMode != PoolingMode.Sum)
                ThrowHelper.NotSupported(op, $"feature '{feature}' has perSampleWeights but table '{config.Name}' pools with {config.PoolingMode}; only Sum supports them");
            using var layout = BagBatch.FromOffsets(op, config.NumEmbeddings, f.Indices, f.Offsets, includeLastOffset: true);
        }
    }

    private int IndexOf(string op, string feature)
    {
        if (feature is not null && _featureIndex.TryGetValue(feature, out int i))
            return i;
        ThrowHelper.Argument(op, nameof(feature), $"unknown feature '{feature}' (features: {string.Join(", ", FeatureNames)})");
        return -1;
    }

    /// <summary>Frees every table.</summary>
    public void Dispose()
    {
        foreach (var t in _tables.Values)
            t?.Dispose();
    }
}
