using EmbedSharp.Graphs.Data;
using EmbedSharp.Graphs.Evaluation;

namespace EmbedSharp.Graphs.Tests;

public class RankingTests
{
    /// <summary>Brute force: compare the truth with every candidate that is not filtered.</summary>
    private static (long, long) BruteRank(float[] scores, int target, int[] filtered)
    {
        long greater = 0, equal = 0;
        for (int e = 0; e < scores.Length; e++)
        {
            if (e == target || Array.IndexOf(filtered, e) >= 0)
                continue;
            if (scores[e] > scores[target]) greater++;
            else if (scores[e] == scores[target]) equal++;
        }
        return (greater + 1, greater + equal + 1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(33)]
    [InlineData(257)]
    public void RankMatchesBruteForceWithTiesAndFilter(int n)
    {
        var random = new Random(n);
        for (int trial = 0; trial < 50; trial++)
        {
            // Few distinct values, so ties are common.
            var scores = Enumerable.Range(0, n).Select(_ => (float)random.Next(4)).ToArray();
            int target = random.Next(n);
            var filtered = Enumerable.Range(0, n).Where(_ => random.Next(3) == 0).ToArray();
            if (trial % 2 == 0 && Array.IndexOf(filtered, target) < 0)
                filtered = [.. filtered, target]; // the truth itself in the filter must not be dropped
            Assert.Equal(BruteRank(scores, target, filtered), LinkPrediction.Rank(scores, target, filtered));
        }
    }

    [Fact]
    public void NaNTruthRanksLast()
    {
        Assert.Equal((4L, 4L), LinkPrediction.Rank([1, float.NaN, 2, 3], 1, []));
        Assert.Equal((1L, 1L), LinkPrediction.Rank([5, float.NaN, 2, 3], 0, []));
    }

    /// <summary>A scorer from a fixed function of (anchor, relation, side, candidate).</summary>
    private sealed class FuncScorer(int n, int r, Func<int, int, QuerySide, int, float> f) : ILinkScorer
    {
        public int NumEntities => n;
        public int NumRelations => r;
        public void ScoreAll(ReadOnlySpan<int> anchors, ReadOnlySpan<int> relations, QuerySide side, Span<float> scores)
        {
            for (int i = 0; i < anchors.Length; i++)
                for (int e = 0; e < n; e++)
                    scores[i * n + e] = f(anchors[i], relations[i], side, e);
        }
    }

    [Fact]
    public void AllEqualScoresGiveTheRandomRanker()
    {
        int n = 50;
        var triples = Enumerable.Range(0, 30).Select(i => new Triple(i % n, 0, (i * 7 + 3) % n)).ToArray();
        var m = LinkPrediction.Evaluate(new FuncScorer(n, 1, (_, _, _, _) => 0.25f), triples, null, new EvaluationOptions { SliceSize = 7 });
        // Every query: optimistic rank 1, pessimistic n, realistic (n + 1) / 2, the expected rank of a random ranker.
        Assert.Equal((n + 1) / 2.0, m.MeanRank, 9);
        Assert.Equal(2.0 / (n + 1), m.Mrr, 9);
        Assert.True(m.Mrr < 0.1);
        Assert.Equal(0, m.HitsAt10);
        Assert.Equal(60, m.Queries);
    }

    [Fact]
    public void PerfectScorerGetsOneAndFilterMatters()
    {
        int n = 6;
        // Relation 0 maps e -> e+1 and e -> e+2 (two true tails). The scorer loves both true tails equally... then e+1 slightly more.
        var all = new List<Triple>();
        for (int e = 0; e < n; e++)
        {
            all.Add(new Triple(e, 0, (e + 1) % n));
            all.Add(new Triple(e, 0, (e + 2) % n));
        }
        float F(int a, int r, QuerySide side, int c) => side == QuerySide.Tail
            ? (c == (a + 1) % n ? 2 : c == (a + 2) % n ? 1 : 0)
            : (a == (c + 1) % n ? 2 : a == (c + 2) % n ? 1 : 0);
        var scorer = new FuncScorer(n, 1, F);
        var triples = all.ToArray();
        var raw = LinkPrediction.Evaluate(scorer, triples);
        var filtered = LinkPrediction.Evaluate(scorer, triples, FilterIndex.Build(n, triples));
        Assert.Equal(1.0, filtered.Mrr, 12);
        Assert.Equal(1.0, filtered.HitsAt1, 12);
        // Raw: the +2 triples rank second on both sides.
        Assert.Equal(0.75, raw.Mrr, 12);
        Assert.Equal(1.5, raw.MeanRank, 12);
        Assert.Equal(0.5, raw.HitsAt1, 12);
        Assert.Equal(1.0, raw.HitsAt3, 12);
    }

    [Fact]
    public void SliceSizeDoesNotChangeTheResult()
    {
        int n = 23;
        var random = new Random(5);
        var table = Enumerable.Range(0, n * n * 2).Select(_ => (float)random.Next(5)).ToArray();
        var scorer = new FuncScorer(n, 1, (a, _, s, c) => table[((int)s * n + a) * n + c]);
        var triples = Enumerable.Range(0, 40).Select(_ => new Triple(random.Next(n), 0, random.Next(n))).ToArray();
        var filter = FilterIndex.Build(n, triples);
        var a1 = LinkPrediction.Evaluate(scorer, triples, filter, new EvaluationOptions { SliceSize = 1 });
        var a2 = LinkPrediction.Evaluate(scorer, triples, filter, new EvaluationOptions { SliceSize = 1000 });
        Assert.Equal(a1, a2);
        // And equals the brute-force ranks averaged by hand.
        double mrr = 0;
        foreach (var t in triples)
            foreach (var side in new[] { QuerySide.Tail, QuerySide.Head })
            {
                int anchor = side == QuerySide.Tail ? t.Head : t.Tail, target = side == QuerySide.Tail ? t.Tail : t.Head;
                var s = Enumerable.Range(0, n).Select(c => table[((int)side * n + anchor) * n + c]).ToArray();
                var (o, p) = BruteRank(s, target, filter.Answers(anchor, 0, side).ToArray());
                mrr += 1 / (0.5 * (o + p));
            }
        Assert.Equal(mrr / (2 * triples.Length), a1.Mrr, 12);
    }

    [Fact]
    public void BadInputIsRejected()
    {
        var scorer = new FuncScorer(3, 1, (_, _, _, _) => 0);
        Assert.Throws<ArgumentException>(() => LinkPrediction.Evaluate(scorer, [new Triple(0, 0, 3)]));
        Assert.Throws<ArgumentException>(() => LinkPrediction.Evaluate(scorer, [new Triple(0, 1, 2)]));
        Assert.Throws<ArgumentException>(() => LinkPrediction.Evaluate(scorer, [new Triple(0, 0, 1)], FilterIndex.Build(4, [])));
        Assert.Throws<ArgumentOutOfRangeException>(() => LinkPrediction.Evaluate(scorer, [new Triple(0, 0, 1)], null, new EvaluationOptions { SliceSize = 0 }));
        Assert.Equal(RankingMetrics.Empty, LinkPrediction.Evaluate(scorer, []));
    }
}
