using EmbedSharp.Numerics;
using EmbedSharp.Training.Losses;

namespace EmbedSharp.Training.Tests.Losses;

public unsafe class SoftmaxTests
{
    private static double Loss(float[] h, float[] w, float[] b, int classes, int dims, int target)
    {
        var s = new double[classes];
        for (int j = 0; j < classes; j++)
        {
            s[j] = b[j];
            for (int d = 0; d < dims; d++)
                s[j] += (double)w[j * dims + d] * h[d];
        }
        double max = s.Max();
        return max + Math.Log(s.Sum(x => Math.Exp(x - max))) - s[target];
    }

    [Fact]
    public void FullStepMatchesFiniteDifferences()
    {
        var r = new SeededRandom(8);
        foreach (var (classes, dims) in new[] { (1, 1), (5, 7), (13, 33) })
        {
            float[] h = Enumerable.Range(0, dims).Select(_ => (float)r.NextNormal()).ToArray();
            float[] w = Enumerable.Range(0, classes * dims).Select(_ => (float)r.NextNormal() * 0.5f).ToArray();
            float[] b = Enumerable.Range(0, classes).Select(_ => (float)r.NextNormal()).ToArray();
            int target = classes / 2;
            double loss = Loss(h, w, b, classes, dims, target);
            // Central differences of the loss with respect to h and to the weights (before the step).
            double[] dh = CentralDifferences(h, () => Loss(h, w, b, classes, dims, target));
            double[] dw = CentralDifferences(w, () => Loss(h, w, b, classes, dims, target));
            float[] w0 = (float[])w.Clone();
            var grad = new float[dims];
            var scores = new float[classes];
            const float lr = 0.1f;
            float reported;
            fixed (float* ph = h, pw = w, pb = b, pg = grad, ps = scores)
                reported = Softmax.FullStep(ph, pw, pb, classes, dims, target, lr, pg, ps);
            Assert.Equal(loss, reported, 3);
            for (int d = 0; d < dims; d++)
                Assert.Equal(-lr * dh[d], grad[d], 2);           // gradHidden holds −lr·∂L/∂h
            for (int k = 0; k < dw.Length; k++)
                Assert.Equal(-lr * dw[k], w[k] - w0[k], 2);      // each row moved by −lr·∂L/∂W
            Assert.Equal(1.0, scores.Sum(), 4);                   // scores hold the probabilities
        }
    }

    /// <summary>The loss's derivative with respect to each entry of <paramref name="x"/>, by central differences (step 10⁻³).</summary>
    private static double[] CentralDifferences(float[] x, Func<double> loss)
    {
        var g = new double[x.Length];
        for (int k = 0; k < x.Length; k++)
        {
            float keep = x[k];
            x[k] = keep + 1e-3f;
            double up = loss();
            x[k] = keep - 1e-3f;
            double down = loss();
            x[k] = keep;
            g[k] = (up - down) / 2e-3;
        }
        return g;
    }
}
