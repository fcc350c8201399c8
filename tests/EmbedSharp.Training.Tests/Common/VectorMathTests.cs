using EmbedSharp.Numerics;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Glove;

namespace EmbedSharp.Training.Tests.Common;

public class VectorMathTests
{
    private static float[] Random(int n, SeededRandom r)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
            a[i] = (float)r.NextNormal();
        return a;
    }

    [Fact]
    public void KernelsMatchReferencesForEveryLength()
    {
        var r = new SeededRandom(3);
        for (int n = 0; n <= 256; n++)
        {
            float[] a = Random(n, r), b = Random(n, r);
            float dot = VectorMath.Dot(a, b), dotRef = VectorMath.DotReference(a, b);
            Assert.True(Math.Abs(dot - dotRef) <= 1e-4f * (1 + n), $"dot n={n}: {dot} vs {dotRef}");

            float alpha = (float)r.NextNormal();
            float[] y1 = Random(n, r), y2 = (float[])y1.Clone();
            VectorMath.Axpy(alpha, a, y1);
            VectorMath.AxpyReference(alpha, a, y2);
            AssertClose(y2, y1, 1e-5f, $"axpy n={n}");

            float[] w1 = Random(n, r), w2 = (float[])w1.Clone(), e1 = Random(n, r), e2 = (float[])e1.Clone();
            VectorMath.AccumulateAndUpdate(alpha, a, w1, e1);
            VectorMath.AccumulateAndUpdateReference(alpha, a, w2, e2);
            AssertClose(w2, w1, 1e-5f, $"update w n={n}");
            AssertClose(e2, e1, 1e-5f, $"update e n={n}");

            float[] p1 = Random(n, r), q1 = Random(n, r), g1 = new float[n], h1 = new float[n];
            for (int i = 0; i < n; i++)
            {
                g1[i] = 1 + (float)r.NextDouble();
                h1[i] = 1 + (float)r.NextDouble();
            }
            float[] p2 = (float[])p1.Clone(), q2 = (float[])q1.Clone(), g2 = (float[])g1.Clone(), h2 = (float[])h1.Clone();
            GloveKernels.AdaGradStep(alpha, p1, q1, g1, h1);
            GloveKernels.AdaGradStepReference(alpha, p2, q2, g2, h2);
            AssertClose(p2, p1, 1e-5f, $"adagrad w n={n}");
            AssertClose(q2, q1, 1e-5f, $"adagrad w~ n={n}");
            AssertClose(g2, g1, 1e-5f, $"adagrad G n={n}");
            AssertClose(h2, h1, 1e-5f, $"adagrad G~ n={n}");
        }
    }

    [Fact]
    public void SigmoidTableIsCloseToTheFunction()
    {
        for (double x = -8; x <= 8; x += 0.013)
        {
            double s = 1 / (1 + Math.Exp(-x));
            Assert.InRange(SigmoidTable.Sigmoid((float)x), s - 0.01, s + 0.01);
            if (Math.Abs(x) < SigmoidTable.MaxExp)
                Assert.InRange(SigmoidTable.LogSigmoid((float)x), Math.Log(s) - 0.03, Math.Log(s) + 0.03);
        }
        Assert.Equal(0f, SigmoidTable.Sigmoid(-100));
        Assert.Equal(1f, SigmoidTable.Sigmoid(100));
        Assert.True(float.IsNaN(SigmoidTable.LogSigmoid(float.NaN)));
    }

    private static void AssertClose(float[] expected, float[] actual, float tol, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"{what} [{i}]: {actual[i]} vs {expected[i]}");
    }
}
