using EmbedSharp.Models.Data;
using EmbedSharp.Models.Evaluation;
using EmbedSharp.Models.Recommenders;
using EmbedSharp.Numerics;

namespace EmbedSharp.Models.Tests.Recommenders;

public sealed class BayesianMfTests
{
    private static RecommenderOptions Bmf(int factors = 3, int samples = 20) =>
        new() { Kind = RecommenderKind.BayesianMf, Factors = factors, Epochs = 120, BurnIn = 40, Samples = samples, Seed = 3 };

    [Fact]
    public void RecoversPlantedLowRankRatings_WithoutATunedPenalty()
    {
        var (train, test) = Planted.LowRank(noise: 0.1);
        double mu = train.Ratings.Average(r => (double)r);
        double baseline = Math.Sqrt(test.Ratings.Average(r => (r - mu) * (r - mu)));
        var losses = new List<double>();
        var model = RecommenderTrainer.Train(train, Bmf(), new SyncProgress(p => losses.Add(p.Loss)));
        var report = Metrics.Ratings(model, test);
        Assert.True(report.Rmse < 0.35 * baseline, $"RMSE {report.Rmse:F3} vs global-mean baseline {baseline:F3}");
        Assert.Equal(120, losses.Count);
        Assert.True(losses[^1] < 0.5 * losses[0], $"training loss {losses[0]:F3} → {losses[^1]:F3}");
        // The stored model stacks the kept draws side by side.
        Assert.Equal(3 * 20, model.Factors);
        Assert.True(model.IsExplicit);
        // Averaging more draws does not make it worse than a single draw (the posterior mean is the point).
        var one = RecommenderTrainer.Train(train, Bmf(samples: 1) with { Epochs = 41 });
        Assert.True(report.Rmse < Metrics.Ratings(one, test).Rmse, "20 averaged draws beat one draw");
    }

    /// <summary>
    /// Users of four groups share their group's taste exactly; half the users ("cold") keep only two
    /// training ratings. Told each user's group as a side feature, the model predicts the cold users'
    /// held-out ratings far better than from their two ratings alone.
    /// </summary>
    [Fact]
    public void SideFeatures_CarryAGroupsTasteToColdUsers()
    {
        var (train, test, groups) = GroupTaste();
        var plain = Metrics.Ratings(RecommenderTrainer.Train(train, Bmf()), test).Rmse;
        var withGroups = Metrics.Ratings(RecommenderTrainer.Train(train, Bmf() with { UserFeatures = groups }), test).Rmse;
        Assert.True(withGroups < 0.6 * plain, $"cold-user RMSE with the group feature {withGroups:F3} vs without {plain:F3}");
    }

    /// <summary>
    /// Implicit feedback: a cold user's two training ratings say nothing about their taste, but which items
    /// they are asked about does (each group rates mostly its own item range), so adding those pairs without
    /// their ratings helps the cold users.
    /// </summary>
    [Fact]
    public void ImplicitFeedback_FromThePairsToPredict_HelpsColdUsers()
    {
        var (train, test, _) = GroupTaste(ownItems: true);
        var plain = Metrics.Ratings(RecommenderTrainer.Train(train, Bmf()), test).Rmse;
        var implicitTrain = Metrics.Ratings(RecommenderTrainer.Train(train, Bmf() with { ImplicitFeedback = true }), test).Rmse;
        var implicitPairs = Metrics.Ratings(RecommenderTrainer.Train(train, Bmf() with { ImplicitFeedback = true, ImplicitInteractions = test }), test).Rmse;
        Assert.True(implicitPairs < 0.8 * plain, $"with the test pairs as implicit feedback {implicitPairs:F3} vs none {plain:F3}");
        Assert.True(implicitPairs < implicitTrain, $"the pairs add to the training items ({implicitPairs:F3} vs {implicitTrain:F3})");
    }

    [Fact]
    public void Training_IsDeterministicForASeed_WithFeaturesAndImplicitFeedback()
    {
        var (train, test, groups) = GroupTaste(ownItems: true);
        var o = Bmf() with { UserFeatures = groups, ImplicitFeedback = true, ItemImplicitFeedback = true, ImplicitInteractions = test, Epochs = 50, BurnIn = 10, Samples = 5 };
        var a = RecommenderTrainer.Train(train, o);
        var b = RecommenderTrainer.Train(train, o);
        Assert.Equal(a.UserFactors, b.UserFactors);
        Assert.Equal(a.ItemFactors, b.ItemFactors);
        Assert.Equal(a.UserBias, b.UserBias);
        Assert.Equal(a.GlobalMean, b.GlobalMean);
        var c = RecommenderTrainer.Train(train, o with { Seed = 4 });
        Assert.NotEqual(a.ItemFactors, c.ItemFactors);
    }

    [Fact]
    public void SaveLoad_RoundTripsTheStackedDraws()
    {
        var (train, test) = Planted.LowRank();
        var model = RecommenderTrainer.Train(train, Bmf() with { Epochs = 30, BurnIn = 10, Samples = 4 });
        var stream = new MemoryStream();
        model.Save(stream);
        stream.Position = 0;
        var loaded = FactorModel.Load(stream);
        Assert.Equal(RecommenderKind.BayesianMf, loaded.Kind);
        for (int t = 0; t < test.Count; t++)
            Assert.Equal(model.Predict(test.Users[t], test.Items[t]), loaded.Predict(test.Users[t], test.Items[t]));
    }

    [Fact]
    public void Attributes_WeightImplicitRowsAndFeaturesByOneOverRootCount_GroupedByPrefix()
    {
        var rows = new IdMap([7, 3, 9]);
        // Row 0 (id 7) rated items 0, 2; row 1 none; row 2 item 1. Features: prefixes "g" and "o"; id 42 is not a row.
        int[] offsets = [0, 2, 2, 3];
        int[] items = [0, 2, 1];
        var features = new Dictionary<int, IReadOnlyList<string>>
        {
            [7] = ["o=b", "g=F", "o=b"], [9] = ["g=M"], [42] = ["x=1"],
        };
        var a = BayesianMf.Build(rows, offsets, items, 3, features);
        // Implicit items 0..2 are group 0; then "g=F", "g=M" (group "g"), then "o=b" (group "o"); "x" never appears.
        Assert.Equal([0, 3, 5, 6], a.GroupStarts);
        Assert.Equal([0, 4, 4, 6], a.Offsets);
        Assert.Equal([0, 2, 5, 3, 1, 4], a.Ids);
        float h = 1 / MathF.Sqrt(2);
        Assert.Equal([h, h, h, h, 1f, 1f], a.Weights);
        var none = BayesianMf.Build(rows, null, null, 0, null);
        Assert.Equal([0], none.GroupStarts);
        Assert.Equal([0, 0, 0, 0], none.Offsets);
    }

    [Theory]
    [InlineData(0.5, 2.0)]
    [InlineData(1.0, 1.0)]
    [InlineData(3.7, 0.5)]
    [InlineData(200, 40)]
    public void Gamma_HasTheShapeAndRatesMoments(double shape, double rate)
    {
        var rng = new SeededRandom(11);
        const int n = 200_000;
        double sum = 0, sumSq = 0;
        for (int j = 0; j < n; j++)
        {
            double x = BayesianMf.Gamma(rng, shape, rate);
            Assert.True(x > 0);
            sum += x;
            sumSq += x * x;
        }
        double mean = sum / n, variance = sumSq / n - mean * mean;
        Assert.Equal(shape / rate, mean, shape / rate * 0.02);
        Assert.Equal(shape / (rate * rate), variance, shape / (rate * rate) * 0.05);
    }

    [Fact]
    public void DrawPrior_ConcentratesOnTheValuesMeanAndPrecision()
    {
        // 20,000 values from N(0.7, 1/4): the drawn prior mean is near 0.7 and the precision near 4.
        var rng = new SeededRandom(5);
        var values = new double[40_000];
        for (int j = 0; j < values.Length; j++)
            values[j] = 0.7 + rng.NextNormal() / 2;
        // Every other value (stride 2, first 1) is the group.
        var (mean, precision) = BayesianMf.DrawPrior(rng, values, 1, 2, 20_000, 1.0);
        Assert.Equal(0.7, mean, 0.02);
        Assert.Equal(4.0, precision, 0.2);
    }

    [Fact]
    public void Options_AreValidatedBeforeTraining()
    {
        var (train, _) = Planted.LowRank();
        Assert.Contains("Factors·Samples must be ≤ 4096", Assert.Throws<ArgumentOutOfRangeException>(() =>
            RecommenderTrainer.Train(train, Bmf() with { Factors = 100, Samples = 50, Epochs = 100 })).Message);
        Assert.Contains("Epochs must be ≥ BurnIn + Samples", Assert.Throws<ArgumentOutOfRangeException>(() =>
            RecommenderTrainer.Train(train, Bmf() with { Epochs = 30 })).Message);
        Assert.Contains("used by BayesianMf only", Assert.Throws<ArgumentException>(() =>
            RecommenderTrainer.Train(train, new RecommenderOptions { ImplicitFeedback = true })).Message);
        var bad = new Dictionary<int, IReadOnlyList<string>> { [100] = ["gender=F", ""] };
        Assert.Contains("non-empty names", Assert.Throws<ArgumentException>(() =>
            RecommenderTrainer.Train(train, Bmf() with { UserFeatures = bad })).Message);
    }

    /// <summary>
    /// 4 groups × 20 users, 40 items; r = 3 + g_group · q_item + noise (σ 0.2). Warm users rate 60% of the
    /// items, cold users two in training; the test set is every cold user's other ratings. With
    /// <paramref name="ownItems"/> warm users rate mostly their group's 10 items (and everybody two common
    /// items that carry no taste); a cold user's training ratings are just the two common ones and their
    /// test is their group's items, which the other groups rate differently.
    /// </summary>
    private static (RatingData Train, RatingData Test, Dictionary<int, IReadOnlyList<string>> Groups) GroupTaste(bool ownItems = false)
    {
        var rng = new SeededRandom(9);
        var g = new double[4, 2];
        for (int a = 0; a < 4; a++)
        {
            g[a, 0] = 1.2 * Math.Cos(a * Math.PI / 2);
            g[a, 1] = 1.2 * Math.Sin(a * Math.PI / 2);
        }
        var q = new double[40, 2];
        for (int i = 0; i < 40; i++)
        {
            q[i, 0] = rng.NextNormal();
            q[i, 1] = rng.NextNormal();
        }
        var tr = new List<(int, int, float)>();
        var te = new List<(int, int, float)>();
        var groups = new Dictionary<int, IReadOnlyList<string>>();
        for (int u = 0; u < 80; u++)
        {
            int group = u % 4, user = 500 + u;
            groups[user] = [$"group={group}"];
            bool cold = u / 4 % 2 == 1;
            if (ownItems)
            {
                // Both common items (q = 0: they say nothing about taste) in training; warm users rate 90% of
                // their group's items and 25% of the others, a cold user is tested on their group's items.
                foreach (int i in new[] { 40, 41 })
                    tr.Add((user, 1000 + i, (float)(3 + 0.2 * rng.NextNormal())));
                foreach (int i in Enumerable.Range(0, 40).Where(i => cold ? i / 10 == group : rng.NextDouble() < (i / 10 == group ? 0.9 : 0.25)))
                {
                    float r = (float)Math.Clamp(3 + g[group, 0] * q[i, 0] + g[group, 1] * q[i, 1] + 0.2 * rng.NextNormal(), 1, 5);
                    (cold ? te : tr).Add((user, 1000 + i, r));
                }
                continue;
            }
            var items = Enumerable.Range(0, 40).Where(_ => cold || rng.NextDouble() < 0.6).ToList();
            for (int c = 0; c < items.Count; c++)
            {
                int i = items[c];
                float r = (float)Math.Clamp(3 + g[group, 0] * q[i, 0] + g[group, 1] * q[i, 1] + 0.2 * rng.NextNormal(), 1, 5);
                (cold && c >= 2 ? te : tr).Add((user, 1000 + i, r));
            }
        }
        return (Planted.Make(tr), Planted.Make(te), groups);
    }

    private sealed class SyncProgress(Action<TrainingProgress> action) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => action(value);
    }
}
