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
        int slice = (int)Math.Min(options.SliceSize, Math.Max(1, int.MaxValue / Math.Max(1, n)));
        slice = Math.Min(slice, triples.Length);
        var scores = new float[(long)slice * n];
        var anchors = new int[slice];
        var relations = new int[slice];
        var targets = new int[slice];
        var ranks = new double[slice];
        double sumReciprocal = 0, sumRank = 0;
        long hits1 = 0, hits3 = 0, hits10 = 0, done = 0;
        var tripleArray = triples.ToArray();
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
                Parallel.For(0, count, i =>
                {
                    ReadOnlySpan<int> known = filter is null ? default : filter.Answers(anchors[i], relations[i], side);
                    var (optimistic, pessimistic) = Rank(scores.AsSpan(i * n, n), targets[i], known);
                    ranks[i] = 0.5 * (optimistic + pessimistic);
                });
                for (int i = 0; i < count; i++)
                {
                    double r = ranks[i];
                    sumReciprocal += 1.0 / r;
                    sumRank += r;
                    hits1 += r <= 1 ? 1 : 0;
                    hits3 += r <= 3 ? 1 : 0;
                    hits10 += r <= 10 ? 1 : 0;
                }
                done += count;
                options.Progress?.Invoke(done, total);
            }
        }
        return new RankingMetrics(sumReciprocal / total, sumRank / total, (double)hits1 / total, (double)hits3 / total, (double)hits10 / total, triples.Length, total);
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
