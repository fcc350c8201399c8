using EmbedSharp.Numerics;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Tables;

/// <summary>EmbeddingBag against a naive dense reference on random CSR batches, plus its contracts.</summary>
public sealed class EmbeddingBagTests
{
    /// <summary>The documented semantics, written as plainly as possible.</summary>
    private static (float[] Output, float[] GradWeight, float[] GradPsw) Naive(PoolingMode mode, float[] w, int v, int dims,
        int[] ids, int[] offsets, float[]? psw, int pad, bool freq, float[] g)
    {
        int bags = offsets.Length;
        var output = new float[bags * dims];
        var gw = new float[v * dims];
        var gpsw = new float[ids.Length];
        var count = new int[v];
        foreach (int id in ids)
            count[id]++;
        for (int b = 0; b < bags; b++)
        {
            int start = offsets[b], stop = b + 1 < bags ? offsets[b + 1] : ids.Length;
            var kept = Enumerable.Range(start, stop - start).Where(j => ids[j] != pad).ToList();
            for (int d = 0; d < dims; d++)
            {
                if (kept.Count == 0)
                    continue;
                if (mode == PoolingMode.Max)
                {
                    int best = kept[0];
                    foreach (int j in kept)
                        if (w[ids[j] * dims + d] > w[ids[best] * dims + d])
                            best = j;
                    output[b * dims + d] = w[ids[best] * dims + d];
                    gw[ids[best] * dims + d] += g[b * dims + d];
                    continue;
                }
                double sum = 0;
                foreach (int j in kept)
                    sum += (psw?[j] ?? 1f) * (double)w[ids[j] * dims + d];
                output[b * dims + d] = (float)(mode == PoolingMode.Mean ? sum / kept.Count : sum);
                foreach (int j in kept)
                {
                    double s = (psw?[j] ?? 1f) * (mode == PoolingMode.Mean ? 1.0 / kept.Count : 1.0) / (freq ? count[ids[j]] : 1);
                    gw[ids[j] * dims + d] += (float)(g[b * dims + d] * s);
                }
            }
            foreach (int j in kept)
                gpsw[j] = (float)Enumerable.Range(0, dims).Sum(d => (double)g[b * dims + d] * w[ids[j] * dims + d]);
        }
        return (output, gw, gpsw);
    }

    private static void Close(float[] expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 + 1e-5 * Math.Abs(expected[i]), $"{what}[{i}]: {actual[i]} vs {expected[i]}");
    }

    [Theory]
    [InlineData(PoolingMode.Sum)]
    [InlineData(PoolingMode.Mean)]
    [InlineData(PoolingMode.Max)]
    public void RandomBatchesMatchNaiveReference(PoolingMode mode)
    {
        var rng = new SeededRandom(42 + (ulong)mode);
        foreach (int dims in new[] { 0, 1, 3, 7, 8, 17 })
        {
            for (int trial = 0; trial < 8; trial++)
            {
                int v = 1 + rng.NextInt(12);
                int? pad = trial % 2 == 0 ? null : rng.NextInt(v) - (trial % 4 == 1 ? v : 0);
                bool freq = mode != PoolingMode.Max && trial % 3 == 0;
                using var bag = new EmbeddingBag(v, dims, new EmbeddingBagOptions { Mode = mode, PaddingIdx = pad, ScaleGradByFreq = freq, Seed = (ulong)trial });
                var (ids, offsets) = RandomBags.Csr(rng, v, rng.NextInt(7), 6);
                float[]? psw = mode == PoolingMode.Sum && trial % 2 == 1 ? RandomBags.Floats(rng, ids.Length) : null;
                float[] w = bag.Weight.ToArray();
                float[] g = RandomBags.Floats(rng, offsets.Length * dims);
                var (output, gw, gpsw) = Naive(mode, w, v, dims, ids, offsets, psw, bag.PaddingIdx ?? -1, freq, g);

                Close(output, bag.Forward(ids, offsets, psw), "output");
                var gradPsw = psw is null ? null : new float[ids.Length];
                SparseGradient grad = bag.Backward(ids, offsets, g, psw, gradPsw);
                Close(gw, grad.ToDense(), "grad_weight");
                if (gradPsw is not null)
                    Close(gpsw, gradPsw, "grad_per_sample_weights");
                // Coalesced: ascending, distinct, no padding row.
                for (int i = 1; i < grad.Count; i++)
                    Assert.True(grad.Rows[i] > grad.Rows[i - 1]);
                if (bag.PaddingIdx is int p)
                    Assert.DoesNotContain(p, grad.Rows.ToArray());
            }
        }
    }

    [Fact]
    public void IncludeLastOffsetAndTwoDimensionalFormsAgree()
    {
        var rng = new SeededRandom(5);
        using var a = new EmbeddingBag(9, 4, new EmbeddingBagOptions { Mode = PoolingMode.Mean, Seed = 1 });
        using var b = new EmbeddingBag(9, 4, new EmbeddingBagOptions { Mode = PoolingMode.Mean, Seed = 1, IncludeLastOffset = true });
        int[] ids = Enumerable.Range(0, 12).Select(_ => rng.NextInt(9)).ToArray();
        float[] viaOffsets = a.Forward(ids, [0, 3, 6, 9]);
        Assert.Equal(viaOffsets, b.Forward(ids, [0, 3, 6, 9, 12]));
        var twoD = new float[16];
        a.Forward(ids, 4, 3, default, twoD);
        Assert.Equal(viaOffsets, twoD);
        var ids2 = new int[4, 3];
        Buffer.BlockCopy(ids, 0, ids2, 0, ids.Length * sizeof(int));
        Assert.Equal(viaOffsets, b.Forward(ids2)); // IncludeLastOffset does not apply to 2-D input
        float[] g = RandomBags.Floats(rng, 16);
        Assert.Equal(a.Backward(ids, [0, 3, 6, 9], g).ToDense(), b.Backward(ids, 4, 3, g).ToDense());
    }

    [Fact]
    public void InitIsStandardNormalWithZeroPaddingRow()
    {
        using var bag = new EmbeddingBag(1000, 64, new EmbeddingBagOptions { PaddingIdx = -1, Seed = 9 });
        Assert.Equal(999, bag.PaddingIdx);
        Assert.Equal(PoolingMode.Mean, bag.Mode);
        float[] w = bag.Weight.ToArray();
        Assert.All(w.AsSpan(999 * 64, 64).ToArray(), x => Assert.Equal(0f, x));
        float[] body = w[..(999 * 64)];
        double mean = body.Average(x => (double)x);
        double std = Math.Sqrt(body.Average(x => (x - mean) * (x - mean)));
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(std, 0.98, 1.02);
        Assert.InRange(body.Count(x => Math.Abs(x) < 1) / (double)body.Length, 0.67, 0.70);
    }

    [Fact]
    public void MaxNormRenormalisesLookedUpRowsOnlyAfterValidation()
    {
        using var bag = new EmbeddingBag(4, 2, new EmbeddingBagOptions { Mode = PoolingMode.Sum, MaxNorm = 1, Seed = 2 });
        bag.Weight.CopyFrom([3f, 4f, 0.3f, 0.4f, 6f, 8f, 1f, 0f]);
        // An out-of-range id anywhere: nothing is renormalised (PyTorch renormalises row 0 first).
        Assert.Throws<ArgumentOutOfRangeException>(() => bag.Forward([0, 9], [0]));
        Assert.Equal([3f, 4f, 0.3f, 0.4f, 6f, 8f, 1f, 0f], bag.Weight.ToArray());
        float[] output = bag.Forward([0, 1, 0, 3], [0, 2]);
        float[] w = bag.Weight.ToArray();
        Assert.Equal(1f, MathF.Sqrt(w[0] * w[0] + w[1] * w[1]), 5);
        Assert.Equal([0.3f, 0.4f, 6f, 8f, 1f, 0f], w[2..]); // row 1 under the limit, row 2 not looked up, row 3 exactly at it
        Assert.Equal(w[0] + 0.3f, output[0], 6);
    }

    [Fact]
    public void InvalidOptionsAreRejectedWithTheirNames()
    {
        Assert.Contains("MaxNorm", Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddingBag(3, 2, new EmbeddingBagOptions { MaxNorm = 0 })).Message);
        Assert.Contains("normType", Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddingBag(3, 2, new EmbeddingBagOptions { MaxNorm = 1, NormType = 0 })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddingBag(3, 2, new EmbeddingBagOptions { MaxNorm = double.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddingBag(-1, 2));
        using var bag = new EmbeddingBag(3, 2, new EmbeddingBagOptions { Seed = 1 });
        var ex = Assert.Throws<ArgumentException>(() => bag.Forward([0, 1], [0], default, new float[1]));
        Assert.Contains("[embedding_bag.forward]", ex.Message);
        Assert.Throws<ArgumentException>(() => bag.Backward([0, 1], [0], new float[3]));
        Assert.Throws<ArgumentException>(() => bag.Forward([0, 1], [0, 1, 3]));
    }

    [Fact]
    public void HalfAndBFloat16StorageMatchFloat32OnRepresentableValues()
    {
        foreach (DType dtype in new[] { DType.Float16, DType.BFloat16 })
        {
            var rng = new SeededRandom(3);
            using var f32 = new EmbeddingBag(10, 9, new EmbeddingBagOptions { Mode = PoolingMode.Max, Seed = 1 });
            using var low = new EmbeddingBag(10, 9, new EmbeddingBagOptions { Mode = PoolingMode.Max, Seed = 1, DType = dtype });
            float[] w = RandomBags.Lattice(rng, 90); // multiples of 1/64 up to 2: exact in both formats
            f32.Weight.CopyFrom(w);
            low.Weight.CopyFrom(w);
            var (ids, offsets) = RandomBags.Csr(rng, 10, 6, 5);
            Assert.Equal(f32.Forward(ids, offsets), low.Forward(ids, offsets));
        }
    }
}
