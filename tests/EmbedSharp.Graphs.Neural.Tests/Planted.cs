using EmbedSharp.Graphs.Walks;
using EmbedSharp.Numerics;

namespace EmbedSharp.Graphs.Neural.Tests;

/// <summary>Stochastic block models: <c>blocks</c> groups of <c>size</c> nodes, edges within a group with probability pIn, across with pOut.</summary>
internal static class Planted
{
    public static (List<(int U, int V)> Edges, int[] Labels) BlockModel(int blocks, int size, double pIn, double pOut, ulong seed)
    {
        var random = new SeededRandom(seed);
        int n = blocks * size;
        var labels = new int[n];
        for (int v = 0; v < n; v++)
            labels[v] = v / size;
        var edges = new List<(int, int)>();
        for (int u = 0; u < n; u++)
            for (int v = u + 1; v < n; v++)
                if (random.NextDouble() < (labels[u] == labels[v] ? pIn : pOut))
                    edges.Add((u, v));
        return (edges, labels);
    }

    public static WalkGraph Graph(int n, IEnumerable<(int U, int V)> edges) =>
        WalkGraph.FromEdges(n, edges.Select(e => (e.U, e.V, 1f)).ToArray());
}
