using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;
using EmbedSharp.Tests.Tables;

namespace EmbedSharp.Tests.Optimizers;

/// <summary>The fused optimizer against the unfused dense reference, bit for bit, for every rule and policy.</summary>
public sealed class FusedSparseBackwardTests
{
    private const int NumEmbeddings = 150; // three state pages, the last one partial

    internal static SparseGradient RandomGradient(SeededRandom rng, int numEmbeddings, int dims, int positions)
    {
        var ids = new int[positions];
        for (int j = 0; j < positions; j++)
            ids[j] = rng.NextInt(2) == 0 ? rng.NextInt(5) : rng.NextInt(numEmbeddings);
        return Coalesce.Rows(numEmbeddings, dims, ids, RandomBags.Floats(rng, positions * dims));
    }

    private static void Compare<TRule>(TRule rule, UntouchedRows policy, UpdateMode mode, int dims, bool clip)
        where TRule : struct, ISparseUpdateRule
    {
        var rng = new SeededRandom((ulong)(dims * 31 + (int)policy * 7 + (int)mode + (clip ? 100 : 0)));
        float[] w0 = RandomBags.Floats(rng, NumEmbeddings * dims);
        using var table = new EmbeddingTable(NumEmbeddings, dims);
        table.CopyFrom(w0);
        var options = new SparseOptimizerOptions
        {
            UntouchedRows = policy,
            Mode = mode,
            Threads = 4,
            Schedule = LearningRateSchedule.WarmUp(2, LearningRateSchedule.Cosine(5, 0.1)),
            MaxRowNorm = clip ? 1.5 : null,
            MaxGlobalNorm = clip ? 4 : null,
        };
        var fused = FusedSparseBackward.Create(table, rule, options);
        var reference = new SparseOptimizerReference<TRule>((float[])w0.Clone(), NumEmbeddings, dims, rule, options);
        for (int step = 0; step < 7; step++)
        {
            SparseGradient g = step == 3 ? new SparseGradient(NumEmbeddings, dims, [], []) : RandomGradient(rng, NumEmbeddings, dims, 1 + rng.NextInt(20));
            fused.Step(g);
            reference.Step(g);
            Assert.Equal(reference.Weight, table.ToArray());
        }
        var state = new float[fused.StateWidth];
        for (int r = 0; r < NumEmbeddings; r++)
        {
            fused.ReadState(r, state);
            Assert.Equal(reference.State.AsSpan(r * fused.StateWidth, fused.StateWidth).ToArray(), state);
        }
        Assert.Equal(reference.StepCount, fused.StepCount);
    }

    public static TheoryData<UntouchedRows, UpdateMode, int, bool> Settings()
    {
        var data = new TheoryData<UntouchedRows, UpdateMode, int, bool>();
        foreach (UntouchedRows policy in new[] { UntouchedRows.Lazy, UntouchedRows.Dense })
            foreach (UpdateMode mode in new[] { UpdateMode.Exact, UpdateMode.Hogwild })
                foreach (int dims in new[] { 1, 5, 8 })
                    data.Add(policy, mode, dims, dims == 5);
        return data;
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void EveryRuleMatchesTheReference(UntouchedRows policy, UpdateMode mode, int dims, bool clip)
    {
        // A single Hogwild step updates distinct rows, so it is deterministic too and must match.
        Compare(new Sgd(0.1), policy, mode, dims, clip);
        Compare(new Sgd(0.1, momentum: 0.9, dampening: 0.3, weightDecay: 0.01), policy, mode, dims, clip);
        Compare(new Sgd(0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true), policy, mode, dims, clip);
        Compare(new Adagrad(0.1, lrDecay: 0.05, weightDecay: 0.02, initialAccumulatorValue: 0.3), policy, mode, dims, clip);
        Compare(new Adagrad(0.1), policy, mode, dims, clip);
        Compare(new RowwiseAdagrad(0.1, weightDecay: 0.01), policy, mode, dims, clip);
        Compare(new Adam(0.01, weightDecay: 0.1, amsgrad: true), policy, mode, dims, clip);
        Compare(new Adam(0.01), policy, mode, dims, clip);
        Compare(new AdamW(0.01, weightDecay: 0.1), policy, mode, dims, clip);
        if (policy == UntouchedRows.Lazy)
            Compare(new LazyAdam(0.01), policy, mode, dims, clip);
    }

    [Fact]
    public void LazyStateIsAllocatedOnlyForTouchedPages()
    {
        using var table = new EmbeddingTable(100_000, 4);
        var opt = FusedSparseBackward.Create(table, new LazyAdam(0.01));
        Assert.Equal(0, opt.AllocatedStateRows);
        opt.Step(new SparseGradient(100_000, 4, [5, 70_000], new float[8] { 1, 1, 1, 1, 1, 1, 1, 1 }));
        Assert.Equal(128, opt.AllocatedStateRows);
        Assert.Equal(8, opt.StateWidth);
        // Dense Adam without weight decay also keeps state sparse: untouched rows with zero state are a no-op.
        var dense = FusedSparseBackward.Create(table, new Adam(0.01), new SparseOptimizerOptions { UntouchedRows = UntouchedRows.Dense });
        dense.Step(new SparseGradient(100_000, 4, [5], new float[4] { 1, 1, 1, 1 }));
        Assert.Equal(64, dense.AllocatedStateRows);
    }

    [Fact]
    public void RowAndGlobalClippingScaleTheGradient()
    {
        using var table = new EmbeddingTable(3, 2);
        var row = FusedSparseBackward.Create(table, new Sgd(1), new SparseOptimizerOptions { MaxRowNorm = 1 });
        row.Step(new SparseGradient(3, 2, [0, 1], [3, 4, 0.3f, 0.4f]));
        float[] w = table.ToArray();
        Assert.Equal(-0.6f, w[0], 5); // (3, 4) clipped to norm 1
        Assert.Equal(-0.3f, w[2], 6); // (0.3, 0.4) under the limit
        using var t2 = new EmbeddingTable(3, 2);
        var global = FusedSparseBackward.Create(t2, new Sgd(1), new SparseOptimizerOptions { MaxGlobalNorm = 1 });
        global.Step(new SparseGradient(3, 2, [0, 2], [3, 0, 0, 4]));
        w = t2.ToArray();
        Assert.Equal(-0.6f, w[0], 5); // total norm 5 → everything scaled by 1/5
        Assert.Equal(-0.8f, w[5], 5);
    }

    [Fact]
    public void NonFiniteGradientStopsBeforeAnyChange()
    {
        using var table = new EmbeddingTable(4, 3);
        table.CopyFrom(Enumerable.Range(0, 12).Select(x => (float)x).ToArray());
        var opt = FusedSparseBackward.Create(table, new Adam(0.1));
        opt.Step(new SparseGradient(4, 3, [1], [1, 1, 1]));
        float[] before = table.ToArray();
        var ex = Assert.Throws<NonFiniteException>(() => opt.Step(new SparseGradient(4, 3, [0, 2], [1, 1, 1, 1, float.NaN, 1])));
        Assert.Equal(2, ex.Step);
        Assert.Equal(2, ex.Row);
        Assert.Equal(1, ex.Dimension);
        Assert.Contains("step 2", ex.Message);
        Assert.Contains("row 2", ex.Message);
        Assert.Equal(before, table.ToArray());
        Assert.Equal(1, opt.StepCount);
    }

    private delegate bool GuardedUpdate(Span<float> w, ReadOnlySpan<float> g, Span<float> state, in StepScalars scalars, Span<float> wb, Span<float> sb);

    private delegate void PlainUpdate(Span<float> w, ReadOnlySpan<float> g, Span<float> state, in StepScalars scalars);

    [Fact]
    public void GuardedUpdatesEqualTheUpdateAndBackUpTheRow()
    {
        var adam = new LazyAdam(0.05);
        var adagrad = new Adagrad(0.1, lrDecay: 0.01, weightDecay: 0.02, initialAccumulatorValue: 0.1);
        Check(2, adam.Prepare, adam.UpdateRow, adam.UpdateRowGuarded);
        Check(1, adagrad.Prepare, adagrad.UpdateRow, adagrad.UpdateRowGuarded);

        static void Check(int widthPerDim, Func<long, double, StepScalars> prepare, PlainUpdate plain, GuardedUpdate guarded)
        {
            var rng = new SeededRandom(21);
            foreach (int dims in new[] { 0, 1, 7, 8, 16, 67, 128 })
            {
                for (int step = 1; step <= 3; step++)
                {
                    StepScalars scalars = prepare(step, 1);
                    float[] w = RandomBags.Floats(rng, dims), g = RandomBags.Floats(rng, dims);
                    float[] state = RandomBags.Floats(rng, widthPerDim * dims).Select(MathF.Abs).ToArray();
                    float[] w2 = (float[])w.Clone(), state2 = (float[])state.Clone();
                    var wb = new float[dims];
                    var sb = new float[widthPerDim * dims];
                    plain(w, g, state, scalars);
                    Assert.True(guarded(w2, g, state2, scalars, wb, sb));
                    Assert.Equal(w, w2);
                    Assert.Equal(state, state2);
                    // The backups hold the row as it was: updating them again gives the same result.
                    plain(wb, g, sb, scalars);
                    Assert.Equal(w, wb);
                    if (dims == 0)
                        continue;
                    // A gradient of 1e20 squares to ∞: reported.
                    g[dims - 1] = 1e20f;
                    Assert.False(guarded(RandomBags.Floats(rng, dims), g, RandomBags.Floats(rng, widthPerDim * dims).Select(MathF.Abs).ToArray(),
                        scalars, new float[dims], new float[widthPerDim * dims]));
                }
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LazyAdamAndAdagradRestoreAnOverflowingRowAndItsState(bool adagrad)
    {
        using var table = new EmbeddingTable(3, 9);
        table.CopyFrom(Enumerable.Range(0, 27).Select(x => x == 13 ? -3e38f : 1f).ToArray());
        SparseOptimizer opt = adagrad ? FusedSparseBackward.Create(table, new Adagrad(1e38)) : FusedSparseBackward.Create(table, new LazyAdam(1e38));
        opt.Step(new SparseGradient(3, 9, [2], Enumerable.Repeat(-1f, 9).ToArray()));
        float[] before = table.ToArray();
        var state = new float[opt.StateWidth];
        opt.ReadState(1, state);
        var ex = Assert.Throws<NonFiniteException>(() => opt.Step(new SparseGradient(3, 9, [1], Enumerable.Repeat(1f, 9).ToArray())));
        Assert.Equal(1, ex.Row);
        Assert.Equal(4, ex.Dimension);
        Assert.Equal(before, table.ToArray());
        var after = new float[opt.StateWidth];
        opt.ReadState(1, after);
        Assert.Equal(state, after);
    }

    [Fact]
    public void OverflowingUpdateRestoresTheRowAndNamesIt()
    {
        using var table = new EmbeddingTable(3, 2);
        table.CopyFrom([1, 1, 3e38f, 1, 1, 1]);
        var opt = FusedSparseBackward.Create(table, new Sgd(1e38));
        var ex = Assert.Throws<NonFiniteException>(() => opt.Step(new SparseGradient(3, 2, [1], [-10, 0])));
        Assert.Equal(1, ex.Row);
        Assert.Equal([1, 1, 3e38f, 1, 1, 1], table.ToArray());

        // float16 storage: 60000 + 10000 is finite in float32 but rounds to +∞ in float16.
        using var half = new EmbeddingTable(2, 1, DType.Float16);
        half.CopyFrom([60000, 1]);
        var h = FusedSparseBackward.Create(half, new Sgd(1));
        Assert.Throws<NonFiniteException>(() => h.Step(new SparseGradient(2, 1, [0], [-10000])));
        Assert.Equal([60000f, 1f], half.ToArray());
    }

    [Fact]
    public void Float16TablesRoundEachUpdate()
    {
        var rng = new SeededRandom(4);
        float[] w0 = RandomBags.Lattice(rng, 20);
        using var half = new EmbeddingTable(5, 4, DType.Float16);
        half.CopyFrom(w0);
        SparseGradient g = RandomGradient(rng, 5, 4, 6);
        FusedSparseBackward.Create(half, new Adagrad(0.1)).Step(g);
        var reference = new SparseOptimizerReference<Adagrad>((float[])w0.Clone(), 5, 4, new Adagrad(0.1), new SparseOptimizerOptions());
        reference.Step(g);
        Assert.Equal(reference.Weight.Select(x => (float)(Half)x).ToArray(), half.ToArray());
    }

    [Fact]
    public void ArgumentsAreChecked()
    {
        using var table = new EmbeddingTable(4, 2);
        Assert.Throws<ArgumentException>(() => FusedSparseBackward.Create(table, default(Adam)));
        Assert.Throws<ArgumentException>(() => FusedSparseBackward.Create(table, new Sgd(0.1)).Step(new SparseGradient(5, 2, [], [])));
        Assert.Throws<ArgumentOutOfRangeException>(() => FusedSparseBackward.Create(table, new Sgd(0.1), new SparseOptimizerOptions { MaxRowNorm = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => FusedSparseBackward.Create(table, new Sgd(0.1), new SparseOptimizerOptions { Threads = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(0.1, beta2: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(eps: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RowwiseAdagrad(lr: -1));
        Assert.Equal(1e-3, new Adam().LearningRate);
        Assert.Equal(1e-2, new AdamW().WeightDecay);
    }

    [Fact]
    public void SchedulesFollowTheirFormulas()
    {
        Assert.Equal(1, LearningRateSchedule.Constant.Factor(1000));
        var linear = LearningRateSchedule.Linear(100);
        Assert.Equal(1, linear.Factor(1));
        Assert.Equal(0.5, linear.Factor(51), 12);
        Assert.Equal(1e-4, linear.Factor(1000));
        var cosine = LearningRateSchedule.Cosine(10, 0.2);
        Assert.Equal(1, cosine.Factor(1), 12);
        Assert.Equal(0.6, cosine.Factor(6), 12);
        Assert.Equal(0.2, cosine.Factor(11), 12);
        Assert.Equal(0.2, cosine.Factor(50), 12);
        var warm = LearningRateSchedule.WarmUp(4, LearningRateSchedule.Linear(10, 0));
        Assert.Equal([0.25, 0.5, 0.75, 1, 1, 0.9], Enumerable.Range(1, 6).Select(t => Math.Round(warm.Factor(t), 12)).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Cosine(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Linear(5, 2));
        using var table = new EmbeddingTable(2, 1);
        var opt = FusedSparseBackward.Create(table, new Sgd(0.5), new SparseOptimizerOptions { Schedule = linear });
        Assert.Equal(0.25, opt.LearningRateAt(51), 12);
    }
}
