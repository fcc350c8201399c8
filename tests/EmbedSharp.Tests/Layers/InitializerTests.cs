using EmbedSharp.Initializers;
using EmbedSharp.Numerics;

namespace EmbedSharp.Tests.Layers;

public sealed class InitializerTests
{
    private static float[] Draw(Initializer init, int v = 400, int d = 50, ulong seed = 7)
    {
        using var e = new Embedding(v, d, new EmbeddingOptions { Initializer = init, Seed = seed });
        return e.Weight.ToArray();
    }

    private static (double Mean, double Std) Stats(float[] x)
    {
        double m = x.Average(v => (double)v);
        return (m, Math.Sqrt(x.Sum(v => (v - m) * (v - m)) / x.Length));
    }

    public static IEnumerable<object[]> All() =>
    [
        [Initializer.TorchDefault], [Initializer.MlxDefault], [Initializer.KerasUniform], [Initializer.Gpt2],
        [Initializer.XavierUniform()], [Initializer.XavierNormal()], [Initializer.TruncatedNormal()],
        [Initializer.Normal(1, 3)], [Initializer.Uniform(-1, 2)],
    ];

    [Theory]
    [MemberData(nameof(All))]
    public void SameSeed_SameTable_OtherSeed_OtherTable(Initializer init)
    {
        Assert.Equal(Draw(init), Draw(init));
        Assert.NotEqual(Draw(init), Draw(init, seed: 8));
    }

    [Fact]
    public void Distributions_HaveTheDocumentedMoments()
    {
        // 20,000 draws: the sample std of a mean is ≤ σ/141, so 0.05σ is far outside chance.
        var (m, s) = Stats(Draw(Initializer.TorchDefault));
        Assert.InRange(m, -0.05, 0.05); Assert.InRange(s, 0.95, 1.05);

        (m, s) = Stats(Draw(Initializer.MlxDefault));
        Assert.InRange(s, 0.95 * Math.Sqrt(1 / 50.0), 1.05 * Math.Sqrt(1 / 50.0));

        float[] k = Draw(Initializer.KerasUniform);
        Assert.All(k, x => Assert.InRange(x, -0.05f, 0.05f));
        Assert.True(k.All(x => x < 0.05f));
        (_, s) = Stats(k);
        Assert.InRange(s, 0.95 * 0.1 / Math.Sqrt(12), 1.05 * 0.1 / Math.Sqrt(12));

        (_, s) = Stats(Draw(Initializer.Gpt2));
        Assert.InRange(s, 0.019, 0.021);

        double a = Math.Sqrt(6.0 / (400 + 50));
        float[] xu = Draw(Initializer.XavierUniform());
        Assert.All(xu, x => Assert.InRange(x, -a, a));
        (_, s) = Stats(Draw(Initializer.XavierNormal()));
        Assert.InRange(s, 0.95 * Math.Sqrt(2.0 / 450), 1.05 * Math.Sqrt(2.0 / 450));

        float[] tn = Draw(Initializer.TruncatedNormal(0, 1, -0.5, 1.5));
        Assert.All(tn, x => Assert.InRange(x, -0.5f, 1.5f));

        (m, s) = Stats(Draw(Initializer.Normal(1, 3)));
        Assert.InRange(m, 0.9, 1.1); Assert.InRange(s, 2.85, 3.15);

        Assert.All(Draw(Initializer.Zeros), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void Custom_ReceivesShapeAndSeededGenerator()
    {
        int calls = 0;
        var init = Initializer.Custom((dst, v, d, rng) =>
        {
            calls++;
            Assert.Equal(3, v);
            Assert.Equal(2, d);
            for (int i = 0; i < dst.Length; i++)
                dst[i] = i + rng.NextInt(1);
        }, "ramp");
        using var e = new Embedding(3, 2, new EmbeddingOptions { Initializer = init });
        Assert.Equal(1, calls);
        Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5 }, e.Weight.ToArray());
        Assert.Equal("ramp", init.ToString());
    }

    [Fact]
    public void LargeTables_AreFilledInBlocks_WithTheSameStream()
    {
        // 3,000 × 50 = 150,000 values > one 64K block: the block split must not change the draw.
        float[] big = Draw(Initializer.TorchDefault, 3000, 50, 4);
        var r = new SeededRandom(4);
        for (int i = 0; i < 1000; i++)
            Assert.Equal((float)r.NextNormal(), big[i]);
    }

    [Fact]
    public void BadParameters_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.Normal(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.Uniform(1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.XavierUniform(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.TruncatedNormal(0, 1, 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.TruncatedNormal(0, 1, 50, 60));
    }
}
