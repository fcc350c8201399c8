using EmbedSharp.Models.Evaluation;
using EmbedSharp.Models.Recommenders;

namespace EmbedSharp.Models.Tests.Recommenders;

public sealed class MetricsTests
{
    /// <summary>A model whose scores are planted: item row i scores −i for every user (so row 0 ranks first).</summary>
    private static FactorModel Ordered(int users, int items, (int User, int Item)[] seen)
    {
        var data = Planted.Make([.. seen.Select(s => (s.User, s.Item, 1f)), .. Enumerable.Range(0, items).Select(i => (-1, i, 1f))]);
        var model = RecommenderTrainer.Train(data, new RecommenderOptions { Kind = RecommenderKind.Bpr, Factors = 1, Epochs = 0 });
        Array.Clear(model.UserFactors);
        Array.Clear(model.ItemFactors);
        for (int i = 0; i < model.Items.Count; i++)
            model.ItemBias[i] = -model.Items.Ids[i];
        return model;
    }

    [Fact]
    public void FullRanking_MatchesHandComputedValuesAndExcludesSeenItems()
    {
        // User 0 saw items 0 and 1; held-out items are 3 and 7 among items 0..9.
        var model = Ordered(1, 10, [(0, 0), (0, 1)]);
        var test = Planted.Make([(0, 3, 1f), (0, 7, 1f)]);
        var r = Metrics.FullRanking(model, test, k: 3);
        // Ranking without seen items: 2, 3, 4, 5, 6, 7, 8, 9 → item 3 at rank 2 (1-based), item 7 at rank 6.
        Assert.Equal(1, r.HitRate);
        Assert.Equal(0.5, r.Recall, 9);
        Assert.Equal((1 / Math.Log2(3)) / (1 + 1 / Math.Log2(3)), r.Ndcg, 9);
        Assert.Equal(0.5 / 2, r.Map, 9);
        // AUC: positives 3 and 7 among 8 candidates; negatives above: item 2 (above both), 4, 5, 6 (above 7) → 1 + 4 = 5 of 12 pairs.
        Assert.Equal(1 - 5.0 / 12, r.Auc, 9);
        var withSeen = Metrics.FullRanking(model, test, k: 3, excludeSeen: false);
        Assert.Equal(0, withSeen.HitRate);
        Assert.Contains("excluded", r.Protocol);
    }

    [Fact]
    public void SampledRanking_CountsTheHeldOutItemAgainstSampledNegatives()
    {
        var model = Ordered(1, 200, [(0, 5)]);
        // Item 0 outscores every other item: always a hit at rank 1.
        var best = Metrics.SampledRanking(model, Planted.Make([(0, 0, 1f)]), k: 10, negatives: 99, seed: 3);
        Assert.Equal(1, best.HitRate);
        Assert.Equal(1, best.Ndcg, 9);
        Assert.Equal(1, best.Auc, 9);
        // Item 199 is the worst: never a hit, AUC 0.
        var worst = Metrics.SampledRanking(model, Planted.Make([(0, 199, 1f)]), k: 10, negatives: 99, seed: 3);
        Assert.Equal(0, worst.HitRate);
        Assert.Equal(0, worst.Auc, 9);
        Assert.Contains("99 sampled negatives", best.Protocol);
        Assert.Equal(1, best.Users);
    }

    [Fact]
    public void Ratings_ReportsRmseMaeAndUnknownPairs()
    {
        var (train, test) = Planted.LowRank();
        var model = RecommenderTrainer.Train(train, new RecommenderOptions { Factors = 2, Epochs = 1 });
        var extra = Planted.Make([(100, 1000, 3f), (99999, 1000, 4f)]);
        var r = Metrics.Ratings(model, extra);
        Assert.Equal(2, r.Ratings);
        Assert.Equal(1, r.UnknownPairs);
        double e1 = model.Predict(100, 1000) - 3, e2 = model.Predict(99999, 1000) - 4;
        Assert.Equal(Math.Sqrt((e1 * e1 + e2 * e2) / 2), r.Rmse, 6);
        Assert.Equal((Math.Abs(e1) + Math.Abs(e2)) / 2, r.Mae, 6);
        Assert.True(Metrics.Ratings(model, test).Rmse > 0);
    }
}
