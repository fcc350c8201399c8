using EmbedSharp.Diagnostics;
using EmbedSharp.Graphs.Data;

namespace EmbedSharp.Graphs.Walks;

/// <summary>
/// An undirected weighted graph in compressed rows (neighbours of each node sorted, parallel edges
/// merged by adding their weights), the input of <see cref="RandomWalker"/>.
/// </summary>
public sealed class WalkGraph
{
    private WalkGraph(int numNodes, int[] offsets, int[] neighbors, float[] weights)
    {
        NumNodes = numNodes;
        Offsets = offsets;
        Neighbors = neighbors;
        Weights = weights;
    }

    /// <summary>Number of nodes (ids 0 .. NumNodes-1).</summary>
    public int NumNodes { get; }

    /// <summary>Row starts: the neighbours of node v are <c>Neighbors[Offsets[v] .. Offsets[v + 1]]</c>.</summary>
    internal int[] Offsets { get; }

    internal int[] Neighbors { get; }

    internal float[] Weights { get; }

    /// <summary>Number of neighbours of <paramref name="node"/>.</summary>
    public int Degree(int node) => Offsets[node + 1] - Offsets[node];

    /// <summary>The sorted neighbours of <paramref name="node"/>.</summary>
    public ReadOnlySpan<int> NeighborsOf(int node) => Neighbors.AsSpan(Offsets[node], Degree(node));

    /// <summary>Whether the edge u–v exists.</summary>
    public bool HasEdge(int u, int v) => NeighborsOf(u).BinarySearch(v) >= 0;

    /// <summary>
    /// The graph of <paramref name="edges"/> (u, v, weight) over <paramref name="numNodes"/> nodes; each edge
    /// joins u and v both ways, self-loops once.
    /// </summary>
    /// <exception cref="ArgumentException">A node id is out of range or a weight is not finite and &gt; 0.</exception>
    public static WalkGraph FromEdges(int numNodes, ReadOnlySpan<(int U, int V, float Weight)> edges)
    {
        const string op = "walk_graph";
        Guard.NonNegative(op, numNodes);
        foreach (var (u, v, w) in edges)
        {
            if ((uint)u >= (uint)numNodes || (uint)v >= (uint)numNodes)
                ThrowHelper.Argument(op, nameof(edges), $"edge ({u}, {v}) names a node outside 0..{numNodes - 1}");
            if (!(w > 0) || !float.IsFinite(w))
                ThrowHelper.Argument(op, nameof(edges), $"edge ({u}, {v}) has weight {w}; weights must be finite and > 0");
        }
        var lists = new Dictionary<int, float>[numNodes];
        foreach (var (u, v, w) in edges)
        {
            Add(lists, u, v, w);
            if (u != v)
                Add(lists, v, u, w);
        }
        var offsets = new int[numNodes + 1];
        for (int i = 0; i < numNodes; i++)
            offsets[i + 1] = offsets[i] + (lists[i]?.Count ?? 0);
        var neighbors = new int[offsets[numNodes]];
        var weights = new float[offsets[numNodes]];
        for (int i = 0; i < numNodes; i++)
        {
            if (lists[i] is null)
                continue;
            int k = offsets[i];
            foreach (var (n, w) in lists[i].OrderBy(p => p.Key))
            {
                neighbors[k] = n;
                weights[k++] = w;
            }
        }
        return new WalkGraph(numNodes, offsets, neighbors, weights);
    }

    /// <summary>The entity graph of triples: an edge of weight 1 per triple between head and tail, relations ignored.</summary>
    public static WalkGraph FromTriples(int numEntities, ReadOnlySpan<Triple> triples)
    {
        var edges = new (int, int, float)[triples.Length];
        for (int i = 0; i < triples.Length; i++)
            edges[i] = (triples[i].Head, triples[i].Tail, 1f);
        return FromEdges(numEntities, edges);
    }

    private static void Add(Dictionary<int, float>[] lists, int u, int v, float w)
    {
        var d = lists[u] ??= [];
        d[v] = d.TryGetValue(v, out float old) ? old + w : w;
    }
}
