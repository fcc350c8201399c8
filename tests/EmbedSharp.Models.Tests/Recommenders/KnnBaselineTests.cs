using EmbedSharp.Models.Recommenders;

namespace EmbedSharp.Models.Tests.Recommenders;

public sealed class KnnBaselineTests
{
    [Fact]
    public void Similarity_IsTheShrunkPearsonBaselineOfTheResiduals()
    {
        // 4 users × 3 items, all rated; no baseline sweeps, so the residuals are r − μ.
        int[] users = [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4];
        int[] items = [10, 20, 30, 10, 20, 30, 10, 20, 30, 10, 20, 30];
        float[] ratings = [5, 4, 1, 4, 5, 2, 1, 2, 5, 2, 1, 4];
        var data = new EmbedSharp.Models.Data.RatingData(users, items, ratings, new long[12]);
        var model = KnnBaseline.Train(data, new KnnBaselineOptions { BaselineEpochs = 0, Shrinkage = 3 });
        double mu = ratings.Average(r => (double)r);
        double Reference(int a, int b)
        {
            double p = 0, sa = 0, sb = 0;
            for (int u = 0; u < 4; u++)
            {
                double ea = ratings[u * 3 + a] - mu, eb = ratings[u * 3 + b] - mu;
                p += ea * eb;
                sa += ea * ea;
                sb += eb * eb;
            }
            return p / Math.Sqrt(sa * sb) * 3 / (3 + 3.0);
        }
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                Assert.Equal(a == b ? 0 : Reference(a, b), model.Similarity(a, b), 5);
        Assert.True(model.Similarity(0, 1) > 0.3 && model.Similarity(0, 2) < -0.3);
        // User 1's prediction for item 10 leans on item 20 (similar, rated above μ) only: item 30 is dissimilar.
        double expected = mu + (ratings[1] - mu);
        Assert.Equal(Math.Clamp(expected, 1, 5), model.Predict(1, 10), 4);
        Assert.Equal(model.GlobalMean, model.Predict(99, 999), 5);
    }

    [Fact]
    public void RecoversPlantedStructureBetterThanTheBaselineAlone()
    {
        var (train, test) = Planted.LowRank();
        var knn = KnnBaseline.Train(train, new KnnBaselineOptions { Shrinkage = 10, Neighbors = 20 });
        var baselineOnly = KnnBaseline.Train(train, new KnnBaselineOptions { Neighbors = 1, Shrinkage = 1e9 });
        double Rmse(KnnBaseline m) => Math.Sqrt(Enumerable.Range(0, test.Count).Average(t => Math.Pow(m.Predict(test.Users[t], test.Items[t]) - test.Ratings[t], 2)));
        double withNeighbours = Rmse(knn), without = Rmse(baselineOnly);
        Assert.True(withNeighbours < 0.8 * without, $"kNN {withNeighbours:F3} vs baseline {without:F3}");
        // No randomness: a second fit predicts the same bits.
        var again = KnnBaseline.Train(train, new KnnBaselineOptions { Shrinkage = 10, Neighbors = 20 });
        Assert.Equal(Enumerable.Range(0, test.Count).Select(t => knn.Predict(test.Users[t], test.Items[t])),
            Enumerable.Range(0, test.Count).Select(t => again.Predict(test.Users[t], test.Items[t])));
    }

    [Fact]
    public void Options_AreValidated()
    {
        var (train, _) = Planted.LowRank();
        Assert.Throws<ArgumentOutOfRangeException>(() => KnnBaseline.Train(train, new KnnBaselineOptions { Neighbors = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KnnBaseline.Train(train, new KnnBaselineOptions { Shrinkage = -1 }));
        Assert.Throws<ArgumentException>(() => KnnBaseline.Train(Planted.Make([]), new KnnBaselineOptions()));
    }
}
