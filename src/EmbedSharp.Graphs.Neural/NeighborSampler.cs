using EmbedSharp.Diagnostics;
using EmbedSharp.Graphs.Walks;
using EmbedSharp.Numerics;

namespace EmbedSharp.Graphs.Neural;

/// <summary>
/// The computation tree of a GraphSAGE mini-batch (Hamilton et al. 2017, Algorithm 2), stored hop by hop:
/// hop 0 holds the targets, and hop <c>l + 1</c> holds <c>FanOuts[l]</c> sampled neighbours of every hop-<c>l</c>
/// node, so the children of hop-<c>l</c> node <c>i</c> are hop-<c>l + 1</c> nodes <c>i · FanOuts[l] .. (i + 1) · FanOuts[l] − 1</c>.
/// </summary>
/// <remarks>
/// Fixed fan-outs make every aggregation a mean over a fixed-size group, as in the paper's reference code
/// (which also repeats rather than deduplicates nodes). Hop <c>l</c> has <c>targets · Π_{i&lt;l} FanOuts[i]</c> nodes.
/// </remarks>
public sealed class SampledTree
{
    internal SampledTree(int[] nodes, int[] hopOffsets, int[] fanOuts)
    {
        Nodes = nodes;
        HopOffsets = hopOffsets;
        FanOuts = fanOuts;
    }

    /// <summary>Every hop's nodes, concatenated (hop 0 first).</summary>
    public int[] Nodes { get; }

    /// <summary>Where each hop starts in <see cref="Nodes"/>; <c>Hops + 1</c> entries, the last = <c>Nodes.Length</c>.</summary>
    public int[] HopOffsets { get; }

    /// <summary>Neighbours sampled per node at each hop (one per layer).</summary>
    public int[] FanOuts { get; }

    /// <summary>Number of hops, <c>FanOuts.Length + 1</c>.</summary>
    public int Hops => HopOffsets.Length - 1;

    /// <summary>Number of targets (hop 0).</summary>
    public int Targets => HopOffsets[1];

    /// <summary>Rows of hops <c>0 .. lastHop</c>.</summary>
    public int RowsThrough(int lastHop) => HopOffsets[lastHop + 1];
}

/// <summary>Uniform fixed-size neighbour sampling with replacement over a <see cref="WalkGraph"/>.</summary>
public static class NeighborSampler
{
    private const string Op = "graphsage.sample";

    /// <summary>
    /// Samples the computation tree of <paramref name="targets"/>: at hop <c>l</c> every node draws
    /// <c>fanOuts[l]</c> neighbours uniformly with replacement; a node without neighbours stands in for its own
    /// neighbours (a self-loop), so its aggregate is its own previous representation.
    /// </summary>
    /// <exception cref="ArgumentException">A target is out of range, a fan-out is not positive, or the tree would exceed 2³¹ nodes.</exception>
    public static SampledTree Sample(WalkGraph graph, ReadOnlySpan<int> targets, ReadOnlySpan<int> fanOuts, SeededRandom random)
    {
        Guard.NotNull(Op, graph);
        Guard.NotNull(Op, random);
        foreach (int t in targets)
            if ((uint)t >= (uint)graph.NumNodes)
                ThrowHelper.Argument(Op, nameof(targets), $"target {t} is outside 0..{graph.NumNodes - 1}");
        var offsets = new int[fanOuts.Length + 2];
        long rows = targets.Length, total = rows;
        offsets[1] = targets.Length;
        for (int l = 0; l < fanOuts.Length; l++)
        {
            if (fanOuts[l] < 1)
                ThrowHelper.Argument(Op, nameof(fanOuts), $"fan-out {fanOuts[l]} at hop {l + 1} must be ≥ 1");
            rows *= fanOuts[l];
            total += rows;
            if (total > Array.MaxLength)
                ThrowHelper.Argument(Op, nameof(fanOuts), $"the tree of {targets.Length} targets with fan-outs [{string.Join(", ", fanOuts.ToArray())}] has more than {Array.MaxLength} nodes; use smaller batches or fan-outs");
            offsets[l + 2] = (int)total;
        }
        var nodes = new int[total];
        targets.CopyTo(nodes);
        for (int l = 0; l < fanOuts.Length; l++)
        {
            int s = fanOuts[l], from = offsets[l], to = offsets[l + 1], write = offsets[l + 1];
            for (int i = from; i < to; i++)
            {
                ReadOnlySpan<int> neighbors = graph.NeighborsOf(nodes[i]);
                for (int j = 0; j < s; j++)
                    nodes[write++] = neighbors.IsEmpty ? nodes[i] : neighbors[random.NextInt(neighbors.Length)];
            }
        }
        return new SampledTree(nodes, offsets, fanOuts.ToArray());
    }
}
