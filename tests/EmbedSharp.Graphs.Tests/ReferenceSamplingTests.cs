using EmbedSharp.Graphs.Data;
using EmbedSharp.Graphs.Evaluation;
using EmbedSharp.Graphs.Models;
using EmbedSharp.Graphs.Training;
using EmbedSharp.Numerics;

namespace EmbedSharp.Graphs.Tests;

/// <summary>
/// The negative-sampling settings taken from RotatE's reference code: filtered negatives, subsampling weights,
/// alternating sides, a separate relation learning rate and the step decay.
/// </summary>
public class ReferenceSamplingTests
{
    private const int N = 24;

    /// <summary>The planted graph of <see cref="TrainingTests"/>: a cycle, a skip-5 cycle and a symmetric pairing.</summary>
    private static Triple[] Planted()
    {
        var list = new List<Triple>();
        for (int e = 0; e < N; e++)
        {
            list.Add(new Triple(e, 0, (e + 1) % N));
            list.Add(new Triple(e, 1, (e + 5) % N));
            list.Add(new Triple(e, 2, e ^ 1));
        }
        return list.ToArray();
    }

    [Fact]
    public void SubsamplingWeightsCountPartialTriplesFromFour()
    {
        // (0, r0) heads 3 triples, (5, r0) tails 2 of them; every other partial triple occurs once.
        Triple[] triples = [new(0, 0, 5), new(0, 0, 5), new(0, 0, 6), new(1, 1, 5)];
        var w = KgTrainer.SubsamplingWeights(triples);
        // c(h, r) = 3 + occurrences, c(t, r⁻¹) likewise (relation 1's tail 5 is a different key from relation 0's).
        Assert.Equal(1 / Math.Sqrt(6 + 5), w[0], 6);
        Assert.Equal(1 / Math.Sqrt(6 + 5), w[1], 6);
        Assert.Equal(1 / Math.Sqrt(6 + 4), w[2], 6);
        Assert.Equal(1 / Math.Sqrt(4 + 4), w[3], 6);
        Assert.Empty(KgTrainer.SubsamplingWeights([]));
    }

    [Fact]
    public void FilteredNegativesNeverNameAKnownAnswerAndStillCoverTheRest()
    {
        // (0, r0, ?) has tails 1, 2, 3; (?, r0, 1) has heads 0, 4; relation 1's query (0, r1, ?) is answered by every entity.
        const int n = 6;
        var triples = new List<Triple> { new(0, 0, 1), new(0, 0, 2), new(0, 0, 3), new(4, 0, 1) };
        for (int e = 0; e < n; e++)
            triples.Add(new Triple(0, 1, e));
        using var model = KgModel.Create("rotate", n, 2, new KgModelOptions { Dims = 2 });
        var filtered = new KgTrainer.NegativeWorkspace(model, new KgTrainingOptions { FilterNegatives = true }, KgLoss.SelfAdversarial, triples.ToArray());
        var plain = new KgTrainer.NegativeWorkspace(model, new KgTrainingOptions(), KgLoss.SelfAdversarial, triples.ToArray());
        var ids = new int[400];
        var random = new SeededRandom(7);
        filtered.DrawNegatives(0, 0, QuerySide.Tail, random, ids);
        Assert.Equal(new[] { 0, 4, 5 }, ids.Distinct().Order().ToArray());
        filtered.DrawNegatives(1, 0, QuerySide.Head, random, ids);
        Assert.Equal(new[] { 1, 2, 3, 5 }, ids.Distinct().Order().ToArray());
        // Nothing to filter against: plain draws (no hang), every entity appears.
        filtered.DrawNegatives(0, 1, QuerySide.Tail, random, ids);
        Assert.Equal(n, ids.Distinct().Count());
        plain.DrawNegatives(0, 0, QuerySide.Tail, random, ids);
        Assert.Contains(1, ids);
        // Filtering off draws exactly what the trainer drew before the option existed: NextInt(n) per negative.
        var a = new SeededRandom(11);
        plain.DrawNegatives(3, 0, QuerySide.Tail, new SeededRandom(11), ids);
        Assert.All(ids, id => Assert.Equal(a.NextInt(n), id));
    }

    public static TheoryData<string, KgLoss, bool, bool, bool> BatchCases() => new()
    {
        // model, loss, subsampling weights, filtered negatives, alternating sides (TransE with L2: L1 has kinks a finite difference can straddle)
        { "rotate", KgLoss.SelfAdversarial, true, true, false },
        { "rotate", KgLoss.SelfAdversarial, true, false, true },
        { "rotate", KgLoss.SelfAdversarial, false, true, true },
        { "transe", KgLoss.Margin, true, true, false },
        { "complex", KgLoss.SelfAdversarial, true, true, true },
    };

    /// <summary>
    /// The gathered gradient of a whole batch (Σ w·ℓ / Σ w over its triples, split over two workers) against finite
    /// differences of the batch loss. α = 0 makes the self-adversarial weights constants, so the loss is smooth in the rows.
    /// </summary>
    [Theory]
    [MemberData(nameof(BatchCases))]
    public void WeightedBatchGradientsMatchFiniteDifferences(string name, KgLoss loss, bool weighted, bool filter, bool alternate)
    {
        var triples = Planted()[..40];
        using var model = KgModel.Create(name, N, 3, new KgModelOptions { Dims = 3, Gamma = 2, Norm = 2, InitScale = name == "rotate" ? null : 0.5f, Seed = 4 });
        var options = new KgTrainingOptions
        {
            Negatives = 3, AdversarialTemperature = 0, Margin = 20, Threads = 2,
            SubsamplingWeights = weighted, FilterNegatives = filter, AlternateSides = alternate,
        };
        var ws = new KgTrainer.NegativeWorkspace(model, options, loss, triples);
        // Unequal weights, so the normalisation by their sum is exercised.
        var weights = weighted ? triples.Select((_, i) => 0.2f + 0.05f * (i % 7)).ToArray() : [];
        const ulong seed = 99;
        double value = ws.Compute(triples, weights, 1, seed);
        var gE = ws.EntityGradients.Build().ToDense();
        var gR = ws.RelationGradients.Build().ToDense();
        double Loss()
        {
            double l = ws.Compute(triples, weights, 1, seed);
            ws.Clear();
            return l;
        }
        Assert.Equal(value, Loss());
        GradientTests.CheckTable(model.Entities.Weight, gE, Loss);
        GradientTests.CheckTable(model.Relations.Weight, gR, Loss);
    }

    [Fact]
    public void EqualWeightsGiveTheUnweightedBatchAndUnequalOnesDoNot()
    {
        var triples = Planted()[..30];
        using var model = KgModel.Create("rotate", N, 3, new KgModelOptions { Dims = 4, Seed = 2 });
        var ws = new KgTrainer.NegativeWorkspace(model, new KgTrainingOptions { Negatives = 5, Threads = 1 }, KgLoss.SelfAdversarial, triples);
        (double Loss, float[] Grad) Batch(float[] weights)
        {
            double l = ws.Compute(triples, weights, 0, 5);
            ws.RelationGradients.Clear();
            return (l, ws.EntityGradients.Build().ToDense());
        }
        var plain = Batch([]);
        var equal = Batch(Enumerable.Repeat(0.37f, triples.Length).ToArray());
        Assert.Equal(plain.Loss, equal.Loss, 5);
        for (int i = 0; i < plain.Grad.Length; i++)
            Assert.Equal(plain.Grad[i], equal.Grad[i], 5);
        var unequal = Batch(triples.Select((_, i) => i < 15 ? 1f : 0.01f).ToArray());
        Assert.NotEqual(plain.Loss, unequal.Loss, 3);
    }

    [Fact]
    public void AlternatingSidesCorruptTailsInEvenBatchesAndHeadsInOddOnes()
    {
        // Known: tails 1, 2 of (0, r0, ?) and head 0 of (?, r0, 1). With filtered negatives the batch (0, r0, 1) touches
        // rows {0 anchor, 1 target, 0 negatives} when its tail is corrupted and {1 anchor, 0 target, 1 and 2 negatives} when its head is.
        Triple[] known = [new(0, 0, 1), new(0, 0, 2)];
        Triple[] batch = [new(0, 0, 1)];
        using var model = KgModel.Create("transe", 3, 1, new KgModelOptions { Dims = 2, Norm = 1 });
        int[] Touched(KgTrainingOptions options, int batchIndex)
        {
            var ws = new KgTrainer.NegativeWorkspace(model, options with { Negatives = 50, Margin = 100, FilterNegatives = true, Threads = 1 }, KgLoss.Margin, known);
            ws.Compute(batch, default, batchIndex, (ulong)batchIndex * 31 + 1);
            ws.RelationGradients.Clear();
            return ws.EntityGradients.Build().Rows.ToArray();
        }
        var alternate = new KgTrainingOptions { AlternateSides = true };
        for (int b = 0; b < 6; b++)
            Assert.Equal(b % 2 == 0 ? new[] { 0, 1 } : new[] { 0, 1, 2 }, Touched(alternate, b));
        // Without it the side is drawn per triple: both patterns turn up over a few batches.
        var patterns = Enumerable.Range(0, 20).Select(b => Touched(new KgTrainingOptions(), b).Length).Distinct().Order().ToArray();
        Assert.Equal(new[] { 2, 3 }, patterns);
        var e = Assert.Throws<ArgumentException>(() => KgTrainer.Train(model, known, new KgTrainingOptions { AlternateSides = true, Corruption = CorruptionMode.Bernoulli }));
        Assert.Contains("Uniform", e.Message);
    }

    [Fact]
    public void RelationLearningRateMovesTheRelationTableOnItsOwn()
    {
        var triples = Planted();
        (float Entities, float Relations) Moved(double? relationLr)
        {
            using var model = KgModel.Create("rotate", N, 3, new KgModelOptions { Dims = 8, Seed = 1 });
            var e0 = model.Entities.Weight.ToArray();
            var r0 = model.Relations.Weight.ToArray();
            KgTrainer.Train(model, triples, new KgTrainingOptions { Epochs = 2, BatchSize = 16, Negatives = 4, LearningRate = 0.01, RelationLearningRate = relationLr, Threads = 1 });
            static float MaxDiff(float[] a, float[] b) => a.Zip(b, (x, y) => MathF.Abs(x - y)).Max();
            return (MaxDiff(e0, model.Entities.Weight.ToArray()), MaxDiff(r0, model.Relations.Weight.ToArray()));
        }
        var same = Moved(null);
        var frozen = Moved(1e-9);
        var fast = Moved(0.5);
        Assert.True(same.Relations > 1e-3, $"relations moved {same.Relations}");
        Assert.True(frozen.Relations < 1e-6, $"relations moved {frozen.Relations}");
        Assert.True(frozen.Entities > 1e-3, $"entities moved {frozen.Entities}");
        Assert.True(fast.Relations > 10 * same.Relations, $"relations moved {fast.Relations} against {same.Relations}");
        using var m = KgModel.Create("rotate", N, 3, new KgModelOptions { Dims = 2 });
        Assert.Throws<ArgumentOutOfRangeException>(() => KgTrainer.Train(m, triples, new KgTrainingOptions { RelationLearningRate = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => KgTrainer.Train(m, triples, new KgTrainingOptions { RelationLearningRate = double.PositiveInfinity }));
    }

    [Fact]
    public void StepDecayKeepsTheFullRateForHalfThePlannedSteps()
    {
        var options = new KgTrainingOptions { LearningRateDecay = KgLearningRateDecay.Step, FinalLearningRateFactor = 0.1 };
        var schedule = KgTrainer.Schedule(options, 50);
        Assert.Equal(1, schedule.Factor(1));
        Assert.Equal(1, schedule.Factor(25));
        Assert.Equal(0.1, schedule.Factor(26));
        Assert.Equal(0.1, schedule.Factor(50));
        Assert.Equal(1, KgTrainer.Schedule(options, 1).Factor(1));
    }

    [Fact]
    public void ReferenceSettingsAreRejectedWhereTheyDoNotApply()
    {
        using var model = KgModel.Create("complex", 3, 1, new KgModelOptions { Dims = 2 });
        var before = model.Entities.Weight.ToArray();
        Triple[] ok = [new(0, 0, 1)];
        Assert.Throws<ArgumentException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { Loss = KgLoss.OneToN, SubsamplingWeights = true }));
        Assert.Throws<ArgumentException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { Loss = KgLoss.OneToN, FilterNegatives = true }));
        Assert.Throws<ArgumentException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { Loss = KgLoss.OneToN, AlternateSides = true }));
        Assert.Throws<ArgumentException>(() => KgTrainer.Train(model, ok, new KgTrainingOptions { Loss = KgLoss.SelfAdversarial, FilterNegatives = true, SharedNegatives = true }));
        Assert.Equal(before, model.Entities.Weight.ToArray());
    }

    [Fact]
    public void RotatEWithEveryReferenceSettingRecoversThePlantedGraphAndRepeatsForASeed()
    {
        var triples = Planted();
        float[] Run(out double mrr)
        {
            using var model = KgModel.Create("rotate", N, 3, new KgModelOptions { Dims = 16, Gamma = 6, Seed = 3 });
            KgTrainer.Train(model, triples, new KgTrainingOptions
            {
                Epochs = 200, BatchSize = 16, Negatives = 8, LearningRate = 0.05, RelationLearningRate = 0.2, AdversarialTemperature = 0.5f,
                FilterNegatives = true, SubsamplingWeights = true, AlternateSides = true, LearningRateDecay = KgLearningRateDecay.Step,
                FinalLearningRateFactor = 0.1, Threads = 2,
            });
            mrr = LinkPrediction.Evaluate(model, triples, FilterIndex.Build(N, triples)).Mrr;
            return model.Entities.Weight.ToArray();
        }
        var a = Run(out double mrr);
        Assert.True(mrr > 0.95, $"filtered MRR {mrr}");
        Assert.Equal(a, Run(out _));
    }
}
