using EmbedSharp.Numerics;

namespace EmbedSharp.Tests.Numerics;

public sealed class PcaTests
{
    [Fact]
    public void RecoversTheDominantAxes_OfAnElongatedCloud()
    {
        // Points spread 10× along (1,1,0)/√2 and 3× along z, 0.1× elsewhere.
        var r = new SeededRandom(5);
        const int n = 2000, d = 3;
        var data = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            double a = 10 * r.NextNormal(), b = 3 * r.NextNormal(), c = 0.1 * r.NextNormal();
            data[i * d + 0] = (float)((a + c) / Math.Sqrt(2)) + 5;
            data[i * d + 1] = (float)((a - c) / Math.Sqrt(2)) - 2;
            data[i * d + 2] = (float)b;
        }
        var proj = new float[n * 2];
        Kernels.Pca(data, n, d, 2, proj);
        double var0 = proj.Where((_, i) => i % 2 == 0).Select(x => (double)x * x).Average();
        double var1 = proj.Where((_, i) => i % 2 == 1).Select(x => (double)x * x).Average();
        Assert.InRange(Math.Sqrt(var0), 9.5, 10.5);
        Assert.InRange(Math.Sqrt(var1), 2.8, 3.2);
        // First coordinate ≈ the (1,1,0) component of the centred point.
        double corr = 0;
        for (int i = 0; i < n; i++)
            corr += proj[2 * i] * ((data[i * d] - 5 + data[i * d + 1] + 2) / Math.Sqrt(2));
        Assert.True(Math.Abs(corr / n / var0) > 0.99);
    }

    [Fact]
    public void IsDeterministic_AndHandlesDegenerateInput()
    {
        var data = new float[] { 1, 2, 1, 2, 1, 2 }; // three identical rows: no variance
        var a = new float[6];
        var b = new float[6];
        Kernels.Pca(data, 3, 2, 2, a);
        Kernels.Pca(data, 3, 2, 2, b);
        Assert.Equal(a, b);
        Assert.All(a, x => Assert.Equal(0f, x, 5));
        Kernels.Pca([], 0, 4, 2, []);
        Assert.Throws<ArgumentOutOfRangeException>(() => Kernels.Pca(data, 3, 2, 3, new float[9]));
    }
}
