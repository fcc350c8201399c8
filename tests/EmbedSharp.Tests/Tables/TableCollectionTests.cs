using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Tables;

public sealed class TableCollectionTests
{
    private static TableCollection Collection() => new(
    [
        new TableConfig("users", 20, 4, ["user"], PoolingMode.Sum),
        new TableConfig("items", 30, 3, ["item", "history"], PoolingMode.Mean),
        new TableConfig("tags", 7, 5, ["tag"], PoolingMode.Max),
    ], seed: 11);

    private static KeyedBatch Batch(SeededRandom rng, int batch)
    {
        var kb = new KeyedBatch(batch);
        foreach (var (feature, rows) in new[] { ("user", 20), ("item", 30), ("history", 30), ("tag", 7) })
        {
            var (ids, starts) = RandomBags.Csr(rng, rows, batch, 4);
            kb.Add(feature, ids, [.. starts, ids.Length], feature == "user" ? RandomBags.Floats(rng, ids.Length) : null);
        }
        return kb;
    }

    [Fact]
    public void ForwardEqualsPerFeaturePooledLookups()
    {
        var rng = new SeededRandom(1);
        using var tc = Collection();
        Assert.Equal(["user", "item", "history", "tag"], tc.FeatureNames);
        Assert.Equal(4 + 3 + 3 + 5, tc.TotalDims);
        KeyedBatch batch = Batch(rng, 5);
        float[] output = tc.Forward(batch);
        foreach (TableConfig config in tc.Configs)
        {
            float[] table = tc[config.Name].ToArray();
            foreach (string feature in config.FeatureNames)
            {
                batch.TryGet(feature, out var f);
                var expected = new float[5 * config.Dims];
                Kernels.PoolBagsReference((PoolRule)(int)config.PoolingMode, table, config.Dims, f.Indices, f.Offsets[..^1], f.Indices.Length,
                    f.PerSampleWeights, -1, expected, default);
                int offset = tc.FeatureOffset(feature);
                for (int b = 0; b < 5; b++)
                    Assert.Equal(expected.AsSpan(b * config.Dims, config.Dims).ToArray(), output.AsSpan(b * tc.TotalDims + offset, config.Dims).ToArray());
            }
        }
    }

    [Fact]
    public void SharedTableGradientsAddAcrossFeatures()
    {
        var rng = new SeededRandom(2);
        using var tc = Collection();
        KeyedBatch batch = Batch(rng, 4);
        float[] g = RandomBags.Floats(rng, 4 * tc.TotalDims);
        IReadOnlyDictionary<string, SparseGradient> grads = tc.Backward(batch, g);
        Assert.Equal(["items", "tags", "users"], grads.Keys.Order(StringComparer.Ordinal));

        // items = item + history, each a mean bag over the same table: compare with two EmbeddingBags.
        using var bag = new EmbeddingBag(30, 3, new EmbeddingBagOptions { Mode = PoolingMode.Mean, IncludeLastOffset = true, Seed = 1 });
        bag.Weight.CopyFrom(tc["items"]);
        var expected = new float[30 * 3];
        foreach (string feature in new[] { "item", "history" })
        {
            batch.TryGet(feature, out var f);
            int offset = tc.FeatureOffset(feature);
            float[] gf = Enumerable.Range(0, 4).SelectMany(b => g.AsSpan(b * tc.TotalDims + offset, 3).ToArray()).ToArray();
            bag.Backward(f.Indices, f.Offsets, gf).AddTo(expected);
        }
        Assert.Equal(expected, grads["items"].ToDense());
    }

    [Fact]
    public void BackwardAndStepUpdatesOnlyTablesWithOptimizers()
    {
        var rng = new SeededRandom(3);
        using var tc = Collection();
        KeyedBatch batch = Batch(rng, 3);
        float[] g = RandomBags.Floats(rng, 3 * tc.TotalDims);
        float[] tags = tc["tags"].ToArray();
        float[] users = tc["users"].ToArray();
        var opt = FusedSparseBackward.Create(tc["users"], new Sgd(0.5));
        SparseGradient expected = tc.Backward(batch, g)["users"];
        tc.BackwardAndStep(batch, g, new Dictionary<string, SparseOptimizer> { ["users"] = opt });
        Assert.Equal(tags, tc["tags"].ToArray());
        float[] after = tc["users"].ToArray();
        for (int i = 0; i < expected.Count; i++)
            for (int d = 0; d < 4; d++)
            {
                int r = expected.Rows[i];
                Assert.Equal(users[r * 4 + d] + -0.5f * expected.GetRow(i)[d], after[r * 4 + d]);
            }
        Assert.Throws<ArgumentException>(() => tc.BackwardAndStep(batch, g, new Dictionary<string, SparseOptimizer> { ["tags"] = opt }));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FusedStepEqualsPerTableStepsBitForBit(bool adam)
    {
        // Two identical collections: one steps through the fused BackwardAndStep, the other through
        // Backward (materialised gradients) then one Step per table. Repeated ids, empty bags, sum/mean/max
        // and a shared table are all in the batch; several steps so optimizer state matters.
        using var fused = Collection();
        using var reference = Collection();
        SparseOptimizer Make(EmbeddingTable t) => adam ? FusedSparseBackward.Create(t, new Adam(0.05)) : FusedSparseBackward.Create(t, new Sgd(0.3, momentum: 0.9));
        var fusedOpts = fused.Configs.ToDictionary(c => c.Name, c => Make(fused[c.Name]));
        var refOpts = reference.Configs.ToDictionary(c => c.Name, c => Make(reference[c.Name]));
        var rng = new SeededRandom(9);
        for (int step = 0; step < 4; step++)
        {
            KeyedBatch batch = Batch(rng, 6);
            float[] g = RandomBags.Floats(rng, 6 * fused.TotalDims);
            fused.BackwardAndStep(batch, g, fusedOpts);
            foreach (var (name, gradient) in reference.Backward(batch, g))
                refOpts[name].Step(gradient);
        }
        foreach (TableConfig c in fused.Configs)
            Assert.Equal(reference[c.Name].ToArray(), fused[c.Name].ToArray());
        foreach (var o in fusedOpts.Values.Concat(refOpts.Values))
            o.Dispose();
    }

    [Fact]
    public void BatchesAreValidated()
    {
        using var tc = Collection();
        var kb = new KeyedBatch(1).Add("user", [1], [0, 1]);
        Assert.Contains("feature 'item'", Assert.Throws<ArgumentException>(() => tc.Forward(kb)).Message);
        Assert.Throws<ArgumentException>(() => new KeyedBatch(2).Add("user", [1], [0, 1]));
        Assert.Throws<ArgumentException>(() => new KeyedBatch(1).Add("user", [1, 2], [0, 1]));
        var bad = new KeyedBatch(1).Add("user", [20], [0, 1]).Add("item", [], [0, 0]).Add("history", [], [0, 0]).Add("tag", [], [0, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => tc.Forward(bad));
        var unknown = new KeyedBatch(1).Add("user", [], [0, 0]).Add("item", [], [0, 0]).Add("history", [], [0, 0]).Add("tag", [], [0, 0]).Add("zzz", [], [0, 0]);
        Assert.Contains("zzz", Assert.Throws<ArgumentException>(() => tc.Forward(unknown)).Message);
        Assert.Throws<ArgumentException>(() => new TableCollection([new TableConfig("a", 2, 2, ["f"]), new TableConfig("b", 2, 2, ["f"])]));
        Assert.Equal([0, 2, 2, 5], KeyedBatch.OffsetsFromLengths([2, 0, 3]));
    }
}
