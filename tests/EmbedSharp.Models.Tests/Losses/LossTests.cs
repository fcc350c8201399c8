using EmbedSharp.Models.Losses;

namespace EmbedSharp.Models.Tests.Losses;

public sealed class LossTests
{
    private delegate double LossFn(float[] input, Span<float> grad);

    private static void CheckFiniteDifferences(float[] input, LossFn loss, string what, double eps = 1e-3)
    {
        var grad = new float[input.Length];
        loss(input, grad);
        var scratch = new float[input.Length];
        for (int i = 0; i < input.Length; i++)
        {
            float old = input[i];
            input[i] = (float)(old + eps);
            double plus = loss(input, scratch);
            input[i] = (float)(old - eps);
            double minus = loss(input, scratch);
            input[i] = old;
            GradientCheck.Close(grad[i], (plus - minus) / (2 * eps), $"{what}[{i}]");
        }
    }

    [Fact]
    public void MeanSquaredError_ValueAndGradient()
    {
        var grad = new float[2];
        Assert.Equal(((1.0 * 1) + (2.0 * 2)) / 2, Loss.MeanSquaredError([1f, 3f], [0f, 1f], grad), 6);
        float[] target = GradientCheck.Random(7, 2);
        CheckFiniteDifferences(GradientCheck.Random(7, 1), (p, g) => Loss.MeanSquaredError(p, target, g), "mse");
        Assert.Equal(0, Loss.MeanSquaredError([], [], []));
    }

    [Fact]
    public void BinaryCrossEntropyWithLogits_ValueGradientAndStability()
    {
        var grad = new float[1];
        Assert.Equal(Math.Log(2), Loss.BinaryCrossEntropyWithLogits([0f], [1f], grad), 6);
        Assert.Equal(-0.5f, grad[0], 6);
        // Large logits stay finite (no log(0)).
        Assert.Equal(1000, Loss.BinaryCrossEntropyWithLogits([-1000f], [1f], grad), 3);
        float[] target = [1, 0, 1, 0, 0.3f, 1];
        float[] weights = [1, 2, 0.5f, 1, 1, 3];
        CheckFiniteDifferences(GradientCheck.Random(6, 3, 2), (x, g) => Loss.BinaryCrossEntropyWithLogits(x, target, g), "bce");
        CheckFiniteDifferences(GradientCheck.Random(6, 4, 2), (x, g) => Loss.BinaryCrossEntropyWithLogits(x, target, g, weights), "bce weighted");
    }

    [Fact]
    public void SoftmaxCrossEntropy_ValueGradientAndLabelCheck()
    {
        var grad = new float[3];
        Assert.Equal(Math.Log(3), Loss.SoftmaxCrossEntropy([5f, 5f, 5f], 1, 3, [2], grad), 6);
        int[] labels = [0, 3, 2];
        CheckFiniteDifferences(GradientCheck.Random(12, 5, 2), (x, g) => Loss.SoftmaxCrossEntropy(x, 3, 4, labels, g), "softmax ce");
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Loss.SoftmaxCrossEntropy(new float[4], 1, 4, [4], new float[4]));
        Assert.Contains("labels[0] = 4 is out of range; valid values are 0..3", ex.Message);
    }

    [Fact]
    public void SampledSoftmax_LogQCorrectionShiftsColumnsAndGradientsMatch()
    {
        float[] logQ = [-1f, -3f, -0.5f, -2f];
        int[] labels = [1, 0, 3];
        CheckFiniteDifferences(GradientCheck.Random(12, 6, 2), (x, g) => Loss.SampledSoftmax(x, 3, 4, labels, logQ, g), "sampled softmax");
        float[] perElement = GradientCheck.Random(12, 7);
        CheckFiniteDifferences(GradientCheck.Random(12, 8, 2), (x, g) => Loss.SampledSoftmax(x, 3, 4, labels, perElement, g), "sampled softmax per element");
        // Equal to plain cross-entropy on logits − logQ.
        float[] z = GradientCheck.Random(12, 9);
        float[] shifted = [.. z.Select((v, i) => v - logQ[i % 4])];
        var g1 = new float[12];
        var g2 = new float[12];
        Assert.Equal(Loss.SoftmaxCrossEntropy(shifted, 3, 4, labels, g2), Loss.SampledSoftmax(z, 3, 4, labels, logQ, g1), 5);
        for (int i = 0; i < 12; i++)
            Assert.Equal(g2[i], g1[i], 5);
        Assert.Throws<ArgumentException>(() => Loss.SampledSoftmax(z, 3, 4, labels, new float[5], g1));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void InfoNce_GradientsOfQueriesKeysAndTemperatureMatchFiniteDifferences(bool symmetric, bool withLogQ)
    {
        const int batch = 4, dims = 3;
        var loss = new InfoNceLoss(0.5, symmetric);
        float[] q = GradientCheck.Random(batch * dims, 1), k = GradientCheck.Random(batch * dims, 2);
        float[] logQ = withLogQ ? [-1f, -2f, -0.5f, -3f] : [];
        var gq = new float[batch * dims];
        var gk = new float[batch * dims];
        var sq = new float[batch * dims];
        var sk = new float[batch * dims];
        loss.Compute(q, k, batch, dims, gq, gk, logQ);
        float gScale = loss.LogScale.Grad[0];
        double At() => loss.Compute(q, k, batch, dims, sq, sk, logQ);
        const double eps = 1e-3;
        foreach (var (x, g, name) in new[] { (q, gq, "q"), (k, gk, "k") })
        {
            for (int i = 0; i < x.Length; i++)
            {
                float old = x[i];
                x[i] = (float)(old + eps);
                double plus = At();
                x[i] = (float)(old - eps);
                double minus = At();
                x[i] = old;
                GradientCheck.Close(g[i], (plus - minus) / (2 * eps), $"∂{name}[{i}]");
            }
        }
        float s0 = loss.LogScale.Value[0];
        loss.LogScale.Value[0] = (float)(s0 + eps);
        double p = At();
        loss.LogScale.Value[0] = (float)(s0 - eps);
        double m = At();
        loss.LogScale.Value[0] = s0;
        GradientCheck.Close(gScale, (p - m) / (2 * eps), "∂logScale");
    }

    [Fact]
    public void InfoNce_PerfectlyAlignedPairsHaveLowLossAndTheScaleCapHolds()
    {
        var loss = new InfoNceLoss(0.01);
        float[] eye = [1, 0, 0, 0, 1, 0, 0, 0, 1];
        var g = new float[9];
        Assert.True(loss.Compute(eye, eye, 3, 3, g, new float[9]) < 1e-6);
        Assert.Equal(0.01, loss.Temperature, 6);
        var capped = new InfoNceLoss(0.001);
        Assert.Equal(0.01, capped.Temperature, 6);
        capped.Compute(eye, eye, 3, 3, g, new float[9]);
        Assert.Equal(0f, capped.LogScale.Grad[0]);
    }
}
