using EmbedSharp.Models.Data;
using EmbedSharp.Numerics;

namespace EmbedSharp.Models.Tests.Recommenders;

/// <summary>Synthetic interactions with a planted structure the models must recover.</summary>
internal static class Planted
{
    /// <summary>
    /// Ratings from a rank-2 model plus biases, r = 3 + b_u + b_i + p_u·q_i (clipped to 1..5), on a
    /// random 40% of a 60 × 50 grid; returns (train, test) with every 5th observed cell in test.
    /// </summary>
    public static (RatingData Train, RatingData Test) LowRank(ulong seed = 1, double noise = 0.0)
    {
        var rng = new SeededRandom(seed);
        int users = 60, items = 50;
        var p = new double[users, 2];
        var q = new double[items, 2];
        var bu = new double[users];
        var bi = new double[items];
        for (int u = 0; u < users; u++)
        {
            p[u, 0] = rng.NextNormal();
            p[u, 1] = rng.NextNormal();
            bu[u] = 0.3 * rng.NextNormal();
        }
        for (int i = 0; i < items; i++)
        {
            q[i, 0] = 0.6 * rng.NextNormal();
            q[i, 1] = 0.6 * rng.NextNormal();
            bi[i] = 0.3 * rng.NextNormal();
        }
        var tr = new List<(int, int, float)>();
        var te = new List<(int, int, float)>();
        int cell = 0;
        for (int u = 0; u < users; u++)
            for (int i = 0; i < items; i++)
            {
                if (rng.NextDouble() > 0.4)
                    continue;
                double r = 3 + bu[u] + bi[i] + p[u, 0] * q[i, 0] + p[u, 1] * q[i, 1] + noise * rng.NextNormal();
                var entry = (u + 100, i + 1000, (float)Math.Clamp(r, 1, 5));
                (cell++ % 5 == 0 ? te : tr).Add(entry);
            }
        return (Make(tr), Make(te));
    }

    /// <summary>
    /// Implicit clusters: 4 groups of 15 users each interact with most of their own group's 10 items
    /// and nothing else; one random interaction per user is held out (the test set).
    /// </summary>
    public static (RatingData Train, RatingData Test) Clusters(ulong seed = 2)
    {
        var rng = new SeededRandom(seed);
        var tr = new List<(int, int, float)>();
        var te = new List<(int, int, float)>();
        for (int g = 0; g < 4; g++)
            for (int u = 0; u < 15; u++)
            {
                int user = g * 15 + u;
                var mine = Enumerable.Range(g * 10, 10).Where(_ => rng.NextDouble() < 0.7).ToList();
                if (mine.Count < 3)
                    mine = [g * 10, g * 10 + 1, g * 10 + 2];
                int held = mine[rng.NextInt(mine.Count)];
                te.Add((user, held, 1f));
                foreach (int i in mine.Where(i => i != held))
                    tr.Add((user, i, 1f));
            }
        return (Make(tr), Make(te));
    }

    public static RatingData Make(List<(int User, int Item, float Rating)> rows) =>
        new([.. rows.Select(r => r.User)], [.. rows.Select(r => r.Item)], [.. rows.Select(r => r.Rating)], new long[rows.Count]);
}
