using EmbedSharp.Diagnostics;
using EmbedSharp.Graphs.Data;

namespace EmbedSharp.Graphs.Evaluation;

/// <summary>
/// Relation-agnostic link prediction on a plain graph: node vectors score an edge u–v by the dot product
/// <c>z_u · z_v</c>, and each held-out edge is ranked with <see cref="LinkPrediction"/>'s filtered, realistic-tie
/// ranking (both ends, the other known neighbours left out). This is how node2vec, GraphSAGE and a shallow
/// embedding are compared on the same footing when a graph has no node labels.
/// </summary>
public static class NodeLinkPrediction
{
    private const string Op = "graph.evaluate";

    /// <summary>
    /// Ranks both ends of every edge of <paramref name="heldOut"/> among all nodes by <c>z_u · z_v</c>.
    /// </summary>
    /// <param name="vectors">Node vectors, <c>[numNodes, dims]</c> row-major.</param>
    /// <param name="numNodes">Rows of <paramref name="vectors"/>.</param>
    /// <param name="dims">Columns of <paramref name="vectors"/>.</param>
    /// <param name="heldOut">Edges to rank (u, v), node ids in range.</param>
    /// <param name="known">Every known edge (training and held-out) to filter, either direction; empty for raw ranks (the anchor itself is always left out).</param>
    /// <param name="options">Slice size and progress (sides are always both: the graph is undirected).</param>
    /// <param name="cancellationToken">Checked between slices.</param>
    /// <exception cref="ArgumentException">Wrong lengths or an id out of range.</exception>
    public static RankingMetrics Evaluate(ReadOnlySpan<float> vectors, int numNodes, int dims, ReadOnlySpan<(int U, int V)> heldOut,
        ReadOnlySpan<(int U, int V)> known, EvaluationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Guard.Positive(Op, numNodes);
        Guard.Positive(Op, dims);
        Guard.Length(Op, vectors.Length, (long)numNodes * dims, $"numNodes × dims = {numNodes} × {dims}");
        var test = ToTriples(heldOut, numNodes, nameof(heldOut));
        // The anchor itself is never a candidate: under a dot product (unit-length rows above all) a node is its own
        // best match, which says nothing about its links. A held-out self-loop is still ranked (the target is never filtered).
        var self = new Triple[numNodes];
        for (int v = 0; v < numNodes; v++)
            self[v] = new Triple(v, 0, v);
        var k = ToTriples(known, numNodes, nameof(known));
        var reversed = k.Select(t => new Triple(t.Tail, 0, t.Head)).ToArray();
        var filter = FilterIndex.Build(numNodes, self, k, reversed);
        using var table = Embedding.FromPretrained(vectors, numNodes, dims, freeze: true);
        var scorer = new DotScorer(table);
        return LinkPrediction.Evaluate(scorer, test, filter, new EvaluationOptions
        {
            SliceSize = options?.SliceSize ?? 256,
            Progress = options?.Progress,
            Sides = RankingSides.Both,
        }, cancellationToken);
    }

    private static Triple[] ToTriples(ReadOnlySpan<(int U, int V)> edges, int numNodes, string name)
    {
        var triples = new Triple[edges.Length];
        for (int i = 0; i < edges.Length; i++)
        {
            var (u, v) = edges[i];
            if ((uint)u >= (uint)numNodes || (uint)v >= (uint)numNodes)
                ThrowHelper.Argument(Op, name, $"edge {i} ({u}, {v}) names a node outside 0..{numNodes - 1}");
            triples[i] = new Triple(u, 0, v);
        }
        return triples;
    }

    /// <summary>Scores a slice of anchors against every node with one product over the node table (no copy of it).</summary>
    private sealed class DotScorer(Embedding table) : ILinkScorer
    {
        private float[] _anchors = [];

        public int NumEntities => table.NumEmbeddings;

        public int NumRelations => 1;

        public void ScoreAll(ReadOnlySpan<int> anchors, ReadOnlySpan<int> relations, QuerySide side, Span<float> scores)
        {
            int m = anchors.Length, dims = table.Dims;
            if (_anchors.Length < m * dims)
                _anchors = new float[m * dims];
            table.Forward(anchors, _anchors.AsSpan(0, m * dims));
            table.AsLinear(_anchors.AsSpan(0, m * dims), scores[..(m * table.NumEmbeddings)]);
        }
    }
}
