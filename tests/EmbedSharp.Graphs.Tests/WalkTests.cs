using EmbedSharp.Graphs.Walks;
using EmbedSharp.Numerics;

namespace EmbedSharp.Graphs.Tests;

public class WalkTests
{
    [Fact]
    public void AliasTableDrawsInProportionToTheWeights()
    {
        float[] weights = [1, 2, 3, 0, 4];
        var table = new AliasTable(weights);
        var random = new SeededRandom(7);
        var counts = new int[weights.Length];
        const int draws = 200_000;
        for (int i = 0; i < draws; i++)
            counts[table.Sample(random)]++;
        for (int i = 0; i < weights.Length; i++)
            Assert.Equal(weights[i] / 10.0, counts[i] / (double)draws, 2);
        Assert.Equal(0, counts[3]);
        Assert.Throws<ArgumentException>(() => new AliasTable([0, 0]));
        Assert.Throws<ArgumentException>(() => new AliasTable([1, -1]));
        Assert.Throws<ArgumentException>(() => new AliasTable([]));
    }

    [Fact]
    public void SecondOrderStepsFollowNode2VecBias()
    {
        // Nodes: t=0, c=1, a=2 (adjacent to both t and c), b=3 (adjacent to c only).
        var graph = WalkGraph.FromEdges(4, [(0, 1, 1f), (1, 2, 2f), (1, 3, 3f), (0, 2, 1f)]);
        var walker = new RandomWalker(graph);
        double p = 0.5, q = 2;
        var options = new WalkOptions { WalkLength = 3, P = p, Q = q };
        // From c having come from t: t weight 1/p, a weight 2 · 1, b weight 3 / q.
        double[] expected = [1 / p, 0, 2, 3 / q];
        double total = expected.Sum();
        var counts = new int[4];
        int n = 0;
        var random = new SeededRandom(11);
        while (n < 100_000)
        {
            var walk = walker.Walk(0, options, random);
            if (walk[1] != 1)
                continue;
            counts[walk[2]]++;
            n++;
        }
        for (int x = 0; x < 4; x++)
            Assert.Equal(expected[x] / total, counts[x] / (double)n, 2);
    }

    [Fact]
    public void WalksFollowEdgesAndRepeatForAnyThreadCount()
    {
        var edges = new List<(int, int, float)>();
        for (int v = 0; v < 30; v++)
        {
            edges.Add((v, (v + 1) % 30, 1f));
            edges.Add((v, (v * 7) % 30, 0.5f));
        }
        var graph = WalkGraph.FromEdges(31, edges.ToArray()); // node 30 is isolated: no walks from it
        var walker = new RandomWalker(graph);
        var one = walker.Walks(new WalkOptions { WalkLength = 12, WalksPerNode = 3, P = 0.25, Q = 4, Threads = 1 });
        var two = walker.Walks(new WalkOptions { WalkLength = 12, WalksPerNode = 3, P = 0.25, Q = 4, Threads = 2 });
        Assert.Equal(one, two);
        Assert.Equal(90, one.Length);
        foreach (var walk in one)
        {
            Assert.Equal(12, walk.Length);
            for (int i = 1; i < walk.Length; i++)
                Assert.True(graph.HasEdge(walk[i - 1], walk[i]), $"{walk[i - 1]} -> {walk[i]} is not an edge");
        }
        Assert.DoesNotContain(one, w => w[0] == 30);
        Assert.Throws<ArgumentOutOfRangeException>(() => walker.Walks(new WalkOptions { P = 0 }));
        Assert.Throws<ArgumentException>(() => WalkGraph.FromEdges(2, [(0, 2, 1f)]));
    }
}
