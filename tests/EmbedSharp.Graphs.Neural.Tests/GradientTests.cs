using EmbedSharp.Graphs.Walks;
using EmbedSharp.Numerics;

namespace EmbedSharp.Graphs.Neural.Tests;

/// <summary>The hand-derived backward of GraphSAGE and of its link loss against central finite differences.</summary>
public class GradientTests
{
    private static WalkGraph SmallGraph() =>
        WalkGraph.FromEdges(7, [(0, 1, 1f), (0, 2, 1f), (1, 2, 1f), (2, 3, 1f), (3, 4, 1f), (4, 5, 1f), (1, 5, 1f), (3, 3, 1f)]); // node 6 isolated, 3 has a self-loop

    [Theory]
    [InlineData(true, 2)]
    [InlineData(false, 2)]
    [InlineData(true, 1)]
    [InlineData(false, 0)]
    [InlineData(true, 3)]
    public void BackwardMatchesFiniteDifferences(bool normalize, int layers)
    {
        int[] fans = new[] { 2, 3, 2 }[..layers];
        using var model = new GraphSage(SmallGraph(), new GraphSageOptions { Dims = 3, HiddenDims = 4, FanOuts = fans, Normalize = normalize, Threads = 1, Seed = 5 });
        // Push the features and biases away from ReLU's kink so the loss is smooth where it is probed.
        var r = new Random(11 + layers);
        var table = model.Features.Weight.AsSpan<float>();
        for (int i = 0; i < table.Length; i++)
            table[i] = (float)(r.NextDouble() * 2 - 1);
        var tree = NeighborSampler.Sample(model.Graph, [0, 6, 3, 0, 5], fans, new SeededRandom(9));
        int outputs = tree.Targets * model.OutputDims;
        var projection = Enumerable.Range(0, outputs).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        double Loss()
        {
            var pass = model.Forward(tree, training: false);
            double sum = 0;
            for (int i = 0; i < outputs; i++)
                sum += pass.Output[i] * (double)projection[i];
            return sum;
        }
        foreach (var p in model.Parameters)
            p.ZeroGrad();
        var gradRows = model.Backward(model.Forward(tree), projection);
        // Table gradient = the rows' gradients summed by node id.
        int d = model.Options.Dims;
        var gradTable = new double[model.Graph.NumNodes * d];
        for (int j = 0; j < tree.Nodes.Length; j++)
            for (int c = 0; c < d; c++)
                gradTable[tree.Nodes[j] * d + c] += gradRows[j * d + c];
        for (int i = 0; i < table.Length; i++)
        {
            double numeric = Central(() => model.Features.Weight.AsSpan<float>()[i], v => model.Features.Weight.AsSpan<float>()[i] = v, Loss);
            Assert.True(Math.Abs(numeric - gradTable[i]) < 2e-2 * Math.Max(1, Math.Abs(numeric)), $"feature element {i}: numeric {numeric} vs analytic {gradTable[i]}");
        }
        foreach (var p in model.Parameters)
        {
            for (int i = 0; i < p.Length; i++)
            {
                double numeric = Central(() => p.Value[i], v => p.Value[i] = v, Loss);
                Assert.True(Math.Abs(numeric - p.Grad[i]) < 2e-2 * Math.Max(1, Math.Abs(numeric)), $"{p.Name}[{i}]: numeric {numeric} vs analytic {p.Grad[i]}");
            }
        }
        // Not vacuous: the features do receive gradient.
        Assert.Contains(gradTable, g => Math.Abs(g) > 1e-3);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LinkLossMatchesFiniteDifferences(bool shared)
    {
        const int b = 3, q = 2, width = 4;
        var r = new Random(3);
        var z = Enumerable.Range(0, (2 * b + (shared ? q : b * q)) * width).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var grad = new float[z.Length];
        double loss = GraphSageTrainer.LinkLoss(z, b, q, shared, width, 1 / 0.5f, grad);
        Assert.True(loss > 0);
        for (int i = 0; i < z.Length; i++)
        {
            double numeric = Central(() => z[i], v => z[i] = v, () => GraphSageTrainer.LinkLoss(z, b, q, shared, width, 1 / 0.5f, new float[z.Length]));
            Assert.Equal(numeric, grad[i], 3);
        }
        Assert.All(grad, g => Assert.NotEqual(0f, g)); // every row, each negative included, takes part
    }

    private static double Central(Func<float> get, Action<float> set, Func<double> loss)
    {
        const float h = 1e-3f;
        float x = get();
        set(x + h);
        double plus = loss();
        set(x - h);
        double minus = loss();
        set(x);
        return (plus - minus) / (2 * h);
    }
}
