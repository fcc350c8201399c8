using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Graphs.Walks;

/// <summary>Settings of <see cref="RandomWalker"/>.</summary>
public sealed record WalkOptions
{
    /// <summary>Nodes per walk, the start included (default 80, as in node2vec).</summary>
    public int WalkLength { get; init; } = 80;

    /// <summary>Walks started from every node (default 10).</summary>
    public int WalksPerNode { get; init; } = 10;

    /// <summary>Return parameter p: a step back to the previous node is weighted 1/p (default 1).</summary>
    public double P { get; init; } = 1;

    /// <summary>In-out parameter q: a step to a node not adjacent to the previous one is weighted 1/q (default 1; p = q = 1 is DeepWalk).</summary>
    public double Q { get; init; } = 1;

    /// <summary>Seed (default 1). Walk i of node v depends only on the seed, i and v, not on the thread count.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Threads generating walks (default: the processor count).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>
/// node2vec's biased second-order random walks (Grover and Leskovec 2016), DeepWalk's when p = q = 1.
/// From the current node c, having come from t, the next node x is drawn with weight
/// <c>w(c, x) · α(t, x)</c>, with α = 1/p if x = t, 1 if x is a neighbour of t, 1/q otherwise.
/// </summary>
/// <remarks>
/// Each node has an alias table over its edge weights (first-order proposal in O(1)); the bias is then
/// applied exactly by rejection: a proposal x is kept with probability α(t, x) / max(1/p, 1, 1/q). This
/// draws from node2vec's distribution without its per-edge alias tables (memory Σ deg², which dense
/// hubs make prohibitive) — the KnightKing approach. Neighbourhood tests are a binary search in t's sorted
/// neighbours. A walk stops early at a node without neighbours.
/// </remarks>
public sealed class RandomWalker
{
    private const string Op = "random_walks";
    private readonly WalkGraph _graph;
    private readonly AliasTable?[] _alias;

    /// <summary>Prepares the alias tables of <paramref name="graph"/>.</summary>
    public RandomWalker(WalkGraph graph)
    {
        _graph = Guard.NotNull(Op, graph);
        _alias = new AliasTable?[graph.NumNodes];
        for (int v = 0; v < graph.NumNodes; v++)
            if (graph.Degree(v) > 0)
                _alias[v] = new AliasTable(graph.Weights.AsSpan(graph.Offsets[v], graph.Degree(v)));
    }

    /// <summary>The graph walked.</summary>
    public WalkGraph Graph => _graph;

    /// <summary>
    /// All walks: <see cref="WalkOptions.WalksPerNode"/> rounds, each starting once from every node with
    /// a neighbour, in node order (round-major). Node ids per walk.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public int[][] Walks(WalkOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new WalkOptions();
        Validate(options);
        var starts = Enumerable.Range(0, _graph.NumNodes).Where(v => _graph.Degree(v) > 0).ToArray();
        var walks = new int[(long)starts.Length * options.WalksPerNode][];
        Parallel.For(0, walks.Length, new ParallelOptions { MaxDegreeOfParallelism = options.Threads, CancellationToken = cancellationToken }, i =>
        {
            int round = i / starts.Length, start = starts[i % starts.Length];
            var random = new SeededRandom(options.Seed ^ ((ulong)round << 40) ^ ((ulong)start * 0x9E3779B97F4A7C15UL));
            walks[i] = Walk(start, options, random);
        });
        return walks;
    }

    /// <summary>One walk from <paramref name="start"/>.</summary>
    public int[] Walk(int start, WalkOptions options, SeededRandom random)
    {
        Guard.InRange(Op, start, 0, _graph.NumNodes);
        Guard.NotNull(Op, random);
        Validate(options);
        var walk = new List<int>(options.WalkLength) { start };
        double invP = 1 / options.P, invQ = 1 / options.Q;
        double maxBias = Math.Max(1, Math.Max(invP, invQ));
        bool biased = options.P != 1 || options.Q != 1;
        while (walk.Count < options.WalkLength)
        {
            int current = walk[^1];
            var table = _alias[current];
            if (table is null)
                break;
            var neighbors = _graph.NeighborsOf(current);
            if (walk.Count == 1 || !biased)
            {
                walk.Add(neighbors[table.Sample(random)]);
                continue;
            }
            int previous = walk[^2];
            while (true)
            {
                int x = neighbors[table.Sample(random)];
                double bias = x == previous ? invP : _graph.HasEdge(previous, x) ? 1 : invQ;
                if (random.NextDouble() * maxBias < bias)
                {
                    walk.Add(x);
                    break;
                }
            }
        }
        return walk.ToArray();
    }

    private static void Validate(WalkOptions o)
    {
        Guard.Positive(Op, o.WalkLength, "WalkLength");
        Guard.Positive(Op, o.WalksPerNode, "WalksPerNode");
        Guard.Positive(Op, o.Threads, "Threads");
        Guard.PositiveFinite(Op, o.P, "P");
        Guard.PositiveFinite(Op, o.Q, "Q");
    }
}
