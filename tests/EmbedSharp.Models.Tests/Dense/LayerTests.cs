using EmbedSharp.Models.Dense;

namespace EmbedSharp.Models.Tests.Dense;

public sealed class LayerTests
{
    [Theory]
    [InlineData(LinearInit.PyTorch, true)]
    [InlineData(LinearInit.XavierUniform, true)]
    [InlineData(LinearInit.XavierNormal, false)]
    [InlineData(LinearInit.HeUniform, true)]
    [InlineData(LinearInit.HeNormal, false)]
    public void Linear_GradientsMatchFiniteDifferences(LinearInit init, bool bias) =>
        GradientCheck.Layer(new Linear(5, 7, bias, init, seed: 3), batch: 3, seed: 11);

    [Theory]
    [InlineData(0, 3, 4)]
    [InlineData(1, 1, 1)]
    [InlineData(7, 13, 33)]
    [InlineData(5, 0, 3)]
    [InlineData(3, 4, 0)]
    [InlineData(40, 300, 70)]
    public void Linear_MatchesPlainLoops(int batch, int inFeatures, int outFeatures)
    {
        var layer = new Linear(inFeatures, outFeatures, true, LinearInit.PyTorch, seed: 5);
        float[] x = GradientCheck.Random(batch * inFeatures, 1);
        float[] g = GradientCheck.Random(batch * outFeatures, 2);
        var y = new float[batch * outFeatures];
        var dx = new float[batch * inFeatures];
        layer.Forward(x, batch, y);
        layer.Backward(x, y, g, batch, dx);
        float[] w = layer.Weight.Value, b = layer.Bias!.Value;
        for (int r = 0; r < batch; r++)
            for (int o = 0; o < outFeatures; o++)
            {
                double s = b[o];
                for (int i = 0; i < inFeatures; i++)
                    s += (double)x[r * inFeatures + i] * w[o * inFeatures + i];
                Assert.Equal(s, y[r * outFeatures + o], 1e-3);
            }
        for (int r = 0; r < batch; r++)
            for (int i = 0; i < inFeatures; i++)
            {
                double s = 0;
                for (int o = 0; o < outFeatures; o++)
                    s += (double)g[r * outFeatures + o] * w[o * inFeatures + i];
                Assert.Equal(s, dx[r * inFeatures + i], 1e-3);
            }
        for (int o = 0; o < outFeatures; o++)
        {
            double sb = 0;
            for (int r = 0; r < batch; r++)
                sb += g[r * outFeatures + o];
            Assert.Equal(sb, layer.Bias.Grad[o], 1e-3);
            for (int i = 0; i < inFeatures; i++)
            {
                double s = 0;
                for (int r = 0; r < batch; r++)
                    s += (double)g[r * outFeatures + o] * x[r * inFeatures + i];
                Assert.Equal(s, layer.Weight.Grad[o * inFeatures + i], 1e-3);
            }
        }
    }

    [Fact]
    public void Linear_BackwardAccumulatesAndSkipsInputGradient()
    {
        var layer = new Linear(3, 2, seed: 1);
        float[] x = GradientCheck.Random(6, 1), g = GradientCheck.Random(4, 2);
        var y = new float[4];
        layer.Forward(x, 2, y);
        layer.Backward(x, y, g, 2, default);
        float[] once = (float[])layer.Weight.Grad.Clone();
        layer.Backward(x, y, g, 2, default);
        for (int i = 0; i < once.Length; i++)
            Assert.Equal(2 * once[i], layer.Weight.Grad[i], 5);
    }

    [Fact]
    public void Linear_InitialisationFollowsItsRule()
    {
        var torch = new Linear(400, 300, seed: 1);
        double bound = 1 / Math.Sqrt(400);
        Assert.All(torch.Weight.Value, v => Assert.InRange(v, -bound, bound));
        Assert.True(torch.Weight.Value.Max() > 0.9 * bound);
        var he = new Linear(400, 300, init: LinearInit.HeNormal, seed: 1);
        double variance = he.Weight.Value.Select(v => (double)v * v).Average();
        Assert.InRange(variance, 0.9 * 2 / 400.0, 1.1 * 2 / 400.0);
        Assert.All(he.Bias!.Value, v => Assert.Equal(0f, v));
        Assert.Equal(new Linear(10, 10, seed: 9).Weight.Value, new Linear(10, 10, seed: 9).Weight.Value);
        Assert.NotEqual(new Linear(10, 10, seed: 9).Weight.Value, new Linear(10, 10, seed: 8).Weight.Value);
    }

    [Fact]
    public void Layer_RejectsWrongLengthsWithTheOpName()
    {
        var layer = new Linear(3, 2);
        var ex = Assert.Throws<ArgumentException>(() => layer.Forward(new float[5], 2, new float[4]));
        Assert.StartsWith("[linear.forward] input has 5 elements but 6", ex.Message);
        Assert.Throws<ArgumentException>(() => new Sequential([new Linear(3, 4), new ReLU(5)]));
    }

    [Theory]
    [InlineData(ActivationKind.ReLU)]
    [InlineData(ActivationKind.GELU)]
    [InlineData(ActivationKind.Sigmoid)]
    [InlineData(ActivationKind.Tanh)]
    public void Activations_GradientsMatchFiniteDifferences(ActivationKind kind) =>
        GradientCheck.Layer(Activation.Create(kind, 6), batch: 4, seed: 21, eps: 1e-3);

    [Fact]
    public void Gelu_MatchesKnownValues()
    {
        var gelu = new GELU(4);
        var y = new float[4];
        gelu.Forward([-1f, 0f, 1f, 3f], 1, y);
        // PyTorch: F.gelu(torch.tensor([-1., 0., 1., 3.]))
        Assert.Equal(-0.15865529, y[0], 1e-6);
        Assert.Equal(0f, y[1]);
        Assert.Equal(0.84134471, y[2], 1e-6);
        Assert.Equal(2.99595022, y[3], 1e-6);
    }

    [Fact]
    public void LayerNorm_GradientsMatchFiniteDifferences()
    {
        var ln = new LayerNorm(5);
        // Non-trivial γ, β so their gradients are checked away from the identity.
        for (int i = 0; i < 5; i++)
        {
            ln.Gamma!.Value[i] = 0.5f + i * 0.3f;
            ln.Beta!.Value[i] = 0.1f * i;
        }
        GradientCheck.Layer(ln, batch: 3, seed: 31, eps: 1e-3);
        GradientCheck.Layer(new LayerNorm(4, elementwiseAffine: false), batch: 2, seed: 32, eps: 1e-3);
    }

    [Fact]
    public void LayerNorm_NormalisesRows()
    {
        var ln = new LayerNorm(4);
        var y = new float[4];
        ln.Forward([1f, 2f, 3f, 4f], 1, y);
        Assert.Equal(0, y.Sum(), 5);
        Assert.Equal(1.0, y.Select(v => (double)v * v).Average(), 3);
    }

    [Fact]
    public void Mlp_GradientsMatchFiniteDifferences()
    {
        var mlp = new Mlp(4, [6, 5], 3, ActivationKind.GELU, layerNorm: true, seed: 7);
        GradientCheck.Layer(mlp, batch: 3, seed: 41, eps: 1e-3);
        GradientCheck.Layer(new Mlp(3, [], 2, seed: 1), batch: 2, seed: 42);
    }

    [Fact]
    public void Dropout_ZeroesAtRateScalesSurvivorsAndRoutesGradientThroughTheMask()
    {
        var drop = new Dropout(1000, 0.3f, seed: 5);
        float[] x = Enumerable.Repeat(1f, 2000).ToArray();
        var y = new float[2000];
        drop.Forward(x, 2, y, training: true);
        double zeroed = y.Count(v => v == 0) / 2000.0;
        Assert.InRange(zeroed, 0.26, 0.34);
        Assert.All(y, v => Assert.True(v == 0 || Math.Abs(v - 1 / 0.7f) < 1e-6));
        float[] g = GradientCheck.Random(2000, 3);
        var dx = new float[2000];
        drop.Backward(x, y, g, 2, dx);
        for (int i = 0; i < 2000; i++)
            Assert.Equal(g[i] * y[i], dx[i], 5);
        drop.Forward(x, 2, y, training: false);
        Assert.Equal(x, y);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(3, 1f));
    }
}
