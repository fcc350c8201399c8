using EmbedSharp.Graphs.Evaluation;

namespace EmbedSharp.Graphs.Neural.Tests;

public class NodeLinkPredictionTests
{
    [Fact]
    public void RanksMatchABruteForceCount_WithTheFilterAndTies()
    {
        var r = new Random(5);
        const int n = 9, d = 3;
        var z = Enumerable.Range(0, n * d).Select(_ => (float)Math.Round(r.NextDouble() * 4 - 2)).ToArray(); // rounding makes ties
        (int, int)[] heldOut = [(0, 1), (2, 5), (7, 3), (4, 4)];
        (int, int)[] known = [(0, 1), (0, 2), (2, 5), (5, 6), (7, 3), (3, 8), (4, 4)];
        double expected = 0;
        foreach (var (u, v) in heldOut)
            foreach (var (anchor, target) in new[] { (u, v), (v, u) })
            {
                float Score(int e) => Enumerable.Range(0, d).Sum(c => z[anchor * d + c] * z[e * d + c]);
                var neighbours = known.Where(k => k.Item1 == anchor).Select(k => k.Item2).Concat(known.Where(k => k.Item2 == anchor).Select(k => k.Item1)).ToHashSet();
                var candidates = Enumerable.Range(0, n).Where(e => e == target || (e != anchor && !neighbours.Contains(e))).ToArray();
                int greater = candidates.Count(e => Score(e) > Score(target)), equal = candidates.Count(e => e != target && Score(e) == Score(target));
                expected += 1 / (greater + 1 + equal / 2.0);
            }
        var metrics = NodeLinkPrediction.Evaluate(z, n, d, heldOut, known);
        Assert.Equal(expected / 8, metrics.Mrr, 10);
    }

    [Fact]
    public void EqualVectorsGetTheRandomRanker_AndBadInputIsRefused()
    {
        var z = Enumerable.Repeat(1f, 11 * 2).ToArray();
        var metrics = NodeLinkPrediction.Evaluate(z, 11, 2, [(0, 1), (3, 4)], []);
        Assert.Equal(5.5, metrics.MeanRank, 10); // (n − 1 + 1) / 2 over the 10 nodes other than the anchor, never 1
        var e = Assert.Throws<ArgumentException>(() => NodeLinkPrediction.Evaluate(z, 11, 2, [(0, 11)], []));
        Assert.Contains("[graph.evaluate] edge 0 (0, 11) names a node outside 0..10", e.Message);
        Assert.Throws<ArgumentException>(() => NodeLinkPrediction.Evaluate(z, 11, 3, [(0, 1)], []));
    }
}
