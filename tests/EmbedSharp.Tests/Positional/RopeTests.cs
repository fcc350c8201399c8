using EmbedSharp.Numerics;
using EmbedSharp.Positional;

namespace EmbedSharp.Tests.Positional;

public sealed class RopeTests
{
    private static float[] Random(SeededRandom rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
            a[i] = (float)rng.NextNormal();
        return a;
    }

    [Theory]
    [InlineData(RopeConvention.RotateHalf)]
    [InlineData(RopeConvention.Interleaved)]
    public void Fast_path_equals_scalar_reference_on_awkward_sizes(RopeConvention conv)
    {
        var rng = new SeededRandom(11);
        foreach (int headDim in new[] { 1, 2, 3, 4, 7, 8, 10, 16, 34, 64, 130 })
        foreach (int rotary in new[] { 0, 2, headDim - headDim % 2, 6 })
        {
            if (rotary > headDim)
                continue;
            foreach (int seq in new[] { 0, 1, 7 })
            foreach (int blocks in new[] { 0, 1, 3 })
            {
                double[] pos = Enumerable.Range(0, seq).Select(s => (double)(s * 3 + 1)).ToArray();
                double[] inv = new double[rotary / 2];
                if (rotary > 0)
                    Rope.InverseFrequencies(rotary, 10000, inv);
                float[] x = Random(rng, blocks * seq * headDim);
                float[] fast = new float[x.Length], reference = new float[x.Length];
                Rope.Apply(x, headDim, pos, inv, conv, fast, 1.25f);
                Rope.ApplyReference(x, headDim, pos, inv, conv, reference, 1.25f);
                Assert.Equal(reference, fast);
                // In place gives the same result.
                float[] inPlace = (float[])x.Clone();
                Rope.Apply(inPlace, headDim, pos, inv, conv, inPlace, 1.25f);
                Assert.Equal(reference, inPlace);
            }
        }
    }

    [Theory]
    [InlineData(RopeConvention.RotateHalf, 8, 8)]
    [InlineData(RopeConvention.Interleaved, 8, 8)]
    [InlineData(RopeConvention.RotateHalf, 16, 10)]
    [InlineData(RopeConvention.Interleaved, 64, 64)]
    public void Dot_product_depends_only_on_the_offset(RopeConvention conv, int headDim, int rotary)
    {
        // Property: <rope(q, m), rope(k, n)> = <rope(q, m + s), rope(k, n + s)> for random q, k, m, n, s.
        var rng = new SeededRandom(5);
        var layer = new RotaryEmbedding(headDim, new RopeOptions { Convention = conv, RotaryDim = rotary });
        for (int trial = 0; trial < 50; trial++)
        {
            float[] q = Random(rng, headDim), k = Random(rng, headDim);
            int m = rng.NextInt(200), n = rng.NextInt(200), s = rng.NextInt(300);
            double a = RotatedDot(layer, q, k, m, n), b = RotatedDot(layer, q, k, m + s, n + s);
            Assert.True(Math.Abs(a - b) <= 2e-4 * Math.Max(1, Math.Abs(a)), $"m={m} n={n} s={s}: {a} vs {b}");
        }
    }

    private static double RotatedDot(RotaryEmbedding layer, float[] q, float[] k, int m, int n)
    {
        float[] qr = (float[])q.Clone(), kr = (float[])k.Clone();
        layer.Apply(qr, [m]);
        layer.Apply(kr, [n]);
        double dot = 0;
        for (int i = 0; i < qr.Length; i++)
            dot += (double)qr[i] * kr[i];
        return dot;
    }

    [Fact]
    public void Rotation_preserves_the_norm_and_leaves_the_tail_alone()
    {
        var rng = new SeededRandom(3);
        float[] x = Random(rng, 5 * 12);
        float[] y = (float[])x.Clone();
        new RotaryEmbedding(12, new RopeOptions { RotaryDim = 8 }).Apply(y, 5, offset: 100);
        for (int r = 0; r < 5; r++)
        {
            double nx = 0, ny = 0;
            for (int j = 0; j < 12; j++)
            {
                nx += x[r * 12 + j] * x[r * 12 + j];
                ny += y[r * 12 + j] * y[r * 12 + j];
            }
            Assert.Equal(nx, ny, 4);
            Assert.Equal(x.AsSpan(r * 12 + 8, 4).ToArray(), y.AsSpan(r * 12 + 8, 4).ToArray());
        }
    }

    [Fact]
    public void Position_zero_is_the_identity_and_offset_matches_explicit_positions()
    {
        var rng = new SeededRandom(8);
        float[] x = Random(rng, 3 * 8);
        float[] y = (float[])x.Clone();
        var layer = new RotaryEmbedding(8, new RopeOptions { Convention = RopeConvention.Interleaved });
        layer.Apply(y.AsSpan(0, 8), 1, offset: 0);
        Assert.Equal(x.AsSpan(0, 8).ToArray(), y.AsSpan(0, 8).ToArray());
        float[] a = (float[])x.Clone(), b = (float[])x.Clone();
        layer.Apply(a, 3, offset: 7);
        layer.Apply(b, [7, 8, 9]);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Ntk_aware_base_keeps_the_fastest_frequency_and_divides_the_slowest_by_alpha()
    {
        Assert.Equal(25198.420997897465, Rope.NtkAwareBase(10000, 8, 2), 6);
        double[] plain = new double[4], scaled = new double[4];
        Rope.InverseFrequencies(8, 10000, plain);
        Rope.InverseFrequencies(8, Rope.NtkAwareBase(10000, 8, 2), scaled);
        Assert.Equal(plain[0], scaled[0]);
        // The slowest frequency i = r/2 − 1 is base^(−(r−2)/r); the scaled base divides it by α exactly.
        Assert.Equal(10000 * Math.Pow(2, 8.0 / 6), Rope.NtkAwareBase(10000, 8, 2), 9);
    }

    [Fact]
    public void Dynamic_ntk_only_changes_the_base_past_the_original_length()
    {
        Assert.Equal(10000, Rope.DynamicNtkBase(10000, 8, 2, 4, 4));
        Assert.Equal(10000, Rope.DynamicNtkBase(10000, 8, 2, 4, 1));
        Assert.Equal(10000 * Math.Pow(2.0 * 8 / 4 - 1, 8.0 / 6), Rope.DynamicNtkBase(10000, 8, 2, 4, 8), 6);
        // The layer: short sequences rotate exactly as plain RoPE.
        var rng = new SeededRandom(2);
        float[] x = Random(rng, 3 * 8);
        float[] a = (float[])x.Clone(), b = (float[])x.Clone();
        new RotaryEmbedding(8, new RopeOptions { Scaling = RopeScaling.DynamicNtk, Factor = 2, OriginalMaxPositions = 4 }).Apply(a, 3);
        new RotaryEmbedding(8).Apply(b, 3);
        Assert.Equal(b, a);
    }

    [Fact]
    public void Linear_interpolation_divides_positions()
    {
        var rng = new SeededRandom(4);
        float[] x = Random(rng, 4 * 8);
        float[] a = (float[])x.Clone(), b = (float[])x.Clone();
        new RotaryEmbedding(8, new RopeOptions { Scaling = RopeScaling.Linear, Factor = 4 }).Apply(a, [0, 4, 8, 12]);
        new RotaryEmbedding(8).Apply(b, [0, 1, 2, 3]);
        Assert.Equal(b, a);
    }

    [Fact]
    public void Yarn_keeps_fast_frequencies_interpolates_slow_ones_and_ramps_between()
    {
        const int r = 128;
        const double factor = 8, @base = 10000;
        double[] plain = new double[r / 2], yarn = new double[r / 2];
        Rope.InverseFrequencies(r, @base, plain);
        Rope.YarnInverseFrequencies(r, @base, factor, 4096, yarn);
        Assert.Equal(plain[0], yarn[0]);
        Assert.Equal(plain[^1] / factor, yarn[^1], 15);
        // Correction range for betaFast 32 / betaSlow 1 at L0 = 4096, r = 128, base 10000: dims 20..46 (floor/ceil).
        double Dim(double turns) => r * Math.Log(4096 / (turns * 2 * Math.PI)) / (2 * Math.Log(@base));
        int lo = (int)Math.Floor(Dim(32)), hi = (int)Math.Ceiling(Dim(1));
        for (int i = 0; i < r / 2; i++)
        {
            double ratio = yarn[i] / plain[i];
            if (i <= lo)
                Assert.Equal(1.0, ratio, 12);
            else if (i >= hi)
                Assert.Equal(1 / factor, ratio, 12);
            else
                Assert.InRange(ratio, 1 / factor, 1.0);
            if (i > 0)
                Assert.True(yarn[i] / plain[i] <= yarn[i - 1] / plain[i - 1] + 1e-15, "the blend is monotone");
        }
        Assert.Equal(0.1 * Math.Log(8) + 1, Rope.YarnAttentionFactor(8), 15);
        Assert.Equal(1.0, Rope.YarnAttentionFactor(1));
        // Factor 1 is plain RoPE.
        double[] same = new double[r / 2];
        Rope.YarnInverseFrequencies(r, @base, 1, 4096, same);
        Assert.Equal(plain, same);
        var layer = new RotaryEmbedding(r, new RopeOptions { Scaling = RopeScaling.Yarn, Factor = factor, OriginalMaxPositions = 4096 });
        Assert.Equal(0.1 * Math.Log(8) + 1, layer.AttentionScale, 12);
        Assert.Equal(yarn, layer.InverseFrequencies.ToArray());
    }

    [Fact]
    public void Yarn_attention_scale_multiplies_the_rotated_channels()
    {
        var rng = new SeededRandom(6);
        float[] x = Random(rng, 16);
        float[] y = (float[])x.Clone();
        new RotaryEmbedding(16, new RopeOptions { Scaling = RopeScaling.Yarn, Factor = 4, OriginalMaxPositions = 64, AttentionFactor = 2 }).Apply(y, [0]);
        for (int i = 0; i < 16; i++)
            Assert.Equal(2 * x[i], y[i], 5);
    }

    [Fact]
    public void Bad_arguments_are_rejected_with_the_operation_named()
    {
        Assert.Contains("[rope.create]", Assert.Throws<ArgumentOutOfRangeException>(() => new RotaryEmbedding(8, new RopeOptions { RotaryDim = 10 })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotaryEmbedding(8, new RopeOptions { RotaryDim = 3 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotaryEmbedding(8, new RopeOptions { Base = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotaryEmbedding(8, new RopeOptions { Factor = 0.5, Scaling = RopeScaling.Linear }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotaryEmbedding(8, new RopeOptions { Scaling = RopeScaling.Yarn, Factor = 2 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rope.NtkAwareBase(10000, 2, 2));
        var layer = new RotaryEmbedding(8);
        Assert.Throws<ArgumentException>(() => layer.Apply(new float[12], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => layer.Apply(new float[8], [-1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rope.Apply(new float[8], 8, [double.NaN], new double[4], RopeConvention.RotateHalf, new float[8]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rope.Apply(new float[8], 8, [1.0], new double[5], RopeConvention.RotateHalf, new float[8]));
    }
}
