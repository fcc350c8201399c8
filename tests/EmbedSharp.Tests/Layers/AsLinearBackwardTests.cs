using EmbedSharp.Initializers;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Layers;

/// <summary>
/// <see cref="Embedding.AsLinearBackward"/> against the plain double-precision loops on awkward sizes and storage,
/// a finite-difference check of both gradients of <c>L = Σ g ∘ AsLinear(x)</c>, skipping a destination, and bad lengths.
/// </summary>
public sealed class AsLinearBackwardTests
{
    private static float[] Floats(int count, ulong seed)
    {
        var r = new SeededRandom(seed);
        var x = new float[count];
        for (int i = 0; i < count; i++)
            x[i] = (float)r.NextNormal();
        return x;
    }

    [Theory]
    [InlineData(0, 5, 3, DType.Float32)]
    [InlineData(1, 1, 1, DType.Float32)]
    [InlineData(7, 33, 7, DType.Float32)]
    [InlineData(13, 301, 31, DType.Float32)]
    [InlineData(500, 70, 200, DType.Float32)] // several tiles and reduction blocks of both products
    [InlineData(7, 33, 7, DType.Float16)]
    [InlineData(5, 17, 9, DType.BFloat16)]
    public void MatchesReference(int batch, int rows, int dims, DType dtype)
    {
        using var layer = new Embedding(rows, dims, new EmbeddingOptions { Seed = 3, Initializer = Initializer.Uniform(-1, 1), DType = dtype });
        float[] x = Floats(batch * dims, 1), g = Floats(batch * rows, 2);
        var gx = new float[batch * dims + 1];
        var gw = new float[rows * dims + 1];
        gx.AsSpan().Fill(-7f);
        gw.AsSpan().Fill(-7f);
        layer.AsLinearBackward(x, g, gx, gw);
        var rx = new float[batch * dims];
        var rw = new float[rows * dims];
        Linear.BackwardReference(layer.Weight, x, batch, g, rx, rw);
        for (int i = 0; i < rx.Length; i++)
            Assert.True(Math.Abs(gx[i] - rx[i]) <= 1e-5f * (rows + 2) * (1 + Math.Abs(rx[i])), $"gradX[{i}] = {gx[i]}, reference {rx[i]}");
        for (int i = 0; i < rw.Length; i++)
            Assert.True(Math.Abs(gw[i] - rw[i]) <= 1e-5f * (batch + 2) * (1 + Math.Abs(rw[i])), $"gradWeight[{i}] = {gw[i]}, reference {rw[i]}");
        Assert.Equal(-7f, gx[^1]);
        Assert.Equal(-7f, gw[^1]);
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        const int batch = 3, rows = 5, dims = 4;
        using var layer = new Embedding(rows, dims, new EmbeddingOptions { Seed = 9, Initializer = Initializer.Uniform(-1, 1) });
        float[] x = Floats(batch * dims, 4), g = Floats(batch * rows, 5);
        var gx = new float[batch * dims];
        var gw = new float[rows * dims];
        layer.AsLinearBackward(x, g, gx, gw);
        double Loss()
        {
            var y = new float[batch * rows];
            layer.AsLinear(x, y);
            double s = 0;
            for (int i = 0; i < y.Length; i++)
                s += (double)y[i] * g[i];
            return s;
        }
        const float h = 1e-2f;
        for (int i = 0; i < x.Length; i++)
        {
            float keep = x[i];
            x[i] = keep + h;
            double up = Loss();
            x[i] = keep - h;
            double down = Loss();
            x[i] = keep;
            Assert.Equal((up - down) / (2 * h), gx[i], 2e-3);
        }
        var w = layer.Weight.AsSpan<float>();
        for (int i = 0; i < gw.Length; i++)
        {
            float keep = w[i];
            w[i] = keep + h;
            double up = Loss();
            w[i] = keep - h;
            double down = Loss();
            w[i] = keep;
            Assert.Equal((up - down) / (2 * h), gw[i], 2e-3);
        }
    }

    [Fact]
    public void EmptyDestinationIsSkipped()
    {
        using var layer = new Embedding(9, 5, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Uniform(-1, 1) });
        float[] x = Floats(2 * 5, 6), g = Floats(2 * 9, 7);
        var gx = new float[10];
        var gw = new float[45];
        layer.AsLinearBackward(x, g, gx, default);
        layer.AsLinearBackward(x, g, default, gw);
        var rx = new float[10];
        var rw = new float[45];
        Linear.BackwardReference(layer.Weight, x, 2, g, rx, rw);
        Assert.Equal(rx, gx, (a, b) => Math.Abs(a - b) < 1e-4f);
        Assert.Equal(rw, gw, (a, b) => Math.Abs(a - b) < 1e-4f);
    }

    [Fact]
    public void RejectsMismatchedLengths()
    {
        using var layer = new Embedding(4, 3);
        var ex = Assert.Throws<ArgumentException>(() => layer.AsLinearBackward(new float[7], new float[8], default, default));
        Assert.StartsWith("[embedding.as_linear_backward]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => layer.AsLinearBackward(new float[6], new float[7], default, default));
        Assert.Contains("NumEmbeddings", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => layer.AsLinearBackward(new float[6], new float[8], new float[5], default));
        Assert.Contains("Dims", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => layer.AsLinearBackward(new float[6], new float[8], default, new float[11]));
        Assert.Contains("NumEmbeddings × Dims", ex.Message);
    }
}
