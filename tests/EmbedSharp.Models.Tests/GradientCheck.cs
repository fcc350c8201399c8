using EmbedSharp.Models.Dense;
using EmbedSharp.Numerics;

namespace EmbedSharp.Models.Tests;

/// <summary>Central finite differences against hand-derived gradients.</summary>
internal static class GradientCheck
{
    public static float[] Random(int n, ulong seed, double scale = 1)
    {
        var rng = new SeededRandom(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++)
            a[i] = (float)(rng.NextNormal() * scale);
        return a;
    }

    /// <summary>Asserts analytic ≈ numeric with a tolerance relative to the larger magnitude.</summary>
    public static void Close(double analytic, double numeric, string what, double tolerance = 2e-2)
    {
        double scale = Math.Max(1e-2, Math.Max(Math.Abs(analytic), Math.Abs(numeric)));
        Assert.True(Math.Abs(analytic - numeric) <= tolerance * scale + 2e-4,
            $"{what}: analytic {analytic} vs numeric {numeric}");
    }

    /// <summary>Checks ∂/∂input and ∂/∂parameters of <c>L = Σ layer(x) · r</c>.</summary>
    public static void Layer(Layer layer, int batch, ulong seed, double eps = 1e-2, double inputScale = 1)
    {
        float[] x = Random(batch * layer.InFeatures, seed, inputScale);
        float[] r = Random(batch * layer.OutFeatures, seed + 1);
        var y = new float[batch * layer.OutFeatures];
        var dx = new float[batch * layer.InFeatures];
        foreach (var p in layer.Parameters)
            p.ZeroGrad();
        layer.Forward(x, batch, y);
        layer.Backward(x, y, r, batch, dx);

        double LossAt()
        {
            var yy = new float[batch * layer.OutFeatures];
            layer.Forward(x, batch, yy);
            double s = 0;
            for (int i = 0; i < yy.Length; i++)
                s += (double)yy[i] * r[i];
            return s;
        }

        for (int i = 0; i < x.Length; i++)
        {
            float old = x[i];
            x[i] = (float)(old + eps);
            double plus = LossAt();
            x[i] = (float)(old - eps);
            double minus = LossAt();
            x[i] = old;
            Close(dx[i], (plus - minus) / (2 * eps), $"{layer.GetType().Name} ∂x[{i}]");
        }
        foreach (var p in layer.Parameters)
        {
            float[] grad = (float[])p.Grad.Clone();
            for (int i = 0; i < p.Length; i++)
            {
                float old = p.Value[i];
                p.Value[i] = (float)(old + eps);
                double plus = LossAt();
                p.Value[i] = (float)(old - eps);
                double minus = LossAt();
                p.Value[i] = old;
                Close(grad[i], (plus - minus) / (2 * eps), $"{layer.GetType().Name} ∂{p.Name}[{i}]");
            }
        }
    }
}
