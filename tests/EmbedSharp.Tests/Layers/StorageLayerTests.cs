using EmbedSharp.Initializers;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Quantization;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;
using EmbedSharp.Tests.Tables;

namespace EmbedSharp.Tests.Layers;

/// <summary>One layer per idea, specialised by storage; one options family; TableCollection's summed-gradient output.</summary>
public sealed class StorageLayerTests
{
    private static QuantizedTable Quantized(int rows, int dims, int bits, ulong seed)
    {
        using var dense = new Embedding(rows, dims, new EmbeddingOptions { Seed = seed, Initializer = Initializer.Uniform(-1, 1) });
        return QuantizedTable.Quantize(dense.Weight, 32, bits);
    }

    /// <summary>A dense bag whose weights are the dequantized table.</summary>
    private static EmbeddingBag DenseTwin(QuantizedTable q, EmbeddingBagOptions options)
    {
        var bag = new EmbeddingBag(q.NumEmbeddings, q.Dims, options);
        using EmbeddingTable w = q.Dequantize();
        bag.Weight.CopyFrom(w);
        return bag;
    }

    [Theory]
    [InlineData(PoolingMode.Sum, 4, false, null)]
    [InlineData(PoolingMode.Sum, 4, true, null)]
    [InlineData(PoolingMode.Sum, 8, false, 3)]
    [InlineData(PoolingMode.Sum, 3, false, null)]
    [InlineData(PoolingMode.Max, 4, false, null)]
    [InlineData(PoolingMode.Max, 8, false, 2)]
    [InlineData(PoolingMode.Mean, 4, false, null)]
    [InlineData(PoolingMode.Mean, 8, false, 5)]
    public void Bag_OverQuantizedTable_EqualsTheBagOverItsDequantizedTable(PoolingMode mode, int bits, bool weighted, int? padding)
    {
        // dims 96 = 3 groups of 32, a multiple of 16 (the register-accumulating dense kernel) and of the 4/8-bit SIMD rows.
        QuantizedTable q = Quantized(40, 96, bits, 5);
        var options = new EmbeddingBagOptions { Mode = mode, PaddingIdx = padding };
        using var quantized = EmbeddingBag.FromQuantized(q, options);
        using var dense = DenseTwin(q, options);
        Assert.Same(q, quantized.Rows);
        var rng = new SeededRandom(17);
        for (int trial = 0; trial < 8; trial++)
        {
            var (ids, offsets) = RandomBags.Csr(rng, 40, 1 + rng.NextInt(9), 12); // empty bags, repeats
            float[] w = weighted ? RandomBags.Floats(rng, ids.Length) : [];
            float[] a = new float[offsets.Length * 96], b = new float[offsets.Length * 96];
            quantized.Forward(ids, offsets, w, a);
            dense.Forward(ids, offsets, w, b);
            if (mode == PoolingMode.Mean)
            {
                // The quantized mean divides the sum by the count (its conformance bits); the dense one multiplies
                // by 1/count: the same up to one rounding.
                for (int i = 0; i < a.Length; i++)
                    Assert.True(Math.Abs(a[i] - b[i]) <= 1e-6f * Math.Max(1f, Math.Abs(b[i])), $"[{i}] {a[i]} vs {b[i]}");
            }
            else
            {
                Assert.Equal(b, a);
            }
        }
    }

    [Theory]
    [InlineData(4, 1f)]
    [InlineData(8, 2.5f)]
    [InlineData(3, 1f)]
    public void Embedding_OverQuantizedTable_EqualsTheLayerOverItsDequantizedTable(int bits, float scale)
    {
        QuantizedTable q = Quantized(33, 64, bits, 8);
        using EmbeddingTable weights = q.Dequantize();
        var options = new EmbeddingOptions { Scale = scale };
        using var quantized = Embedding.FromQuantized(q, options);
        using var dense = Embedding.FromPretrained(weights, freeze: false, options);
        var facade = new QuantizedEmbedding(q);
        Assert.Same(q, quantized.Rows);
        int[] ids = [0, 32, 5, 5, 17, 1, 31];
        float[] a = new float[ids.Length * 64], b = new float[ids.Length * 64], c = new float[ids.Length * 64];
        quantized.Forward(ids, a);
        dense.Forward(ids, b);
        Assert.Equal(b, a);
        if (scale == 1f)
        {
            facade.Forward(ids, c);
            Assert.Equal(b, c);
        }
        float[] x = RandomBags.Floats(new SeededRandom(3), 2 * 64);
        float[] ya = new float[2 * 33], yb = new float[2 * 33];
        quantized.AsLinear(x, ya);
        dense.AsLinear(x, yb);
        Assert.Equal(ya, Linear(facade, x));
        for (int i = 0; i < ya.Length; i++)
            Assert.True(Math.Abs(ya[i] - yb[i]) <= 1e-4f, $"[{i}] {ya[i]} vs {yb[i]}");
        Assert.True(quantized.Frozen);
        Assert.Throws<InvalidOperationException>(() => quantized.Backward(ids, new float[ids.Length * 64]));
        Assert.Throws<InvalidOperationException>(() => quantized.Unfreeze());
    }

    private static float[] Linear(QuantizedEmbedding layer, float[] x)
    {
        var y = new float[x.Length / layer.Dims * layer.NumEmbeddings];
        layer.AsLinear(x, y);
        return y;
    }

    [Fact]
    public void Bag_OverQuantizedTable_IsReadOnly()
    {
        using var bag = EmbeddingBag.FromQuantized(Quantized(8, 32, 4, 1), new EmbeddingBagOptions { Mode = PoolingMode.Sum });
        var ex = Assert.Throws<InvalidOperationException>(() => bag.Backward([1, 2], [0], new float[32]));
        Assert.Contains("quantized", ex.Message);
        Assert.Throws<InvalidOperationException>(() => bag.Weight);
        Assert.Throws<NotSupportedException>(() => EmbeddingBag.FromQuantized(Quantized(8, 32, 4, 1), new EmbeddingBagOptions { MaxNorm = 1 }));
    }

    [Fact]
    public void Embedding_AndQuantizedEmbedding_ReadTheSameRowsThroughIEmbeddingRows()
    {
        QuantizedTable q = Quantized(30, 64, 4, 3);
        using EmbeddingTable dense = q.Dequantize();
        int[] ids = [3, 0, 29, 3, 17];
        foreach (IEmbeddingRows rows in new IEmbeddingRows[] { q, dense })
        {
            Assert.Equal(30, rows.NumEmbeddings);
            Assert.Equal(64, rows.Dims);
        }
        float[] a = new float[ids.Length * 64], b = new float[ids.Length * 64];
        ((IEmbeddingRows)q).Gather(ids, a);
        ((IEmbeddingRows)dense).Gather(ids, b);
        Assert.Equal(b, a);
        float[] ra = new float[64], rb = new float[64];
        q.ReadRow(17, ra);
        dense.ReadRow(17, rb);
        Assert.Equal(rb, ra);
        Assert.Equal(b.AsSpan(4 * 64, 64).ToArray(), ra);

        var rng = new SeededRandom(4);
        float[] x = RandomBags.Floats(rng, 3 * 64);
        float[] ya = new float[3 * 30], yb = new float[3 * 30];
        ((IEmbeddingRows)q).MatMulTransposed(x, 3, ya);
        ((IEmbeddingRows)dense).MatMulTransposed(x, 3, yb);
        for (int i = 0; i < ya.Length; i++)
            Assert.True(Math.Abs(ya[i] - yb[i]) <= 1e-4f, $"[{i}] {ya[i]} vs {yb[i]}");
        Assert.Throws<ArgumentException>(() => dense.MatMulTransposed(x, 2, yb));
    }

    [Theory]
    [InlineData(8, 16)]
    [InlineData(4, 24)]
    [InlineData(2, 12)]
    public void RowwiseQuantizedTable_IsAnEmbeddingRowsSource(int bits, int dims)
    {
        using var dense = new Embedding(21, dims, new EmbeddingOptions { Seed = 2, Initializer = Initializer.Uniform(-1, 1) });
        IEmbeddingRows rows = RowwiseQuantizedTable.Quantize(dense.Weight, bits);
        var q = (RowwiseQuantizedTable)rows;
        using EmbeddingTable decoded = q.Dequantize();
        int[] ids = [20, 0, 7, 7, 13];
        float[] a = new float[ids.Length * dims], b = new float[ids.Length * dims];
        rows.Gather(ids, a);
        ((IEmbeddingRows)decoded).Gather(ids, b);
        Assert.Equal(b, a);
        var row = new float[dims];
        rows.ReadRow(13, row);
        Assert.Equal(b.AsSpan(4 * dims, dims).ToArray(), row);
        float[] x = RandomBags.Floats(new SeededRandom(5), 3 * dims);
        float[] ya = new float[3 * 21], yb = new float[3 * 21];
        rows.MatMulTransposed(x, 3, ya);
        decoded.MatMulTransposed(x, 3, yb);
        for (int i = 0; i < ya.Length; i++)
            Assert.True(Math.Abs(ya[i] - yb[i]) <= 1e-4f, $"[{i}] {ya[i]} vs {yb[i]}");
        Assert.Throws<ArgumentOutOfRangeException>(() => rows.Gather([21], new float[dims]));
    }

    [Fact]
    public void EmbeddingBag_IsDeterministicByDefault_WithEmbeddingsSeedRuleAndInitializer()
    {
        using var a = new EmbeddingBag(50, 8);
        using var b = new EmbeddingBag(50, 8);
        Assert.Equal(0UL, a.Seed);
        Assert.Equal(a.Weight.ToArray(), b.Weight.ToArray());
        // The same seed and initializer give the same weights as an Embedding.
        using var e = new Embedding(50, 8, new EmbeddingOptions { Seed = 7, Initializer = Initializer.XavierUniform() });
        using var c = new EmbeddingBag(50, 8, new EmbeddingBagOptions { Seed = 7, Initializer = Initializer.XavierUniform() });
        Assert.Equal(e.Weight.ToArray(), c.Weight.ToArray());
        Assert.NotEqual(a.Weight.ToArray(), c.Weight.ToArray());
        EmbeddingOptions baseOptions = new EmbeddingBagOptions { MaxNorm = 1.5, PaddingIdx = -1 };
        using var d = new Embedding(4, 2, baseOptions);
        Assert.Equal(3, d.PaddingIdx);
        Assert.Equal(1.5, d.MaxNorm);
    }

    [Fact]
    public void EmbeddingBag_ScaleAndFrozenOptions()
    {
        Assert.Throws<NotSupportedException>(() => new EmbeddingBag(4, 2, new EmbeddingBagOptions { Scale = 2f }));
        using var bag = new EmbeddingBag(4, 2, new EmbeddingBagOptions { Frozen = true });
        Assert.Throws<InvalidOperationException>(() => bag.Backward([1], [0], new float[2]));
    }

    private static TableCollection Collection() => new(
    [
        new TableConfig("users", 20, 4, ["user"], PoolingMode.Sum),
        new TableConfig("items", 30, 3, ["item", "history"], PoolingMode.Mean),
        new TableConfig("genres", 9, 6, ["genre"], PoolingMode.Mean),
        new TableConfig("tags", 7, 5, ["tag"], PoolingMode.Max),
    ]);

    private static KeyedBatch Batch(SeededRandom rng, int batch)
    {
        var kb = new KeyedBatch(batch);
        foreach (var (feature, rows) in new[] { ("user", 20), ("item", 30), ("history", 30), ("genre", 9), ("tag", 7) })
        {
            var (ids, starts) = RandomBags.Csr(rng, rows, batch, 5);
            kb.Add(feature, ids, [.. starts, ids.Length], feature == "user" ? RandomBags.Floats(rng, ids.Length) : null);
        }
        return kb;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TableCollection_SummedGradientsAppliedByTheOptimizer_EqualTheFusedStepBitForBit(bool adam)
    {
        using var fused = Collection();
        using var store = Collection(); // the default seed is fixed: the two start equal
        Assert.Equal(fused["users"].ToArray(), store["users"].ToArray());
        SparseOptimizer Make(EmbeddingTable t) => adam ? FusedSparseBackward.Create(t, new Adam(0.05)) : FusedSparseBackward.Create(t, new Sgd(0.3, momentum: 0.9));
        var fusedOpts = fused.Configs.ToDictionary(c => c.Name, c => Make(fused[c.Name]));
        var storeOpts = store.Configs.ToDictionary(c => c.Name, c => Make(store[c.Name]));
        var rng = new SeededRandom(21);
        for (int step = 0; step < 4; step++)
        {
            KeyedBatch batch = Batch(rng, 7);
            float[] g = RandomBags.Floats(rng, 7 * fused.TotalDims);
            float[] before = store["users"].ToArray();
            IReadOnlyDictionary<string, SparseGradient> summed = store.SummedGradients(batch, g);
            Assert.Equal(before, store["users"].ToArray()); // not applied
            IReadOnlyDictionary<string, SparseGradient> reference = store.Backward(batch, g);
            foreach (var (name, gradient) in summed)
            {
                Assert.True(gradient.Rows.ToArray().Order().SequenceEqual(gradient.Rows.ToArray().Distinct()), "unique ids, ascending");
                Assert.Equal(reference[name].Rows.ToArray(), gradient.Rows.ToArray());
                Assert.Equal(reference[name].Values.ToArray(), gradient.Values.ToArray());
            }
            fused.BackwardAndStep(batch, g, fusedOpts);
            foreach (var (name, gradient) in summed)
                storeOpts[name].Step(gradient);
        }
        foreach (TableConfig c in fused.Configs)
            Assert.Equal(fused[c.Name].ToArray(), store[c.Name].ToArray());
        Assert.Equal(["users"], store.SummedGradients(Batch(rng, 2), new float[2 * store.TotalDims], ["users"]).Keys);
        Assert.Throws<ArgumentException>(() => store.SummedGradients(Batch(rng, 2), new float[2 * store.TotalDims], ["nope"]));
        foreach (var o in fusedOpts.Values.Concat(storeOpts.Values))
            o.Dispose();
    }

    [Fact]
    public void TableCollection_TablesAreEmbeddingBags()
    {
        using var c = Collection();
        EmbeddingBag items = c.Bag("items");
        Assert.Equal(PoolingMode.Mean, items.Mode);
        Assert.True(items.IncludeLastOffset);
        Assert.Same(c["items"], items.Weight);
    }
}
