using EmbedSharp.Graphs.Data;
using EmbedSharp.Graphs.Models;
using EmbedSharp.Graphs.Training;

namespace EmbedSharp.Graphs.Tests;

/// <summary>Every hand-derived gradient against central finite differences (in double over float kernels, so steps and tolerances are loose-ish).</summary>
public class GradientTests
{
    public static TheoryData<string, int, KgLoss, bool> NegativeSamplingCases()
    {
        var data = new TheoryData<string, int, KgLoss, bool>();
        foreach (var (model, norm) in new[] { ("transe", 1), ("transe", 2), ("distmult", 2), ("complex", 2), ("rotate", 2) })
            foreach (var loss in new[] { KgLoss.Margin, KgLoss.SelfAdversarial })
                foreach (bool head in new[] { false, true })
                    data.Add(model, norm, loss, head);
        return data;
    }

    private static float[] RandomVector(Random r, int n, double scale = 1) => Enumerable.Range(0, n).Select(_ => (float)((r.NextDouble() * 2 - 1) * scale)).ToArray();

    [Theory]
    [MemberData(nameof(NegativeSamplingCases))]
    public void NegativeSamplingGradientsMatchFiniteDifferences(string name, int norm, KgLoss loss, bool headSide)
    {
        using var model = KgModel.Create(name, 4, 2, new KgModelOptions { Dims = 5, Norm = norm, Gamma = 2 });
        int d = model.Entities.Dims, dr = model.Relations.Dims, k = 3;
        var r = new Random(name.Length * 31 + norm + (int)loss * 7 + (headSide ? 1 : 0));
        var anchor = RandomVector(r, d);
        var relation = RandomVector(r, dr, name == "rotate" ? 3 : 1);
        var target = RandomVector(r, d);
        var negatives = RandomVector(r, k * d);
        float margin = 4; // large enough that every margin term is active, so the loss is smooth where we probe it
        var weights = new float[k];
        double Loss()
        {
            var scratch = new float[d];
            return Losses.NegativeSampling(model, loss, margin, 0.7f, anchor, relation, headSide, target, negatives, k,
                new float[d], new float[dr], new float[d], new float[k * d], new float[d], scratch, new float[k], heldWeights: weights)
                + Losses.Regularize(KgRegularizer.N3, 0.05f, model.IsComplex, anchor, new float[d], 1);
        }
        var gA = new float[d];
        var gR = new float[dr];
        var gT = new float[d];
        var gN = new float[k * d];
        Losses.NegativeSampling(model, loss, margin, 0.7f, anchor, relation, headSide, target, negatives, k, gA, gR, gT, gN, new float[d], new float[d], new float[k], weightsUsed: weights);
        if (loss == KgLoss.SelfAdversarial)
            Assert.Equal(1.0, weights.Sum(), 5); // a proper softmax, held fixed below as the paper's gradient does
        Losses.Regularize(KgRegularizer.N3, 0.05f, model.IsComplex, anchor, gA, 1);
        Check(anchor, gA, Loss);
        Check(relation, gR, Loss);
        Check(target, gT, Loss);
        Check(negatives, gN, Loss);
    }

    private static void Check(float[] x, float[] analytic, Func<double> loss)
    {
        const float h = 1e-3f;
        for (int i = 0; i < x.Length; i++)
        {
            float keep = x[i];
            x[i] = keep + h;
            double up = loss();
            x[i] = keep - h;
            double down = loss();
            x[i] = keep;
            double numeric = (up - down) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[i]) <= 2e-3 + 2e-2 * Math.Abs(numeric), $"coordinate {i}: analytic {analytic[i]}, numeric {numeric}");
        }
    }

    [Theory]
    [InlineData(KgRegularizer.L2, false)]
    [InlineData(KgRegularizer.N3, false)]
    [InlineData(KgRegularizer.N3, true)]
    public void RegularizerGradientsMatchFiniteDifferences(KgRegularizer kind, bool complex)
    {
        var r = new Random(3);
        var row = RandomVector(r, 8);
        var g = new float[8];
        Losses.Regularize(kind, 0.3f, complex, row, g, 0.5f);
        Check(row, g, () => Losses.Regularize(kind, 0.3f, complex, row, new float[8], 0.5f));
    }

    [Theory]
    [InlineData("distmult", false, KgRegularizer.N3)]
    [InlineData("complex", false, KgRegularizer.N3)]
    [InlineData("complex", true, KgRegularizer.L2)]
    public void OneToNGradientsMatchFiniteDifferences(string name, bool inverse, KgRegularizer regularizer)
    {
        using var model = KgModel.Create(name, 7, 2, new KgModelOptions { Dims = 3, InverseRelations = inverse, InitScale = 0.5f, Seed = 9 });
        Triple[] triples = [new(0, 0, 1), new(2, 1, 3), new(4, 0, 4), new(6, 1, 0)];
        var queries = KgTrainer.Queries(model, triples);
        var options = new KgTrainingOptions { Regularizer = regularizer, RegularizationWeight = 0.1f, Threads = 2 };
        var ws = new KgTrainer.OneToNWorkspace(model);
        int n = model.NumEntities, d = model.Entities.Dims;
        var gE = new float[n * d];
        var gR = new RowGradients(model.Relations.NumEmbeddings, model.Relations.Dims);
        ws.Compute(queries, options, gE, gR);
        var relationGrad = gR.Build().ToDense();
        double Loss() => ws.Compute(queries, options, new float[n * d], new RowGradients(model.Relations.NumEmbeddings, model.Relations.Dims));
        var entities = model.Entities.Weight.AsSpan<float>().ToArray();
        CheckTable(model.Entities.Weight, gE, Loss);
        CheckTable(model.Relations.Weight, relationGrad, Loss);
        Assert.Equal(entities, model.Entities.Weight.AsSpan<float>().ToArray());
    }

    [Theory]
    [InlineData("complex", true, 0.3f, 0.25f)]
    [InlineData("complex", false, 0.5f, 0f)]
    [InlineData("distmult", true, 0f, 0.4f)]
    public void OneToNGradientsWithDropoutAndSeparateRelationPenaltyMatchFiniteDifferences(string name, bool inverse, float entityDropout, float relationDropout)
    {
        using var model = KgModel.Create(name, 7, 2, new KgModelOptions { Dims = 4, InverseRelations = inverse, InitScale = 0.5f, Seed = 5 });
        Triple[] triples = [new(0, 0, 1), new(2, 1, 3), new(4, 0, 4), new(6, 1, 0), new(0, 0, 5)];
        var queries = KgTrainer.Queries(model, triples);
        var options = new KgTrainingOptions
        {
            Regularizer = KgRegularizer.N3, RegularizationWeight = 0.05f, RelationRegularizationWeight = 0.4f,
            EntityDropout = entityDropout, RelationDropout = relationDropout, Threads = 1,
        };
        var ws = new KgTrainer.OneToNWorkspace(model);
        int n = model.NumEntities, d = model.Entities.Dims;
        const ulong seed = 42;
        var gE = new float[n * d];
        var gR = new RowGradients(model.Relations.NumEmbeddings, model.Relations.Dims);
        double loss = ws.Compute(queries, options, gE, gR, seed);
        var relationGrad = gR.Build().ToDense();
        double Loss(ulong s) => ws.Compute(queries, options, new float[n * d], new RowGradients(model.Relations.NumEmbeddings, model.Relations.Dims), s);
        // The mask is a function of the seed alone, and a different seed gives a different mask (dropout does something).
        Assert.Equal(loss, Loss(seed));
        Assert.NotEqual(loss, Loss(seed + 1));
        CheckTable(model.Entities.Weight, gE, () => Loss(seed));
        CheckTable(model.Relations.Weight, relationGrad, () => Loss(seed));
    }

    [Fact]
    public void RelationPenaltyWeightDefaultsToTheEntityWeightAndCanDiffer()
    {
        using var model = KgModel.Create("complex", 5, 1, new KgModelOptions { Dims = 3, InverseRelations = true, InitScale = 0.5f, Seed = 2 });
        var queries = KgTrainer.Queries(model, [new Triple(0, 0, 1), new Triple(2, 0, 3)]);
        var ws = new KgTrainer.OneToNWorkspace(model);
        double Loss(float? relationWeight) => ws.Compute(queries, new KgTrainingOptions { Regularizer = KgRegularizer.N3, RegularizationWeight = 0.1f, RelationRegularizationWeight = relationWeight },
            new float[5 * model.Entities.Dims], new RowGradients(model.Relations.NumEmbeddings, model.Relations.Dims));
        Assert.Equal(Loss(null), Loss(0.1f));
        Assert.True(Loss(1f) > Loss(0.1f));
        Assert.True(Loss(0f) < Loss(0.1f));
    }

    internal static void CheckTable(EmbedSharp.Tables.EmbeddingTable table, float[] analytic, Func<double> loss)
    {
        const float h = 1e-3f;
        var x = table.AsSpan<float>();
        for (int i = 0; i < analytic.Length; i++)
        {
            float keep = table.AsSpan<float>()[i];
            table.AsSpan<float>()[i] = keep + h;
            double up = loss();
            table.AsSpan<float>()[i] = keep - h;
            double down = loss();
            table.AsSpan<float>()[i] = keep;
            double numeric = (up - down) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[i]) <= 2e-3 + 2e-2 * Math.Abs(numeric), $"coordinate {i}: analytic {analytic[i]}, numeric {numeric}");
        }
        _ = x.Length;
    }
}
