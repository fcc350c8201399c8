using EmbedSharp.Models.Data;
using EmbedSharp.Models.Evaluation;
using EmbedSharp.Models.Recommenders;

namespace EmbedSharp.Models.Tests.Recommenders;

public sealed class RecommenderTests
{
    private static double BiasOnlyRmse(RatingData train, RatingData test)
    {
        double mu = train.Ratings.Average(r => (double)r);
        return Math.Sqrt(test.Ratings.Average(r => (r - mu) * (r - mu)));
    }

    [Theory]
    [InlineData(RecommenderKind.MatrixFactorization)]
    [InlineData(RecommenderKind.SvdPlusPlus)]
    [InlineData(RecommenderKind.ExplicitAls)]
    public void ExplicitModels_RecoverPlantedLowRankRatings(RecommenderKind kind)
    {
        var (train, test) = Planted.LowRank();
        var options = kind == RecommenderKind.ExplicitAls
            ? new RecommenderOptions { Kind = kind, Factors = 4, Epochs = 15, Regularization = 0.02, BiasRegularization = 0.01 }
            : new RecommenderOptions { Kind = kind, Factors = 4, Epochs = 150, LearningRate = 0.02, LearningRateDecay = 0.99, Regularization = 0.01 };
        var losses = new List<double>();
        var model = RecommenderTrainer.Train(train, options, new SyncProgress(p => losses.Add(p.Loss)));
        var report = Metrics.Ratings(model, test);
        double baseline = BiasOnlyRmse(train, test);
        Assert.True(report.Rmse < 0.5 * baseline, $"{kind}: RMSE {report.Rmse:F3} vs global-mean baseline {baseline:F3}");
        Assert.True(losses[^1] < losses[0], "training loss goes down");
        Assert.Equal(options.Epochs, losses.Count);
    }

    [Theory]
    [InlineData(RecommenderKind.ImplicitAls)]
    [InlineData(RecommenderKind.Bpr)]
    [InlineData(RecommenderKind.TwoTower)]
    public void ImplicitModels_RankHeldOutItemsOfThePlantedCluster(RecommenderKind kind)
    {
        var (train, test) = Planted.Clusters();
        var options = kind == RecommenderKind.Bpr
            ? new RecommenderOptions { Kind = kind, Factors = 8, Epochs = 200, LearningRate = 0.05, LearningRateDecay = 1, Regularization = 0.001 }
            : kind == RecommenderKind.TwoTower
            ? new RecommenderOptions { Kind = kind, Factors = 8, Epochs = 60, LearningRate = 0.01, BatchSize = 32 }
            : new RecommenderOptions { Kind = kind, Factors = 8, Epochs = 15, Regularization = 0.1, Alpha = 20, CgSteps = 6 };
        var model = RecommenderTrainer.Train(train, options);
        var full = Metrics.FullRanking(model, test, k: 10);
        Assert.True(full.HitRate > 0.9, $"{kind}: HR@10 {full.HitRate:F3}");
        Assert.True(full.Auc > 0.9, $"{kind}: AUC {full.Auc:F3}");
        // Recommendations for a user are their own cluster's unseen items.
        int user = test.Users[0];
        var recs = model.Recommend(user, 3);
        Assert.All(recs, r => Assert.InRange(r.Item, 0, 9));
    }

    [Fact]
    public void Recommend_ExcludesSeenItemsByDefaultAndIncludesThemWhenAsked()
    {
        var (train, _) = Planted.Clusters();
        var model = RecommenderTrainer.Train(train, new RecommenderOptions { Kind = RecommenderKind.ImplicitAls, Factors = 8, Epochs = 5, Regularization = 0.1 });
        int user = train.Users[0];
        var seen = Enumerable.Range(0, train.Count).Where(t => train.Users[t] == user).Select(t => train.Items[t]).ToHashSet();
        int all = model.Items.Count;
        var excluded = model.Recommend(user, all);
        Assert.DoesNotContain(excluded, r => seen.Contains(r.Item));
        Assert.Equal(all - seen.Count, excluded.Count);
        var included = model.Recommend(user, all, excludeSeen: false);
        Assert.Equal(all, included.Count);
        Assert.Contains(included, r => seen.Contains(r.Item));
        Assert.True(included.Zip(included.Skip(1)).All(pair => pair.First.Score >= pair.Second.Score));
        var ex = Assert.Throws<ArgumentException>(() => model.Recommend(9999));
        Assert.Contains("user 9999 is not in the model", ex.Message);
    }

    [Fact]
    public void FoldIn_ANewUserWithoutRetraining_GetsTheirClustersItems()
    {
        var (train, _) = Planted.Clusters();
        foreach (var kind in new[] { RecommenderKind.ImplicitAls, RecommenderKind.Bpr })
        {
            var options = kind == RecommenderKind.Bpr
                ? new RecommenderOptions { Kind = kind, Factors = 8, Epochs = 200, LearningRate = 0.05, LearningRateDecay = 1, Regularization = 0.001 }
                : new RecommenderOptions { Kind = kind, Factors = 8, Epochs = 10, Regularization = 0.1, Alpha = 20 };
            var model = RecommenderTrainer.Train(train, options);
            var folded = model.FoldIn([(20, 1f), (21, 1f), (22, 1f)]);
            var recs = model.Recommend(folded, 5);
            Assert.All(recs, r => Assert.InRange(r.Item, 23, 29));
        }
        var (ratings, _) = Planted.LowRank();
        var mf = RecommenderTrainer.Train(ratings, new RecommenderOptions { Kind = RecommenderKind.MatrixFactorization, Factors = 4, Epochs = 60, LearningRate = 0.02, Regularization = 0.01 });
        // Folding an existing user back in from their own ratings predicts those ratings well.
        int user = ratings.Users[0];
        var rows = Enumerable.Range(0, ratings.Count).Where(t => ratings.Users[t] == user).Select(t => (ratings.Items[t], ratings.Ratings[t])).ToList();
        var again = mf.FoldIn(rows);
        var recsMf = mf.Recommend(again, 3);
        Assert.Equal(3, recsMf.Count);
        Assert.DoesNotContain(recsMf, r => rows.Any(x => x.Item1 == r.Item));
        Assert.Throws<ArgumentException>(() => mf.FoldIn([(424242, 3f)]));
    }

    [Fact]
    public void Training_IsDeterministicForASeed()
    {
        var (train, _) = Planted.LowRank();
        foreach (var kind in Enum.GetValues<RecommenderKind>())
        {
            var o = new RecommenderOptions { Kind = kind, Factors = 3, Epochs = 3, Seed = 5, BurnIn = 1, Samples = 2 };
            var a = RecommenderTrainer.Train(train, o);
            var b = RecommenderTrainer.Train(train, o);
            Assert.Equal(a.UserFactors, b.UserFactors);
            Assert.Equal(a.ItemFactors, b.ItemFactors);
            var c = RecommenderTrainer.Train(train, o with { Seed = 6 });
            Assert.NotEqual(a.ItemFactors, c.ItemFactors);
        }
    }

    [Fact]
    public void ImplicitCgSolve_ApproachesTheExactSolve()
    {
        var (train, _) = Planted.Clusters();
        var model = RecommenderTrainer.Train(train, new RecommenderOptions { Kind = RecommenderKind.ImplicitAls, Factors = 6, Epochs = 2 });
        double[] gram = Solvers.Gram(model.ItemFactors, model.Items.Count, 6);
        int[] rows = [0, 3, 4];
        float[] values = [1, 2, 1];
        var exact = new float[6];
        Solvers.SolveImplicitRowExact(model.ItemFactors, gram, 6, rows, values, 5, 0.1, exact);
        var cg = new float[6];
        Solvers.SolveImplicitRowCg(model.ItemFactors, gram, 6, rows, values, 5, 0.1, 12, cg, new double[24]);
        for (int d = 0; d < 6; d++)
            Assert.Equal(exact[d], cg[d], 3);
    }

    [Fact]
    public void ImplicitAls_FrequencyScaledRegularization_ScalesByTheRowsConfidenceAndStillRecoversClusters()
    {
        Assert.Equal(0.5, Solvers.ImplicitPenalty(0.5, 0, 10, 100, [1f, 2f]));
        Assert.Equal(0.5 * (100 + 10 * 3), Solvers.ImplicitPenalty(0.5, 1, 10, 100, [1f, 2f]), 9);
        Assert.Equal(0.5 * Math.Sqrt(130), Solvers.ImplicitPenalty(0.5, 0.5, 10, 100, [1f, 2f]), 9);
        var (train, test) = Planted.Clusters();
        var options = new RecommenderOptions { Kind = RecommenderKind.ImplicitAls, Factors = 8, Epochs = 10, Regularization = 0.002, RegularizationExponent = 1, Alpha = 20, CgSteps = 8 };
        var model = RecommenderTrainer.Train(train, options);
        var ranking = Metrics.FullRanking(model, test, k: 5);
        Assert.True(ranking.HitRate > 0.9, $"HR@5 {ranking.HitRate}");
        // A heavily scaled penalty shrinks the factors towards zero: the exponent is applied.
        var shrunk = RecommenderTrainer.Train(train, options with { Regularization = 50 });
        Assert.True(shrunk.ItemFactors.Sum(x => x * x) < 0.01 * model.ItemFactors.Sum(x => x * x));
        Assert.Throws<ArgumentOutOfRangeException>(() => RecommenderTrainer.Train(train, options with { RegularizationExponent = -1 }));
        // The exponent survives a save and is used when folding in.
        var stream = new MemoryStream();
        model.Save(stream);
        var loaded = FactorModel.Load(new MemoryStream(stream.ToArray()));
        Assert.Equal(1, loaded.RegularizationExponent);
        Assert.Equal(model.FoldIn([(20, 1f), (21, 1f)]).Vector, loaded.FoldIn([(20, 1f), (21, 1f)]).Vector);
    }

    [Fact]
    public void MatrixFactorization_ItemRegularization_PenalisesOnlyTheItemFactors()
    {
        var (train, _) = Planted.LowRank();
        var o = new RecommenderOptions { Kind = RecommenderKind.MatrixFactorization, Factors = 4, Epochs = 30, LearningRate = 0.02, Regularization = 0.01, InitStd = 0.1 };
        var same = RecommenderTrainer.Train(train, o);
        var explicitSame = RecommenderTrainer.Train(train, o with { ItemRegularization = 0.01 });
        Assert.Equal(same.ItemFactors, explicitSame.ItemFactors);
        var heavy = RecommenderTrainer.Train(train, o with { ItemRegularization = 1.0 });
        static double Norm(float[] v) => v.Sum(x => (double)x * x);
        Assert.True(Norm(heavy.ItemFactors) < 0.2 * Norm(same.ItemFactors), $"{Norm(heavy.ItemFactors)} vs {Norm(same.ItemFactors)}");
        Assert.Throws<ArgumentOutOfRangeException>(() => RecommenderTrainer.Train(train, o with { ItemRegularization = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => RecommenderTrainer.Train(train, o with { ItemRegularization = double.NaN }));
    }

    [Fact]
    public void Bpr_InteractionValuesWeightTheirPairs()
    {
        var (train, test) = Planted.Clusters();
        var o = new RecommenderOptions { Kind = RecommenderKind.Bpr, Factors = 8, Epochs = 60, LearningRate = 0.05, LearningRateDecay = 1, Regularization = 0.001, Seed = 3 };
        var plain = RecommenderTrainer.Train(train, o);
        Assert.True(Metrics.FullRanking(plain, test, k: 5).HitRate > 0.9);
        // Weight 0 everywhere leaves only the penalty: nothing is learned and the factors only shrink.
        var zero = new EmbedSharp.Models.Data.RatingData(train.Users, train.Items, new float[train.Count], train.Timestamps);
        var none = RecommenderTrainer.Train(zero, o);
        var init = RecommenderTrainer.Train(zero, o with { Epochs = 0 });
        static double Norm(float[] v) => v.Sum(x => (double)x * x);
        Assert.True(Norm(none.ItemFactors) < Norm(init.ItemFactors));
        Assert.All(none.ItemBias, b => Assert.Equal(0f, b));
        // Doubling one user's weights changes only how hard their pairs pull (a different model), same seed.
        float[] doubled = [.. Enumerable.Range(0, train.Count).Select(t => train.Users[t] == train.Users[0] ? 2f : 1f)];
        var weighted = RecommenderTrainer.Train(new EmbedSharp.Models.Data.RatingData(train.Users, train.Items, doubled, train.Timestamps), o);
        Assert.NotEqual(plain.UserFactors, weighted.UserFactors);
    }

    [Fact]
    public void Load_ReadsVersion1FilesWithoutTheExponent()
    {
        var (train, test) = Planted.LowRank();
        var model = RecommenderTrainer.Train(train, new RecommenderOptions { Kind = RecommenderKind.MatrixFactorization, Factors = 3, Epochs = 3 });
        var stream = new MemoryStream();
        model.Save(stream);
        byte[] v2 = stream.ToArray();
        // Version 1: magic ESRECM01 and no 8-byte exponent after α (header bytes 56..63).
        byte[] v1 = [.. "ESRECM01"u8.ToArray(), .. v2[8..56], .. v2[64..]];
        var loaded = FactorModel.Load(new MemoryStream(v1));
        Assert.Equal(0, loaded.RegularizationExponent);
        Assert.Equal(model.Predict(test.Users[0], test.Items[0]), loaded.Predict(test.Users[0], test.Items[0]));
    }

    [Fact]
    public void SaveLoad_RoundTripsAndRejectsDamagedFiles()
    {
        var (train, test) = Planted.LowRank();
        var model = RecommenderTrainer.Train(train, new RecommenderOptions { Kind = RecommenderKind.SvdPlusPlus, Factors = 3, Epochs = 3 });
        var stream = new MemoryStream();
        model.Save(stream);
        byte[] bytes = stream.ToArray();
        var loaded = FactorModel.Load(new MemoryStream(bytes));
        Assert.Equal(model.Kind, loaded.Kind);
        for (int t = 0; t < test.Count; t++)
            Assert.Equal(model.Predict(test.Users[t], test.Items[t]), loaded.Predict(test.Users[t], test.Items[t]));
        Assert.Equal(model.Recommend(train.Users[0], 5), loaded.Recommend(train.Users[0], 5));
        var truncated = Assert.Throws<InvalidDataException>(() => FactorModel.Load(new MemoryStream(bytes[..^4])));
        Assert.Contains("[recommender.load] model file at byte", truncated.Message);
        Assert.Throws<InvalidDataException>(() => FactorModel.Load(new MemoryStream(bytes[..30])));
        byte[] huge = (byte[])bytes.Clone();
        BitConverter.GetBytes(int.MaxValue).CopyTo(huge, 16); // users
        Assert.Throws<InvalidDataException>(() => FactorModel.Load(new MemoryStream(huge)));
        byte[] wrongMagic = (byte[])bytes.Clone();
        wrongMagic[0] = (byte)'X';
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => FactorModel.Load(new MemoryStream(wrongMagic))).Message);
    }

    [Fact]
    public void Options_AreValidatedBeforeTraining()
    {
        var (train, _) = Planted.LowRank();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => RecommenderTrainer.Train(train, new RecommenderOptions { Factors = 0 }));
        Assert.Contains("[recommender.train] Factors = 0 is out of range", ex.Message);
        Assert.Throws<ArgumentException>(() => RecommenderTrainer.Train(Planted.Make([]), new RecommenderOptions()));
        Assert.Throws<Diagnostics.NonFiniteException>(() => RecommenderTrainer.Train(train, new RecommenderOptions { LearningRate = 1e6, Epochs = 3 }));
    }

    private sealed class SyncProgress(Action<TrainingProgress> action) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => action(value);
    }
}
