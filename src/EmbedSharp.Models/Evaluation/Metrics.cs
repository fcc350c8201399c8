using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Data;
using EmbedSharp.Models.Recommenders;
using EmbedSharp.Numerics;

namespace EmbedSharp.Models.Evaluation;

/// <summary>Rating-prediction error over a test set.</summary>
/// <param name="Rmse">Root mean squared error.</param>
/// <param name="Mae">Mean absolute error.</param>
/// <param name="Ratings">Test ratings scored.</param>
/// <param name="Users">Distinct test users.</param>
/// <param name="UnknownPairs">Test ratings whose user or item was not in training (scored from biases).</param>
public readonly record struct RatingReport(double Rmse, double Mae, int Ratings, int Users, int UnknownPairs);

/// <summary>Ranking quality; each value is a mean over the users evaluated.</summary>
/// <param name="Protocol">How it was measured (e.g. <c>leave-one-out, 99 sampled negatives</c>).</param>
/// <param name="K">Cut-off.</param>
/// <param name="HitRate">HR@k: share of users whose held-out item is in the top k.</param>
/// <param name="Ndcg">NDCG@k with binary relevance.</param>
/// <param name="Recall">Recall@k: share of each user's held-out items in the top k.</param>
/// <param name="Map">MAP@k: mean average precision at k (normalised by min(k, held-out items)).</param>
/// <param name="Auc">AUC: probability a held-out item outscores a candidate negative (ties count half).</param>
/// <param name="Users">Users evaluated.</param>
public readonly record struct RankingReport(string Protocol, int K, double HitRate, double Ndcg, double Recall, double Map, double Auc, int Users);

/// <summary>RMSE/MAE and the ranking metrics, under named protocols.</summary>
public static class Metrics
{
    /// <summary>RMSE and MAE of <see cref="FactorModel.Predict"/> over <paramref name="test"/>.</summary>
    public static RatingReport Ratings(FactorModel model, RatingData test)
    {
        Guard.NotNull("metrics.ratings", model);
        Guard.NotNull("metrics.ratings", test);
        double se = 0, ae = 0;
        int unknown = 0;
        for (int t = 0; t < test.Count; t++)
        {
            if (model.Users.IndexOf(test.Users[t]) < 0 || model.Items.IndexOf(test.Items[t]) < 0)
                unknown++;
            double e = model.Predict(test.Users[t], test.Items[t]) - test.Ratings[t];
            se += e * e;
            ae += Math.Abs(e);
        }
        int n = Math.Max(test.Count, 1);
        return new RatingReport(Math.Sqrt(se / n), ae / n, test.Count, test.Users.Distinct().Count(), unknown);
    }

    /// <summary>
    /// The sampled protocol of the NCF paper (He et al. 2017): for each test interaction of a known user
    /// and item, <paramref name="negatives"/> items the user never interacted with (in training or in
    /// <paramref name="test"/>) are drawn uniformly with a seed, and the held-out item is ranked among
    /// them. A negative scoring equal to the held-out item counts as ranked above it (pessimistic).
    /// </summary>
    public static RankingReport SampledRanking(FactorModel model, RatingData test, int k = 10, int negatives = 99, ulong seed = 1)
    {
        const string op = "metrics.sampled_ranking";
        Guard.NotNull(op, model);
        Guard.NotNull(op, test);
        Guard.Positive(op, k);
        Guard.Positive(op, negatives);
        var heldOut = HeldOutRows(model, test);
        var rng = new SeededRandom(seed);
        int items = model.Items.Count;
        double hr = 0, ndcg = 0, map = 0, auc = 0;
        int users = 0;
        foreach (var (u, rows) in heldOut.OrderBy(kv => kv.Key))
        {
            ReadOnlySpan<int> seen = model.SeenItemRows(u);
            if (items - seen.Length - rows.Count < negatives)
                continue;
            foreach (int target in rows)
            {
                float score = model.ScoreRows(u, target);
                int above = 0, ties = 0;
                for (int s = 0; s < negatives; s++)
                {
                    int j;
                    do
                        j = rng.NextInt(items);
                    while (seen.BinarySearch(j) >= 0 || rows.Contains(j));
                    float sj = model.ScoreRows(u, j);
                    if (sj > score)
                        above++;
                    else if (sj == score)
                        ties++;
                }
                int rank = above + ties; // 0-based, ties pessimistic
                if (rank < k)
                {
                    hr += 1;
                    ndcg += 1 / Math.Log2(rank + 2);
                    map += 1.0 / (rank + 1);
                }
                auc += (negatives - above - 0.5 * ties) / negatives;
                users++;
            }
        }
        int n = Math.Max(users, 1);
        return new RankingReport($"held-out item vs {negatives} sampled negatives", k, hr / n, ndcg / n, hr / n, map / n, auc / n, users);
    }

    /// <summary>
    /// The full protocol: every item is ranked for each test user; items the user saw in training are
    /// excluded (unless <paramref name="excludeSeen"/> is false); relevance is membership in the user's test items.
    /// </summary>
    public static RankingReport FullRanking(FactorModel model, RatingData test, int k = 10, bool excludeSeen = true)
    {
        const string op = "metrics.full_ranking";
        Guard.NotNull(op, model);
        Guard.NotNull(op, test);
        Guard.Positive(op, k);
        var heldOut = HeldOutRows(model, test);
        int items = model.Items.Count;
        var scores = new float[items];
        var order = new int[items];
        double hr = 0, ndcg = 0, recall = 0, map = 0, auc = 0;
        int users = 0;
        foreach (var (u, rows) in heldOut.OrderBy(kv => kv.Key))
        {
            model.ScoreAllRows(model.UserRow(u), model.UserBias[u], scores);
            ReadOnlySpan<int> seen = model.SeenItemRows(u);
            if (excludeSeen)
                foreach (int i in seen)
                    if (!rows.Contains(i))
                        scores[i] = float.NegativeInfinity;
            int candidates = items - (excludeSeen ? seen.Length - seen.ToArray().Count(rows.Contains) : 0);
            for (int i = 0; i < items; i++)
                order[i] = i;
            Array.Sort(order, Comparer<int>.Create((a, b) => scores[b] != scores[a] ? scores[b].CompareTo(scores[a]) : a.CompareTo(b)));
            int hits = 0;
            double dcg = 0, idcg = 0, ap = 0;
            for (int r = 0; r < Math.Min(k, candidates); r++)
            {
                if (rows.Contains(order[r]))
                {
                    hits++;
                    dcg += 1 / Math.Log2(r + 2);
                    ap += (double)hits / (r + 1);
                }
            }
            for (int r = 0; r < Math.Min(k, rows.Count); r++)
                idcg += 1 / Math.Log2(r + 2);
            hr += hits > 0 ? 1 : 0;
            ndcg += dcg / idcg;
            recall += (double)hits / rows.Count;
            map += ap / Math.Min(k, rows.Count);
            // AUC over candidates: positives vs non-positive candidates, by rank.
            long negativesAbove = 0, pairs = 0;
            int negSeen = 0;
            for (int r = 0; r < candidates; r++)
            {
                if (rows.Contains(order[r]))
                    negativesAbove += negSeen;
                else
                    negSeen++;
            }
            pairs = (long)rows.Count * negSeen;
            auc += pairs == 0 ? 1 : 1 - (double)negativesAbove / pairs;
            users++;
        }
        int n = Math.Max(users, 1);
        return new RankingReport(excludeSeen ? "full ranking, training items excluded" : "full ranking, training items included",
            k, hr / n, ndcg / n, recall / n, map / n, auc / n, users);
    }

    /// <summary>
    /// Area under the ROC curve of <paramref name="scores"/> against 0/1 <paramref name="labels"/> (the
    /// rank-sum form; tied scores count half). NaN when only one class is present.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ.</exception>
    public static double Auc(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels)
    {
        Guard.Length("metrics.auc", labels.Length, scores.Length, "one label per score");
        return Tabular.TabularModel.Auc(scores, labels.ToArray());
    }

    private static Dictionary<int, HashSet<int>> HeldOutRows(FactorModel model, RatingData test)
    {
        var result = new Dictionary<int, HashSet<int>>();
        for (int t = 0; t < test.Count; t++)
        {
            int u = model.Users.IndexOf(test.Users[t]), i = model.Items.IndexOf(test.Items[t]);
            if (u < 0 || i < 0)
                continue;
            if (!result.TryGetValue(u, out var set))
                result[u] = set = [];
            set.Add(i);
        }
        return result;
    }
}
