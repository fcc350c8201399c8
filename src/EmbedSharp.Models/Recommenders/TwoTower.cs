using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Dense;
using EmbedSharp.Models.Losses;
using EmbedSharp.Optimizers;
using EmbedSharp.Tables;

namespace EmbedSharp.Models.Recommenders;

/// <summary>
/// One tower of a two-tower retrieval model: bags of id/feature embeddings (a
/// <see cref="TableCollection"/>) → MLP → unit-length vector.
/// </summary>
public sealed class Tower : IDisposable
{
    private float[]? _pooled, _hidden, _output, _gradHidden, _gradPooled;

    /// <summary>Builds the tower; the MLP maps the concatenated pooled features to <paramref name="outputDims"/>.</summary>
    public Tower(IEnumerable<TableConfig> tables, IReadOnlyList<int> hidden, int outputDims, ulong seed = 0)
    {
        Guard.NotNull("tower.create", tables);
        Guard.Positive("tower.create", outputDims);
        Tables = new TableCollection(tables, seed);
        Mlp = new Mlp(Tables.TotalDims, hidden, outputDims, ActivationKind.ReLU, seed: seed + 100);
        Normalize = new L2Normalize(outputDims);
    }

    /// <summary>The feature tables.</summary>
    public TableCollection Tables { get; }

    /// <summary>The MLP over the pooled features.</summary>
    public Mlp Mlp { get; }

    /// <summary>The final normalisation.</summary>
    public L2Normalize Normalize { get; }

    /// <summary>Width of the output vectors.</summary>
    public int OutputDims => Mlp.OutFeatures;

    private static Span<float> Buf(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
            buffer = new float[Math.Max(length, 1)];
        return buffer.AsSpan(0, length);
    }

    /// <summary>Unit vectors <c>[B, OutputDims]</c> for the bags of <paramref name="batch"/>.</summary>
    public float[] Encode(KeyedBatch batch)
    {
        Guard.NotNull("tower.encode", batch);
        var result = new float[batch.BatchSize * OutputDims];
        Forward(batch, training: false).CopyTo(result);
        return result;
    }

    internal Span<float> Forward(KeyedBatch batch, bool training)
    {
        int b = batch.BatchSize;
        Span<float> pooled = Buf(ref _pooled, b * Tables.TotalDims);
        Tables.Forward(batch, pooled);
        Span<float> hidden = Buf(ref _hidden, b * OutputDims), output = Buf(ref _output, b * OutputDims);
        Mlp.Forward(pooled, b, hidden, training);
        Normalize.Forward(hidden, b, output);
        return output;
    }

    internal void BackwardAndStep(KeyedBatch batch, ReadOnlySpan<float> gradOutput, IReadOnlyDictionary<string, SparseOptimizer> optimizers)
    {
        int b = batch.BatchSize;
        Span<float> gradHidden = Buf(ref _gradHidden, b * OutputDims), gradPooled = Buf(ref _gradPooled, b * Tables.TotalDims);
        Normalize.Backward(_hidden.AsSpan(0, b * OutputDims), _output.AsSpan(0, b * OutputDims), gradOutput, b, gradHidden);
        Mlp.Backward(_pooled.AsSpan(0, b * Tables.TotalDims), _hidden.AsSpan(0, b * OutputDims), gradHidden, b, gradPooled);
        Tables.BackwardAndStep(batch, gradPooled, optimizers);
    }

    /// <summary>Frees the tables.</summary>
    public void Dispose() => Tables.Dispose();
}

/// <summary>
/// Two-tower retrieval (YouTube's sampling-bias-corrected model, Yi et al. 2019): a user tower and an
/// item tower map their features to unit vectors; each batch of (user, item) pairs trains with
/// in-batch negatives — softmax over the batch's items of <c>s·u·v − log Q(item)</c> with the
/// log-Q correction and a learnable inverse temperature s (<see cref="InfoNceLoss"/>, one direction).
/// The item side exports as plain vectors for a search index (<see cref="Tower.Encode"/>).
/// </summary>
public sealed class TwoTower : IDisposable
{
    private float[]? _gradUsers, _gradItems;

    /// <summary>Joins two towers of the same output width.</summary>
    /// <exception cref="ArgumentException">Output widths differ.</exception>
    public TwoTower(Tower users, Tower items, double temperature = 0.1)
    {
        Guard.NotNull("two_tower.create", users);
        Guard.NotNull("two_tower.create", items);
        if (users.OutputDims != items.OutputDims)
            ThrowHelper.Argument("two_tower.create", nameof(items), $"the towers' output widths differ ({users.OutputDims} vs {items.OutputDims})");
        Users = users;
        Items = items;
        Loss = new InfoNceLoss(temperature, symmetric: false);
    }

    /// <summary>The user (query) tower.</summary>
    public Tower Users { get; }

    /// <summary>The item (candidate) tower.</summary>
    public Tower Items { get; }

    /// <summary>The in-batch softmax with its learnable temperature.</summary>
    public InfoNceLoss Loss { get; }

    /// <summary>Dense parameters of both MLPs and the temperature, for one dense optimizer.</summary>
    public IReadOnlyList<Parameter> DenseParameters => [.. Users.Mlp.Parameters, .. Items.Mlp.Parameters, Loss.LogScale];

    /// <summary>
    /// One step on B matched pairs (row b of <paramref name="users"/> with row b of <paramref name="items"/>);
    /// <paramref name="itemLogQ"/> gives each row's item log sampling probability (empty: no correction).
    /// Returns the batch's mean loss.
    /// </summary>
    /// <exception cref="ArgumentException">Batches of different sizes or wrong lengths.</exception>
    public double TrainStep(KeyedBatch users, KeyedBatch items, ReadOnlySpan<float> itemLogQ, DenseOptimizer denseOptimizer,
        IReadOnlyDictionary<string, SparseOptimizer> userOptimizers, IReadOnlyDictionary<string, SparseOptimizer> itemOptimizers)
    {
        const string op = "two_tower.train_step";
        Guard.NotNull(op, users);
        Guard.NotNull(op, items);
        Guard.NotNull(op, denseOptimizer);
        if (users.BatchSize != items.BatchSize)
            ThrowHelper.Argument(op, nameof(items), $"the batches have {users.BatchSize} and {items.BatchSize} rows; pairs must match");
        int b = users.BatchSize, d = Users.OutputDims;
        denseOptimizer.ZeroGrad();
        Span<float> u = Users.Forward(users, training: true);
        Span<float> v = Items.Forward(items, training: true);
        if (_gradUsers is null || _gradUsers.Length < b * d)
        {
            _gradUsers = new float[b * d];
            _gradItems = new float[b * d];
        }
        Span<float> gu = _gradUsers.AsSpan(0, b * d), gv = _gradItems!.AsSpan(0, b * d);
        double loss = Loss.Compute(u, v, b, d, gu, gv, itemLogQ);
        Users.BackwardAndStep(users, gu, userOptimizers);
        Items.BackwardAndStep(items, gv, itemOptimizers);
        denseOptimizer.Step();
        return loss;
    }

    /// <summary>
    /// The item side as a search table: row r is the item tower's unit vector for bag r of
    /// <paramref name="items"/> (e.g. every item id once), ready for <c>Search.ExactIndex</c> with the dot
    /// (= cosine) metric, or for any format writer. The caller owns (disposes) the table.
    /// </summary>
    public EmbeddingTable ExportItems(KeyedBatch items)
    {
        Guard.NotNull("two_tower.export_items", items);
        float[] vectors = Items.Encode(items);
        var table = new EmbeddingTable(items.BatchSize, Items.OutputDims);
        table.CopyFrom(vectors);
        return table;
    }

    /// <summary>Frees both towers.</summary>
    public void Dispose()
    {
        Users.Dispose();
        Items.Dispose();
    }
}
