using EmbedSharp.Graphs.Data;
using EmbedSharp.Graphs.Evaluation;
using EmbedSharp.Graphs.Models;
using EmbedSharp.Graphs.Training;

namespace EmbedSharp.Graphs.Tests;

public class TrainingTests
{
    private const int N = 24;

    /// <summary>Planted structure: relation 0 a directed cycle e → e+1, relation 1 e → e+5 (mod N), relation 2 a symmetric pairing 2i ↔ 2i+1.</summary>
    private static Triple[] Planted(bool symmetricOnly = false, bool chain = false)
    {
        var list = new List<Triple>();
        for (int e = 0; e < N; e++)
        {
            if (!symmetricOnly)
            {
                if (!chain || e + 1 < N)
                    list.Add(new Triple(e, 0, (e + 1) % N));
                if (!chain || e + 5 < N)
                    list.Add(new Triple(e, 1, (e + 5) % N));
            }
            if (!chain)
                list.Add(new Triple(e, 2, e ^ 1)); // symmetric: beyond TransE, whose chain graph leaves it out
        }
        return list.ToArray();
    }

    public static TheoryData<string, bool, KgLoss> Cases() => new()
    {
        { "complex", false, KgLoss.OneToN },
        { "complex", true, KgLoss.OneToN },
        { "distmult", false, KgLoss.OneToN },
        { "rotate", false, KgLoss.SelfAdversarial },
        { "transe", false, KgLoss.Margin },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void PlantedGraphIsRecovered(string name, bool inverse, KgLoss loss)
    {
        var triples = Planted(symmetricOnly: name == "distmult", chain: name == "transe");
        using var model = KgModel.Create(name, N, 3, new KgModelOptions { Dims = 16, InverseRelations = inverse, Gamma = name == "rotate" ? 6 : null, Norm = 1, Seed = 3 });
        var options = loss == KgLoss.OneToN
            ? new KgTrainingOptions { Epochs = 150, BatchSize = 16, LearningRate = 0.5, Threads = 2 }
            : new KgTrainingOptions { Epochs = name == "transe" ? 500 : 200, BatchSize = 16, Negatives = 8, LearningRate = 0.05, Margin = name == "transe" ? 4 : 2, Corruption = CorruptionMode.Bernoulli, Threads = 2 };
        var reports = new List<KgEpochReport>();
        var summary = KgTrainer.Train(model, triples, options with { Progress = reports.Add });
        Assert.False(summary.Cancelled);
        Assert.Equal(loss, summary.LossKind);
        Assert.Equal(options.Epochs, reports.Count);
        Assert.True(reports[^1].Loss < reports[0].Loss, $"loss {reports[0].Loss} -> {reports[^1].Loss}");
        var metrics = LinkPrediction.Evaluate(model, triples, FilterIndex.Build(N, triples));
        Assert.True(metrics.Mrr > 0.95, $"{name}: filtered MRR {metrics.Mrr}, MR {metrics.MeanRank}");
    }

    [Fact]
    public void UntrainedModelIsFarFromRecovered()
    {
        var triples = Planted();
        using var model = KgModel.Create("complex", N, 3, new KgModelOptions { Dims = 16 });
        Assert.True(LinkPrediction.Evaluate(model, triples, FilterIndex.Build(N, triples)).Mrr < 0.5);
    }

    [Fact]
    public void SameSeedAndThreadsGiveTheSameTables()
    {
        var triples = Planted();
        float[] Run(KgLoss loss)
        {
            using var model = KgModel.Create(loss == KgLoss.OneToN ? "complex" : "rotate", N, 3, new KgModelOptions { Dims = 8 });
            KgTrainer.Train(model, triples, new KgTrainingOptions { Epochs = 3, BatchSize = 20, Negatives = 4, Threads = 2, Loss = loss, SharedNegatives = loss == KgLoss.Margin });
            return model.Entities.Weight.ToArray();
        }
        foreach (var loss in new[] { KgLoss.OneToN, KgLoss.SelfAdversarial, KgLoss.Margin })
            Assert.Equal(Run(loss), Run(loss));
    }

    [Fact]
    public void CancellationStopsAndKeepsWhatWasLearned()
    {
        var triples = Planted();
        using var model = KgModel.Create("distmult", N, 3, new KgModelOptions { Dims = 8 });
        using var cts = new CancellationTokenSource();
        var summary = KgTrainer.Train(model, triples, new KgTrainingOptions { Epochs = 1000, BatchSize = 8, Progress = r => { if (r.Epoch == 2) cts.Cancel(); } }, cts.Token);
        Assert.True(summary.Cancelled);
        Assert.Equal(2, summary.Epochs);
    }

    [Fact]
    public void BadOptionsAreRejectedBeforeTraining()
    {
        using var model = KgModel.Create("transe", 3, 1, new KgModelOptions { Dims = 2 });
        var before = model.Entities.Weight.ToArray();
        Triple[] ok = [new(0, 0, 1)];
        Assert.Throws<ArgumentException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { Loss = KgLoss.OneToN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { BatchSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { RegularizationWeight = -1 }));
        Assert.Throws<ArgumentException>(() => KgTrainer.Train(model, [new Triple(0, 1, 1)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { RelationRegularizationWeight = -0.5f }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { RelationRegularizationWeight = float.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { LearningRateDecay = (KgLearningRateDecay)7 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { LearningRateDecay = KgLearningRateDecay.Cosine, FinalLearningRateFactor = 1.5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { FinalLearningRateFactor = double.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { EntityDropout = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { RelationDropout = -0.1f }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { EntityDropout = float.NaN }));
        var e = Assert.Throws<ArgumentException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { EntityDropout = 0.2f }));
        Assert.Contains("1-N", e.Message);
        Assert.Equal(before, model.Entities.Weight.ToArray());
    }

    [Theory]
    [InlineData(KgLearningRateDecay.Linear)]
    [InlineData(KgLearningRateDecay.Cosine)]
    public void DecayReachesTheFinalFactorAtThePlannedLastStep(KgLearningRateDecay decay)
    {
        var options = new KgTrainingOptions { LearningRateDecay = decay, FinalLearningRateFactor = 0.1 };
        var schedule = KgTrainer.Schedule(options, 50);
        Assert.Equal(1, schedule.Factor(1), 12);
        Assert.Equal(0.1, schedule.Factor(50), 12);
        Assert.True(schedule.Factor(25) < 1 && schedule.Factor(25) > 0.1);
        Assert.Equal(1, KgTrainer.Schedule(options, 1).Factor(1));
        Assert.Equal(1, KgTrainer.Schedule(new KgTrainingOptions(), 50).Factor(50));
    }

    [Fact]
    public void CosineDecayFreezesTheTablesInTheLastEpochAndStillRecoversThePlantedGraph()
    {
        var triples = Planted();
        using var model = KgModel.Create("complex", N, 3, new KgModelOptions { Dims = 16, InverseRelations = true, Seed = 3 });
        // One batch per epoch (72 triples → 144 queries), so the last epoch is the last, zero-rate step.
        var snapshots = new List<float[]>();
        KgTrainer.Train(model, triples, new KgTrainingOptions
        {
            Epochs = 150, BatchSize = 144, LearningRate = 0.5, Threads = 2, LearningRateDecay = KgLearningRateDecay.Cosine,
            Progress = _ => snapshots.Add(model.Entities.Weight.ToArray()),
        });
        Assert.Equal(snapshots[^2], snapshots[^1]);
        Assert.NotEqual(snapshots[0], snapshots[1]);
        Assert.True(LinkPrediction.Evaluate(model, triples, FilterIndex.Build(N, triples)).Mrr > 0.95);
    }

    [Fact]
    public void OneToNWithDropoutStillRecoversThePlantedGraphAndRepeatsForASeed()
    {
        var triples = Planted();
        float[] Run(float p, out double mrr)
        {
            using var model = KgModel.Create("complex", N, 3, new KgModelOptions { Dims = 16, InverseRelations = true, Seed = 3 });
            KgTrainer.Train(model, triples, new KgTrainingOptions { Epochs = 150, BatchSize = 16, LearningRate = 0.5, Threads = 2, EntityDropout = p, RelationDropout = p / 2 });
            mrr = LinkPrediction.Evaluate(model, triples, FilterIndex.Build(N, triples)).Mrr;
            return model.Entities.Weight.ToArray();
        }
        var a = Run(0.2f, out double mrr);
        Assert.True(mrr > 0.95, $"filtered MRR {mrr}");
        Assert.Equal(a, Run(0.2f, out _));
        Assert.NotEqual(a, Run(0f, out _));
    }

    [Fact]
    public void BernoulliCorruptsTheManySideLess()
    {
        // Relation 0: one head with many tails (tph = 4, hpt = 1) → corrupt the head with probability 0.8.
        Triple[] triples = [new(0, 0, 1), new(0, 0, 2), new(0, 0, 3), new(0, 0, 4), new(5, 1, 6)];
        var p = KgTrainer.BernoulliProbabilities(triples, 3);
        Assert.Equal(0.8, p[0], 12);
        Assert.Equal(0.5, p[1], 12);
        Assert.Equal(0.5, p[2], 12);
    }
}
