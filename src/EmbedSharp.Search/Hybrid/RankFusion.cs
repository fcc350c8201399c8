using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search.Hybrid;

/// <summary>Reciprocal-rank fusion (Cormack, Clarke &amp; Büttcher 2009) of several rankings of the same ids.</summary>
public static class RankFusion
{
    /// <summary>
    /// Fuses <paramref name="rankings"/> (each best first): <c>score(id) = Σ_r 1 / (rrfK + rank_r(id))</c>
    /// with ranks from 1, an id absent from a ranking contributing nothing; the best <paramref name="k"/>,
    /// equal scores to the lower id.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is negative or <paramref name="rrfK"/> is negative.</exception>
    public static Neighbor[] Reciprocal(IReadOnlyList<Neighbor[]> rankings, int k, int rrfK = 60)
    {
        const string op = "rrf";
        Guard.NotNull(op, rankings);
        Guard.NonNegative(op, k);
        Guard.NonNegative(op, rrfK);
        var scores = new Dictionary<int, double>();
        foreach (var ranking in rankings)
        {
            var seen = new HashSet<int>();
            for (int rank = 0; rank < ranking.Length; rank++)
            {
                // An id listed twice in one ranking counts once, at its best rank.
                if (seen.Add(ranking[rank].Index))
                    scores[ranking[rank].Index] = scores.GetValueOrDefault(ranking[rank].Index) + 1.0 / (rrfK + rank + 1);
            }
        }
        return scores.OrderByDescending(s => s.Value).ThenBy(s => s.Key).Take(k)
            .Select(s => new Neighbor(s.Key, (float)s.Value)).ToArray();
    }
}
