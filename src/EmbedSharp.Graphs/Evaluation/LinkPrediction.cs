using System.Numerics;
using EmbedSharp.Diagnostics;
using EmbedSharp.Graphs.Data;

namespace EmbedSharp.Graphs.Evaluation;

/// <summary>
/// Filtered (or raw) ranking of the true head and tail among all entities. Queries are scored in slices
/// of <see cref="EvaluationOptions.SliceSize"/>, so memory is <c>SliceSize × NumEntities</c> floats whatever
/// the number of test triples (never a |test| × |E| matrix).
/// </summary>
/// <remarks>
/// Ties are ranked realistically, as PyKEEN does by default: with g entities scoring above the truth and
/// q others scoring equal, the optimistic rank is g + 1, the pessimistic g + q + 1, and the rank used is
/// their mean. A model that scores every entity the same thus gets rank (n + 1) / 2 on every query, the
/// expected rank of a random ranker, and never rank 1. In the filtered setting the other known answers
/// (from <see cref="FilterIndex"/>) are left out before counting. A NaN score of the truth ranks it last;
/// NaN scores of other entities never count above it.
/// </remarks>
public static class LinkPrediction
{
    private const string Op = "kg.evaluate";

    /// <summary>Ranks every triple's head and/or tail and returns the metrics.</summary>
    /// <param name="model">The scorer.</param>
    /// <param name="triples">Test triples (ids in the model's range).</param>
    /// <param name="filter">Known true triples to leave out of the ranking (filtered setting), or null for raw ranks.</param>
    /// <param name="options">Slice size, sides, progress.</param>
    /// <param name="cancellationToken">Checked between slices.</param>
    /// <exception cref="ArgumentException">An id is out of the model's range, or the filter is for another entity count.</exception>
    public static RankingMetrics Evaluate(ILinkScorer model, ReadOnlySpan<Triple> triples, FilterIndex? filter = null, EvaluationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Guard.NotNull(Op, model);
        options ??= new EvaluationOptions();
        Guard.Positive(Op, options.SliceSize, "SliceSize");
        if (!Enum.IsDefined(options.Sides))
            ThrowHelper.ArgumentOutOfRange(Op, "Sides", options.Sides, "valid values are Both, TailOnly, HeadOnly");
        KnowledgeGraph.Check(Op, "triples", triples, model.NumEntities, model.NumRelations);
        if (filter is not null && filter.NumEntities != model.NumEntities)
            ThrowHelper.Argument(Op, nameof(filter), $"the filter was built for {filter.NumEntities} entities but the model has {model.NumEntities}");
        if (triples.Length == 0)
            return RankingMetrics.Empty;

        var sides = options.Sides switch
        {
            RankingSides.TailOnly => new[] { QuerySide.Tail },
            RankingSides.HeadOnly => new[] { QuerySide.Head },
            _ => new[] { QuerySide.Tail, QuerySide.Head },
        };
        int n = model.NumEntities;
        long total = (long)triples.Length * sides.Length;
        var tripleArray = triples.ToArray();
        // One realistic rank per query, in (side, triple) order; summed in that order at the end, so the
        // metrics do not depend on how the queries were split over threads.
        var ranks = new double[total];
        if (n <= SmallGraphEntities)
            RankSmall(model, tripleArray, sides, filter, options, ranks, cancellationToken);
        else
            RankSliced(model, tripleArray, sides, filter, options, ranks, cancellationToken);
        double sumReciprocal = 0, sumRank = 0;
        long hits1 = 0, hits3 = 0, hits10 = 0;
        foreach (double r in ranks)
        {
            sumReciprocal += 1.0 / r;
            sumRank += r;
            hits1 += r <= 1 ? 1 : 0;
            hits3 += r <= 3 ? 1 : 0;
            hits10 += r <= 10 ? 1 : 0;
        }
        return new RankingMetrics(sumReciprocal / total, sumRank / total, (double)hits1 / total, (double)hits3 / total, (double)hits10 / total, triples.Length, total);
    }

    /// <summary>Entity counts up to this are ranked in small independent blocks of queries, one block per worker at a time.</summary>
    internal const int SmallGraphEntities = 4096;

    /// <summary>Queries per block on a small graph: one score tile of <c>QueryBlock × n</c> per worker, scored and ranked while it is in cache.</summary>
    private const int QueryBlock = 32;

    /// <summary>
    /// Small graphs: scoring a query costs little next to the fixed costs of a parallel step, so queries go in
    /// blocks of <see cref="QueryBlock"/>, each scored (one product) and ranked by one worker into its own tile;
    /// many blocks make one parallel step, and progress and cancellation are handled between steps.
    /// </summary>
    private static void RankSmall(ILinkScorer model, Triple[] triples, QuerySide[] sides, FilterIndex? filter, EvaluationOptions options, double[] ranks, CancellationToken cancellationToken)
    {
        int n = model.NumEntities;
        long total = ranks.LongLength;
        int blocks = (int)((total + QueryBlock - 1) / QueryBlock);
        const int blocksPerStep = 64;
        for (int first = 0; first < blocks; first += blocksPerStep)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int last = Math.Min(blocks, first + blocksPerStep);
            Parallel.For(first, last, () => new BlockScratch(n), (b, _, scratch) =>
            {
                long q0 = (long)b * QueryBlock;
                int count = (int)Math.Min(QueryBlock, total - q0);
                for (int i = 0; i < count; i++)
                {
                    long q = q0 + i;
                    var side = sides[q / triples.Length];
                    var t = triples[q % triples.Length];
                    scratch.Anchors[i] = side == QuerySide.Tail ? t.Head : t.Tail;
                    scratch.Relations[i] = t.Relation;
                    scratch.Targets[i] = side == QuerySide.Tail ? t.Tail : t.Head;
                    scratch.Sides[i] = side;
                }
                // A block may straddle the two sides: score each side's run with one call.
                for (int i0 = 0; i0 < count;)
                {
                    int i1 = i0 + 1;
                    while (i1 < count && scratch.Sides[i1] == scratch.Sides[i0])
                        i1++;
                    model.ScoreAll(scratch.Anchors.AsSpan(i0, i1 - i0), scratch.Relations.AsSpan(i0, i1 - i0), scratch.Sides[i0], scratch.Scores.AsSpan(i0 * n, (i1 - i0) * n));
                    i0 = i1;
                }
                for (int i = 0; i < count; i++)
                {
                    ReadOnlySpan<int> known = filter is null ? default : filter.Answers(scratch.Anchors[i], scratch.Relations[i], scratch.Sides[i]);
                    var (optimistic, pessimistic) = Rank(scratch.Scores.AsSpan(i * n, n), scratch.Targets[i], known);
                    ranks[q0 + i] = 0.5 * (optimistic + pessimistic);
                }
                return scratch;
            }, _ => { });
            options.Progress?.Invoke(Math.Min(total, (long)last * QueryBlock), total);
        }
    }

    private sealed class BlockScratch(int n)
    {
        public readonly int[] Anchors = new int[QueryBlock], Relations = new int[QueryBlock], Targets = new int[QueryBlock];
        public readonly QuerySide[] Sides = new QuerySide[QueryBlock];
        public readonly float[] Scores = new float[(long)QueryBlock * n];
    }

    /// <summary>Large graphs: slices of <see cref="EvaluationOptions.SliceSize"/> queries, each scored by one (parallel) product, then ranked in parallel.</summary>
    private static void RankSliced(ILinkScorer model, Triple[] tripleArray, QuerySide[] sides, FilterIndex? filter, EvaluationOptions options, double[] ranks, CancellationToken cancellationToken)
    {
        int n = model.NumEntities;
        long total = ranks.LongLength, done = 0;
        int slice = (int)Math.Min(options.SliceSize, Math.Max(1, int.MaxValue / Math.Max(1, n)));
        slice = Math.Min(slice, tripleArray.Length);
        var scores = new float[(long)slice * n];
        var anchors = new int[slice];
        var relations = new int[slice];
        var targets = new int[slice];
        foreach (var side in sides)
        {
            for (int start = 0; start < tripleArray.Length; start += slice)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int count = Math.Min(slice, tripleArray.Length - start);
                for (int i = 0; i < count; i++)
                {
                    var t = tripleArray[start + i];
                    anchors[i] = side == QuerySide.Tail ? t.Head : t.Tail;
                    relations[i] = t.Relation;
                    targets[i] = side == QuerySide.Tail ? t.Tail : t.Head;
                }
                model.ScoreAll(anchors.AsSpan(0, count), relations.AsSpan(0, count), side, scores.AsSpan(0, count * n));
                long offset = done;
                Parallel.For(0, count, i =>
                {
                    ReadOnlySpan<int> known = filter is null ? default : filter.Answers(anchors[i], relations[i], side);
                    var (optimistic, pessimistic) = Rank(scores.AsSpan(i * n, n), targets[i], known);
                    ranks[offset + i] = 0.5 * (optimistic + pessimistic);
                });
                done += count;
                options.Progress?.Invoke(done, total);
            }
        }
    }

    /// <summary>
    /// Optimistic and pessimistic rank of <paramref name="target"/> among <paramref name="scores"/>, leaving out
    /// the entities in <paramref name="filtered"/> other than the target (sorted or not; repeats are not allowed).
    /// </summary>
    internal static (long Optimistic, long Pessimistic) Rank(ReadOnlySpan<float> scores, int target, ReadOnlySpan<int> filtered)
    {
        float truth = scores[target];
        long candidates = scores.Length;
        foreach (int f in filtered)
            if (f != target)
                candidates--;
        if (float.IsNaN(truth))
            return (candidates, candidates);
        long greater = 0, equalOrGreater = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated && scores.Length >= Vector<float>.Count)
        {
            var t = new Vector<float>(truth);
            var g = Vector<int>.Zero;
            var ge = Vector<int>.Zero;
            int blocks = 0;
            for (; i <= scores.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var s = new Vector<float>(scores.Slice(i));
                g -= Vector.GreaterThan(s, t);
                ge -= Vector.GreaterThanOrEqual(s, t);
                if (++blocks == 1 << 20)
                {
                    greater += Vector.Sum(g);
                    equalOrGreater += Vector.Sum(ge);
                    g = ge = Vector<int>.Zero;
                    blocks = 0;
                }
            }
            greater += Vector.Sum(g);
            equalOrGreater += Vector.Sum(ge);
        }
        for (; i < scores.Length; i++)
        {
            greater += scores[i] > truth ? 1 : 0;
            equalOrGreater += scores[i] >= truth ? 1 : 0;
        }
        equalOrGreater--; // the target itself
        foreach (int f in filtered)
        {
            if (f == target)
                continue;
            float s = scores[f];
            if (s > truth)
                greater--;
            if (s >= truth)
                equalOrGreater--;
        }
        return (greater + 1, equalOrGreater + 1);
    }
}
