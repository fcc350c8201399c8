using EmbedSharp.Graphs.Walks;
using EmbedSharp.Numerics;

namespace EmbedSharp.Graphs.Neural.Tests;

public class SamplerTests
{
    [Fact]
    public void TreeHasFixedFanOutsAndEveryChildIsANeighbour()
    {
        // 0–1, 0–2, 1–2, 2–3; node 4 isolated.
        var graph = WalkGraph.FromEdges(5, [(0, 1, 1f), (0, 2, 1f), (1, 2, 1f), (2, 3, 1f)]);
        var tree = NeighborSampler.Sample(graph, [0, 4, 3, 0], [3, 2], new SeededRandom(1));
        Assert.Equal([0, 4, 16, 40], tree.HopOffsets);
        Assert.Equal(3, tree.Hops);
        Assert.Equal([0, 4, 3, 0], tree.Nodes[..4]);
        for (int hop = 0; hop < 2; hop++)
        {
            int s = tree.FanOuts[hop];
            for (int i = 0; i < tree.HopOffsets[hop + 1] - tree.HopOffsets[hop]; i++)
            {
                int parent = tree.Nodes[tree.HopOffsets[hop] + i];
                for (int j = 0; j < s; j++)
                {
                    int child = tree.Nodes[tree.HopOffsets[hop + 1] + i * s + j];
                    Assert.True(parent == 4 ? child == 4 : graph.HasEdge(parent, child), $"hop {hop} parent {parent} child {child}");
                }
            }
        }
        var again = NeighborSampler.Sample(graph, [0, 4, 3, 0], [3, 2], new SeededRandom(1));
        Assert.Equal(tree.Nodes, again.Nodes);
    }

    [Fact]
    public void SamplingIsUniformOverNeighbours()
    {
        var graph = WalkGraph.FromEdges(4, [(0, 1, 1f), (0, 2, 5f), (0, 3, 1f)]); // weights do not matter to GraphSAGE's sampler
        var tree = NeighborSampler.Sample(graph, [0], [30_000], new SeededRandom(3));
        var counts = new int[4];
        foreach (int v in tree.Nodes.AsSpan(1))
            counts[v]++;
        Assert.Equal(0, counts[0]);
        for (int v = 1; v < 4; v++)
            Assert.InRange(counts[v] / 30_000.0, 1 / 3.0 - 0.012, 1 / 3.0 + 0.012); // ± 4.4 standard deviations
    }

    [Fact]
    public void EmptyTargetsAndBadInputs()
    {
        var graph = WalkGraph.FromEdges(2, [(0, 1, 1f)]);
        var tree = NeighborSampler.Sample(graph, [], [2, 2], new SeededRandom(1));
        Assert.Empty(tree.Nodes);
        Assert.Equal(0, tree.Targets);
        var noLayers = NeighborSampler.Sample(graph, [1, 0], [], new SeededRandom(1));
        Assert.Equal([1, 0], noLayers.Nodes);
        var e = Assert.Throws<ArgumentException>(() => NeighborSampler.Sample(graph, [2], [1], new SeededRandom(1)));
        Assert.Contains("[graphsage.sample] target 2 is outside 0..1", e.Message);
        Assert.Throws<ArgumentException>(() => NeighborSampler.Sample(graph, [0], [0], new SeededRandom(1)));
        Assert.Throws<ArgumentException>(() => NeighborSampler.Sample(graph, [0], [100_000, 100_000], new SeededRandom(1)));
    }
}
