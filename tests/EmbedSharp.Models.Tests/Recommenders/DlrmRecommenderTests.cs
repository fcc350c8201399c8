using EmbedSharp.Models.Data;
using EmbedSharp.Models.Recommenders;
using EmbedSharp.Numerics;

namespace EmbedSharp.Models.Tests.Recommenders;

public sealed class DlrmRecommenderTests
{
    /// <summary>
    /// 40 users and 24 movies: a user clicks (rates 5) a movie when the user's occupation matches the
    /// movie's genre group (occupation k ↔ genres {k}), otherwise rates 2; a random 60% of the pairs are rated.
    /// </summary>
    private static (RatingData Train, RatingData Test, MovieLens.User[] Users, MovieLens.Item[] Items) Planted(ulong seed = 3)
    {
        string[] jobs = ["artist", "doctor", "lawyer"];
        var users = Enumerable.Range(1, 40).Select(u => new MovieLens.User(u, 20 + u % 30, u % 2 == 0 ? "M" : "F", jobs[u % 3], $"{10000 + u * 37}")).ToArray();
        var items = Enumerable.Range(1, 24).Select(i => new MovieLens.Item(i, $"movie {i}", 1980 + i, [i % 3])).ToArray();
        var rng = new SeededRandom(seed);
        var train = new List<(int, int, float)>();
        var test = new List<(int, int, float)>();
        foreach (var u in users)
            foreach (var i in items)
            {
                if (rng.NextDouble() > 0.6)
                    continue;
                float r = u.Id % 3 == i.Id % 3 ? 5 : 2;
                (rng.NextDouble() < 0.2 ? test : train).Add((u.Id, i.Id, r));
            }
        return (Recommenders.Planted.Make(train), Recommenders.Planted.Make(test), users, items);
    }

    private static readonly DlrmOptions Small = new()
    {
        Dims = 4, BottomHidden = [4], TopHidden = [8], MaxEpochs = 30, Patience = 3, BatchSize = 32, LearningRate = 0.01, SparseLearningRate = 0.05, Threads = 1,
    };

    [Fact]
    public void LearnsThePlantedClicksFromSideFeatures()
    {
        var (train, test, users, items) = Planted();
        using var model = DlrmRecommender.Train(train, users, items, Small);
        var report = model.Evaluate(test);
        Assert.True(report.Auc > 0.95, $"AUC {report.Auc:F3}, log loss {report.LogLoss:F3}");
        Assert.Equal(test.Count, report.Ratings);
        Assert.Equal(test.Ratings.Count(r => r >= 4), report.Clicks);
        // A user with no training rating is scored through the unknown id row and their side features.
        float p = model.PredictProbability(999, 1);
        Assert.InRange(p, 0f, 1f);
    }

    [Fact]
    public void EarlyStopping_KeepsTheBestEpochsWeights()
    {
        var (train, test, users, items) = Planted();
        var options = Small with { MaxEpochs = 40, Patience = 2, ValidationFraction = 0.3, LearningRate = 0.05, SparseLearningRate = 0.2 };
        using var stopped = DlrmRecommender.Train(train, users, items, options);
        Assert.InRange(stopped.BestEpoch, 1, stopped.EpochsRun);
        Assert.False(double.IsNaN(stopped.ValidationAuc));
        if (stopped.EpochsRun < options.MaxEpochs)
            Assert.Equal(options.Patience, stopped.EpochsRun - stopped.BestEpoch);
        // Training just to the best epoch (same seed, same draw, one thread) gives the same weights.
        using var direct = DlrmRecommender.Train(train, users, items, options with { MaxEpochs = stopped.BestEpoch, Patience = 1000 });
        Assert.Equal(stopped.PredictLogits(test.Users, test.Items), direct.PredictLogits(test.Users, test.Items));
        Assert.Equal(stopped.ValidationAuc, direct.ValidationAuc);
    }

    [Fact]
    public void Training_IsDeterministicForASeed()
    {
        var (train, test, users, items) = Planted();
        var options = Small with { MaxEpochs = 3 };
        using var a = DlrmRecommender.Train(train, users, items, options);
        using var b = DlrmRecommender.Train(train, users, items, options);
        using var c = DlrmRecommender.Train(train, users, items, options with { Seed = 9 });
        Assert.Equal(a.PredictLogits(test.Users, test.Items), b.PredictLogits(test.Users, test.Items));
        Assert.NotEqual(a.PredictLogits(test.Users, test.Items), c.PredictLogits(test.Users, test.Items));
    }

    [Fact]
    public void SaveLoad_RoundTripsAndRejectsDamagedFiles()
    {
        var (train, test, users, items) = Planted();
        using var model = DlrmRecommender.Train(train, users, items, Small with { MaxEpochs = 3 });
        var stream = new MemoryStream();
        model.Save(stream);
        byte[] bytes = stream.ToArray();
        Assert.True(DlrmRecommender.IsDlrmFile(bytes));
        using (var loaded = DlrmRecommender.Load(new MemoryStream(bytes)))
        {
            Assert.Equal(model.PredictLogits(test.Users, test.Items), loaded.PredictLogits(test.Users, test.Items));
            Assert.Equal(model.PredictProbability(999, 3), loaded.PredictProbability(999, 3));
            Assert.Equal((model.BestEpoch, model.EpochsRun, model.ClickThreshold), (loaded.BestEpoch, loaded.EpochsRun, loaded.ClickThreshold));
        }
        var truncated = Assert.Throws<InvalidDataException>(() => DlrmRecommender.Load(new MemoryStream(bytes[..^4])));
        Assert.Contains("[dlrm.load] model file at byte", truncated.Message);
        Assert.Throws<InvalidDataException>(() => DlrmRecommender.Load(new MemoryStream(bytes[..40])));
        byte[] huge = (byte[])bytes.Clone();
        BitConverter.GetBytes(int.MaxValue).CopyTo(huge, 16); // the bottom-layer count
        Assert.Throws<InvalidDataException>(() => DlrmRecommender.Load(new MemoryStream(huge)));
        byte[] wrong = (byte[])bytes.Clone();
        wrong[2] = (byte)'X';
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => DlrmRecommender.Load(new MemoryStream(wrong))).Message);
    }

    [Fact]
    public void BadInput_IsRejectedBeforeTraining()
    {
        var (train, _, users, items) = Planted();
        var ex = Assert.Throws<ArgumentException>(() => DlrmRecommender.Train(train, users[1..], items, Small));
        Assert.Contains("user 1 of rating", ex.Message);
        Assert.Contains("is not listed in the users file", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => DlrmRecommender.Train(train, users, [.. items, items[0]], Small));
        Assert.Contains("item 1 is listed twice", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => DlrmRecommender.Train(train, users, items, Small with { ValidationFraction = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => DlrmRecommender.Train(train, users, items, Small with { Patience = 0 }));
        Assert.Throws<ArgumentException>(() => DlrmRecommender.Train(Recommenders.Planted.Make([]), users, items, Small));
    }
}
