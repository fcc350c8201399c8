using EmbedSharp.Graphs.Data;
using EmbedSharp.Graphs.Models;

namespace EmbedSharp.Graphs.Tests;

public class ModelTests
{
    public static TheoryData<string, int, bool> Models()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (var (m, norm) in new[] { ("transe", 1), ("transe", 2), ("distmult", 2), ("complex", 2), ("rotate", 2) })
            foreach (bool inverse in new[] { false, true })
                data.Add(m, norm, inverse);
        return data;
    }

    /// <summary>The fast all-entity scoring (GEMM, or the L1/RotatE loops) against one Score call per triple.</summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void ScoreAllMatchesScoreOfEachTriple(string name, int norm, bool inverse)
    {
        foreach (var (n, dims) in new[] { (1, 1), (7, 3), (37, 17), (130, 33) })
        {
            using var model = KgModel.Create(name, n, 3, new KgModelOptions { Dims = dims, Norm = norm, InverseRelations = inverse, InitScale = 0.7f, Seed = (ulong)n });
            int[] anchors = Enumerable.Range(0, 9).Select(i => (i * 5) % n).ToArray();
            int[] relations = Enumerable.Range(0, 9).Select(i => i % 3).ToArray();
            foreach (var side in new[] { QuerySide.Tail, QuerySide.Head })
            {
                if (inverse && side == QuerySide.Head)
                    continue; // head queries then use the inverse row, a different (learned) function
                var scores = new float[anchors.Length * n];
                model.ScoreAll(anchors, relations, side, scores);
                for (int i = 0; i < anchors.Length; i++)
                    for (int e = 0; e < n; e++)
                    {
                        float expected = side == QuerySide.Tail ? model.Score(anchors[i], relations[i], e) : model.Score(e, relations[i], anchors[i]);
                        Assert.True(Math.Abs(expected - scores[i * n + e]) <= 1e-3f * (1 + Math.Abs(expected)), $"{name} n={n} d={dims} {side} q{i} e{e}: {scores[i * n + e]} vs {expected}");
                    }
            }
        }
    }

    [Fact]
    public void PredictAndMostSimilarRankEntities()
    {
        using var model = KgModel.Create("distmult", 5, 1, new KgModelOptions { Dims = 2 });
        model.Entities.Weight.CopyFrom([1, 0, 0.9f, 0.1f, 0, 1, -1, 0, 0.5f, 0.5f]);
        model.Relations.Weight.CopyFrom([1, 1]);
        var top = model.Predict(0, 0, 2);
        Assert.Equal([0, 1], top.Select(t => t.Index));
        Assert.Equal([1, 4], model.Predict(0, 0, 2, [0]).Select(t => t.Index));
        Assert.Equal(1, model.MostSimilar(0, 1)[0].Index);
        Assert.DoesNotContain(0, model.MostSimilar(0, 4).Select(t => t.Index));
    }

    [Fact]
    public void SettingsRoundTripAndBadTablesAreRejected()
    {
        using var model = KgModel.Create("rotate", 6, 2, new KgModelOptions { Dims = 4, InverseRelations = true, Gamma = 9 });
        var settings = model.Settings();
        using var copy = KgModel.FromTables(settings, model.Entities.Weight.ToArray(), model.Relations.Weight.ToArray());
        Assert.Equal(model.Score(1, 1, 2), copy.Score(1, 1, 2));
        Assert.Equal(9f, copy.Gamma);
        Assert.Equal(4, copy.Relations.NumEmbeddings);
        Assert.Throws<InvalidDataException>(() => KgModel.FromTables(settings, new float[5], model.Relations.Weight.ToArray()));
        var bad = new Dictionary<string, string>(settings) { ["dims"] = "-3" };
        Assert.Contains("dims", Assert.Throws<InvalidDataException>(() => KgModel.FromTables(bad, [], [])).Message);
        bad = new Dictionary<string, string>(settings) { ["model"] = "hole" };
        Assert.Throws<InvalidDataException>(() => KgModel.FromTables(bad, [], []));
        bad = new Dictionary<string, string>(settings);
        bad.Remove("gamma");
        Assert.Throws<InvalidDataException>(() => KgModel.FromTables(bad, [], []));
        Assert.Throws<ArgumentException>(() => KgModel.Create("hole", 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => KgModel.Create("transe", 2, 2, new KgModelOptions { Norm = 3 }));
    }

    [Fact]
    public void RotatERelationsStayUnitModulus()
    {
        using var model = KgModel.Create("rotate", 3, 1, new KgModelOptions { Dims = 2, InitScale = 1 });
        // Rotating by any phases keeps |h ∘ r| = |h|, so f(h, r, h ∘ r) = γ exactly when t is the rotated head.
        var h = model.Entities.Weight.GetRow<float>(0);
        var q = new float[4];
        model.Query(h, model.Relations.Weight.GetRow<float>(0), false, q);
        for (int k = 0; k < 2; k++)
            Assert.Equal(h[k] * h[k] + h[2 + k] * h[2 + k], q[k] * q[k] + q[2 + k] * q[2 + k], 4);
        q.CopyTo(model.Entities.Weight.GetRow<float>(1));
        Assert.Equal(model.Gamma, model.Score(0, 0, 1), 4);
    }
}

public class ScoreKernelTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(33)]
    [InlineData(130)]
    public void VectorisedKernelsMatchThePlainLoops(int half)
    {
        var r = new Random(half);
        int n = 2 * half;
        foreach (var kind in Enum.GetValues<ScoreKind>())
        {
            var q = Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray();
            var e = Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray();
            if (n > 2)
            {
                e[1] = q[1];          // a zero difference (L1 sign 0)
                e[half] = q[half];    // with e[0] below: a complex coordinate with zero modulus
                e[0] = q[0];
            }
            Assert.Equal(ScoreKernels.ScoreReference(kind, q, e), ScoreKernels.Score(kind, q, e), 3);
            var gq1 = new float[n]; var ge1 = new float[n]; var gq2 = new float[n]; var ge2 = new float[n];
            ScoreKernels.BackwardReference(kind, q, e, 0.7f, gq1, ge1);
            ScoreKernels.Backward(kind, q, e, 0.7f, gq2, ge2);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(gq1[i], gq2[i], 4);
                Assert.Equal(ge1[i], ge2[i], 4);
            }
            if (kind == ScoreKind.Dot)
                continue;
            // The fused score + direction: ∂s/∂e = unit, so unit = BackwardReference's ge for g = 1.
            var unit = new float[n + 1];
            unit[n] = -7f;
            var reference = new float[n];
            ScoreKernels.BackwardReference(kind, q, e, 1f, default, reference);
            Assert.Equal(ScoreKernels.ScoreReference(kind, q, e), ScoreKernels.ScoreWithUnit(kind, q, e, unit), 3);
            for (int i = 0; i < n; i++)
                Assert.Equal(reference[i], unit[i], 4);
            Assert.Equal(-7f, unit[n]);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(31)]
    [InlineData(201)]
    public void DistanceKernelsMatchThePlainLoopsOnOddLengths(int n)
    {
        var r = new Random(n);
        var q = Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray();
        var e = Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray();
        e[0] = q[0];
        Assert.Equal(-ScoreKernels.ScoreReference(ScoreKind.L1, q, e), ScoreKernels.L1Distance(q, e), 4);
        // Complex rows have an even length; an odd span's last value is outside both halves.
        int even = n / 2 * 2;
        Assert.Equal(-ScoreKernels.ScoreReference(ScoreKind.ComplexL1, q.AsSpan(0, even), e.AsSpan(0, even)), ScoreKernels.ComplexL1Distance(q.AsSpan(0, even), e.AsSpan(0, even)), 4);
    }
}
