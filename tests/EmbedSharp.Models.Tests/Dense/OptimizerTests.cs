using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Dense;
using EmbedSharp.Models.Losses;
using EmbedSharp.Optimizers;

namespace EmbedSharp.Models.Tests.Dense;

public sealed class OptimizerTests
{
    private static Parameter Make(float[] values, float[] grad)
    {
        var p = new Parameter("p", values.Length);
        values.CopyTo(p.Value, 0);
        grad.CopyTo(p.Grad, 0);
        return p;
    }

    [Fact]
    public void Sgd_WithMomentumAndDecay_MatchesTorchFormula()
    {
        var p = Make([1f, -2f], [0.5f, 0.25f]);
        var opt = new DenseSgd([p], 0.1, momentum: 0.9, weightDecay: 0.01);
        double[] w = [1, -2], v = [0, 0];
        for (int step = 0; step < 3; step++)
        {
            opt.Step();
            for (int i = 0; i < 2; i++)
            {
                double g = (i == 0 ? 0.5 : 0.25) + 0.01 * w[i];
                v[i] = 0.9 * v[i] + g;
                w[i] -= 0.1 * v[i];
                Assert.Equal(w[i], p.Value[i], 1e-5);
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AdamAndAdamW_MatchTorchFormula(bool decoupled)
    {
        var p = Make([1f, -2f, 0.5f], [0.3f, -0.1f, 0.02f]);
        DenseOptimizer opt = decoupled ? new DenseAdamW([p], 0.01, weightDecay: 0.1) : new DenseAdam([p], 0.01, weightDecay: 0.1);
        double[] w = [1, -2, 0.5], m = new double[3], v = new double[3];
        float[] grads = [0.3f, -0.1f, 0.02f];
        for (int t = 1; t <= 4; t++)
        {
            opt.Step();
            for (int i = 0; i < 3; i++)
            {
                double g = grads[i];
                if (decoupled)
                    w[i] -= 0.01 * 0.1 * w[i];
                else
                    g += 0.1 * w[i];
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                double mh = m[i] / (1 - Math.Pow(0.9, t)), vh = v[i] / (1 - Math.Pow(0.999, t));
                w[i] -= 0.01 * mh / (Math.Sqrt(vh) + 1e-8);
                Assert.Equal(w[i], p.Value[i], 1e-5);
            }
        }
    }

    [Fact]
    public void Step_StopsOnNonFiniteGradientWithoutChangingAnything()
    {
        var p = Make([1f, 2f], [0.1f, float.NaN]);
        var opt = new DenseAdam([p]);
        var ex = Assert.Throws<NonFiniteException>(opt.Step);
        Assert.Contains("[adam.step]", ex.Message);
        Assert.Equal([1f, 2f], p.Value);
        Assert.Equal(0, opt.StepCount);
        Assert.Throws<ArgumentException>(() => new DenseSgd([p, p], 0.1));
    }

    [Fact]
    public void Mlp_LearnsXorAndIsDeterministicForASeed()
    {
        float[] Train()
        {
            var mlp = new Mlp(2, [8], 1, ActivationKind.Tanh, init: LinearInit.XavierUniform, seed: 3);
            mlp.Layers.OfType<Linear>().ToList().ForEach(l => l.Threads = 1);
            var opt = new DenseAdam(mlp.Parameters, 0.05);
            float[] x = [0, 0, 0, 1, 1, 0, 1, 1], y = [0, 1, 1, 0];
            var logits = new float[4];
            var grad = new float[4];
            for (int step = 0; step < 300; step++)
            {
                opt.ZeroGrad();
                mlp.Forward(x, 4, logits, training: true);
                Loss.BinaryCrossEntropyWithLogits(logits, y, grad);
                mlp.Backward(x, logits, grad, 4, default);
                opt.Step();
            }
            mlp.Forward(x, 4, logits);
            return logits;
        }
        float[] a = Train();
        Assert.True(a[0] < 0 && a[1] > 0 && a[2] > 0 && a[3] < 0, string.Join(", ", a));
        Assert.Equal(a, Train());
    }
}
