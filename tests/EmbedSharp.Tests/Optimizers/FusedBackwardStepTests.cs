using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;
using EmbedSharp.Tests.Tables;

namespace EmbedSharp.Tests.Optimizers;

/// <summary>
/// The single-pass backward + step (<see cref="Embedding.BackwardAndStep(ReadOnlySpan{int}, ReadOnlySpan{float}, SparseOptimizer)"/>,
/// <see cref="EmbeddingBag.BackwardAndStep(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{float}, SparseOptimizer, ReadOnlySpan{float}, Span{float})"/>)
/// against <c>optimizer.Step(Backward(...))</c>, bit for bit, and the radix grouping under it.
/// </summary>
public sealed class FusedBackwardStepTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(256)]
    [InlineData(3001)]
    public void RadixSortMatchesTheStableReference(int n)
    {
        var rng = new SeededRandom((ulong)n + 5);
        foreach (int maxKey in new[] { 0, 1, 7, 2047, 2048, 4095, 1 << 20, (1 << 22) + 3, int.MaxValue })
        {
            var keys = new int[n];
            for (int i = 0; i < n; i++)
                keys[i] = rng.NextInt(3) == 0 ? Math.Min(maxKey, rng.NextInt(4)) : (int)(rng.NextDouble() * ((double)maxKey + 1)) % (maxKey == int.MaxValue ? int.MaxValue : maxKey + 1);
            var values = Enumerable.Range(100, n).ToArray();
            int[] expectedKeys = (int[])keys.Clone(), expectedValues = (int[])values.Clone();
            Kernels.SortByKeyReference(expectedKeys, expectedValues);
            Kernels.SortByKey(keys, values, maxKey, new int[n], new int[n]);
            Assert.Equal(expectedKeys, keys);
            Assert.Equal(expectedValues, values);
        }
    }

    [Fact]
    public void RowGroupsListEachRowsPositionsInBatchOrder()
    {
        int[] ids = [4, 1, 4, 0, 9, 1, 4];
        var skip = new System.Collections.BitArray(10) { [0] = true };
        using var groups = RowGroups.Build(ids, 10, skipIndex: 9, skipRow: skip);
        Assert.Equal([1, 4], groups.Rows.ToArray());
        Assert.Equal([0, 2, 5], groups.Starts.ToArray());
        Assert.Equal([1, 5, 0, 2, 6], groups.Positions.ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SinglesComeInBatchOrderAndTheOtherRowsAscending(bool bitmap)
    {
        int[] ids = [8, 4, 1, 4, 0, 9, 3, 4, 1];
        using var batch = BatchRows.Build(ids, 10, skipIndex: 0, bitmap: bitmap);
        // Rows 1 3 4 8 9; 1 and 4 have several positions; 8, 3 and 9 one each, at positions 0, 6 and 5.
        Assert.Equal([8, 9, 3], batch.SingleRows.ToArray());
        Assert.Equal([0, 5, 6], batch.SinglePositions.ToArray());
        Assert.Equal([1, 4], batch.Others.Rows.ToArray());
        Assert.Equal([0, 2, 5], batch.Others.Starts.ToArray());
        Assert.Equal([2, 8, 1, 3, 7], batch.Others.Positions.ToArray());
        Assert.Equal(5, batch.Count);
        Assert.Equal(8, batch.PositionCount);
        Assert.Equal(9, batch.IndexCount);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(64, 64)]
    [InlineData(65, 1000)]
    [InlineData(3001, 500)]
    [InlineData(3001, 200_003)]
    public void BatchRowsSplitsAsTheSortedGroups(int n, int rows)
    {
        // Both ways of finding repeated rows (bitmap and sort) against the reference built from
        // RowGroups.Build: singles are the one-position rows in batch order, the others its segments.
        var rng = new SeededRandom((ulong)(n * 31 + rows));
        var skipRow = new System.Collections.BitArray(rows);
        for (int r = 0; r < rows; r += 5)
            skipRow[r] = true;
        for (int trial = 0; trial < 3; trial++)
        {
            var ids = new int[n];
            for (int j = 0; j < n; j++)
                ids[j] = trial == 2 ? rng.NextInt(Math.Min(rows, 4)) : rng.NextInt(rows); // trial 2: few rows, many repeats
            int skipIndex = trial == 1 ? ids.FirstOrDefault() : -1;
            var skip = trial == 0 ? null : skipRow;
            using var all = RowGroups.Build(ids, rows, skipIndex, skip);
            var expectedSingles = new List<(int Position, int Row)>();
            var expectedOthers = new List<int>();
            for (int i = 0; i < all.Count; i++)
            {
                if (all.Starts[i + 1] - all.Starts[i] == 1)
                    expectedSingles.Add((all.Positions[all.Starts[i]], all.Rows[i]));
                else
                    expectedOthers.Add(i);
            }
            expectedSingles.Sort();
            foreach (bool bitmap in new[] { false, true })
            {
                using var batch = BatchRows.Build(ids, rows, skipIndex, skip, bitmap);
                Assert.Equal(expectedSingles.Select(e => e.Row).ToArray(), batch.SingleRows.ToArray());
                Assert.Equal(expectedSingles.Select(e => e.Position).ToArray(), batch.SinglePositions.ToArray());
                Assert.Equal(expectedOthers.Select(i => all.Rows[i]).ToArray(), batch.Others.Rows.ToArray());
                Assert.Equal(expectedOthers.SelectMany(i => all.Positions[all.Starts[i]..all.Starts[i + 1]].ToArray()).ToArray(), batch.Others.Positions.ToArray());
                Assert.Equal(all.Count, batch.Count);
                Assert.Equal(all.PositionCount, batch.PositionCount);
                Assert.Equal(n, batch.IndexCount);
                using var regrouped = batch.ToGroups(rows);
                Assert.Equal(all.Rows.ToArray(), regrouped.Rows.ToArray());
                Assert.Equal(all.Starts.ToArray(), regrouped.Starts.ToArray());
                Assert.Equal(all.Positions.ToArray(), regrouped.Positions.ToArray());
            }
        }
    }

    private static IEnumerable<Func<EmbeddingTable, SparseOptimizerOptions, SparseOptimizer>> Rules()
    {
        yield return (t, o) => FusedSparseBackward.Create(t, new Sgd(0.1), o);
        yield return (t, o) => FusedSparseBackward.Create(t, new Sgd(0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true), o);
        yield return (t, o) => FusedSparseBackward.Create(t, new Adagrad(0.1, lrDecay: 0.05, weightDecay: 0.02), o);
        yield return (t, o) => FusedSparseBackward.Create(t, new RowwiseAdagrad(0.1, weightDecay: 0.01), o);
        yield return (t, o) => FusedSparseBackward.Create(t, new Adam(0.01, weightDecay: 0.1, amsgrad: true), o);
        yield return (t, o) => FusedSparseBackward.Create(t, new AdamW(0.01, weightDecay: 0.1), o);
        yield return (t, o) => FusedSparseBackward.Create(t, new LazyAdam(0.01), o);
    }

    private static int[] Ids(SeededRandom rng, int n, int rows)
    {
        var ids = new int[n];
        for (int j = 0; j < n; j++)
            ids[j] = rng.NextInt(3) == 0 ? rng.NextInt(Math.Min(rows, 4)) : rng.NextInt(rows);
        return ids;
    }

    public static TheoryData<int, int, int> Sizes() => new()
    {
        // positions, dims, threads: empty, single, awkward, and large enough to run on worker threads.
        { 0, 7, 1 }, { 1, 1, 1 }, { 7, 7, 2 }, { 40, 67, 3 }, { 1500, 67, 1 }, { 1500, 67, 2 }, { 2100, 33, 3 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void EmbeddingBackwardAndStepEqualsStepOfBackward(int n, int dims, int threads)
    {
        const int rows = 600;
        foreach (var (padding, scale, byFreq, clip) in new (int?, float, bool, bool)[] { (null, 1f, false, false), (3, 1f, true, false), (0, 2.5f, false, false), (null, 1f, false, true) })
        {
            int ruleIndex = 0;
            foreach (var make in Rules())
            {
                var rng = new SeededRandom((ulong)(n * 13 + dims + ruleIndex++));
                var options = new EmbeddingOptions { Seed = 7, PaddingIdx = padding, Scale = scale, ScaleGradByFreq = byFreq };
                using var fused = new Embedding(rows, dims, options);
                using var unfused = new Embedding(rows, dims, options);
                fused.FreezeRows([5, 6]);
                unfused.FreezeRows([5, 6]);
                var opt = new SparseOptimizerOptions { Threads = threads, MaxRowNorm = clip ? 0.5 : null };
                SparseOptimizer a = make(fused.Weight, opt), b = make(unfused.Weight, opt);
                for (int step = 0; step < 3; step++)
                {
                    int[] ids = Ids(rng, n, rows);
                    float[] grad = RandomBags.Floats(rng, n * dims);
                    fused.BackwardAndStep(ids, grad, a);
                    b.Step(unfused.Backward(ids, grad));
                    Assert.Equal(unfused.Weight.ToArray(), fused.Weight.ToArray());
                }
                var sa = new float[a.StateWidth];
                var sb = new float[b.StateWidth];
                for (int r = 0; r < rows; r += 7)
                {
                    a.ReadState(r, sa);
                    b.ReadState(r, sb);
                    Assert.Equal(sb, sa);
                }
            }
        }
    }

    [Fact]
    public void TheGuardsPassBesideTheGroupingKeepsTheStepAndTheGuard()
    {
        // 8,200 positions × 128 dims ≥ 2²⁰ floats on 2 threads with the guard: the guard's pass runs beside
        // the grouping. Same bits as Step(Backward(...)) for every rule, with padding and frozen rows; a NaN
        // only padding sees is ignored, one a kept position sees refuses the step before any change.
        const int rows = 5000, dims = 128, n = 8200;
        int ruleIndex = 0;
        foreach (var make in Rules())
        {
            var rng = new SeededRandom((ulong)(900 + ruleIndex++));
            var options = new EmbeddingOptions { Seed = 4, PaddingIdx = 7 };
            using var fused = new Embedding(rows, dims, options);
            using var unfused = new Embedding(rows, dims, options);
            fused.FreezeRows([11]);
            unfused.FreezeRows([11]);
            var opt = new SparseOptimizerOptions { Threads = 2 };
            using SparseOptimizer a = make(fused.Weight, opt), b = make(unfused.Weight, opt);
            int[] ids = Ids(rng, n, rows);
            ids[5] = 7;
            ids[6] = 11;
            ids[4000] = 13;
            ids[^1] = 12;
            float[] grad = RandomBags.Floats(rng, n * dims);
            grad[5 * dims + 3] = float.NaN; // padding position: contributes nothing
            for (int step = 0; step < 2; step++)
            {
                fused.BackwardAndStep(ids, grad, a);
                b.Step(unfused.Backward(ids, grad));
                Assert.Equal(unfused.Weight.ToArray(), fused.Weight.ToArray());
            }
            // Without the padding NaN the pass's bound over all positions is used as it is.
            grad[5 * dims + 3] = 0.5f;
            float[] before = fused.Weight.ToArray();
            grad[4000 * dims + 9] = float.PositiveInfinity;
            var e = Assert.Throws<NonFiniteException>(() => fused.BackwardAndStep(ids, grad, a));
            Assert.Equal(ids[4000], e.Row);
            Assert.Equal(before, fused.Weight.ToArray());
            grad[4000 * dims + 9] = 0.25f;
            grad[^1] = float.NaN; // the last element, in the last (partial) chunk of the pass
            e = Assert.Throws<NonFiniteException>(() => fused.BackwardAndStep(ids, grad, a));
            Assert.Equal(ids[^1], e.Row);
            Assert.Equal(before, fused.Weight.ToArray());
            Assert.Equal(2, a.StepCount);
            grad[^1] = 0.25f;
        }
    }

    [Fact]
    public void AnAllZeroGradientStepsAsStepOfBackwardForEveryRule()
    {
        // The guard's bound is then 0, which must not read as "within the rule's safe bound" for rules
        // that have state or no bound (it once sent Adam down plain SGD's stateless path).
        int ruleIndex = 0;
        foreach (var make in Rules())
        {
            foreach (bool guard in new[] { true, false })
            {
                using var fused = new Embedding(200, 8, new EmbeddingOptions { Seed = (ulong)ruleIndex + 1 });
                using var unfused = new Embedding(200, 8, new EmbeddingOptions { Seed = (ulong)ruleIndex + 1 });
                var opt = new SparseOptimizerOptions { GuardNonFinite = guard };
                using SparseOptimizer a = make(fused.Weight, opt), b = make(unfused.Weight, opt);
                for (int step = 0; step < 2; step++)
                {
                    fused.BackwardAndStep([3, 150, 3], new float[24], a);
                    b.Step(unfused.Backward([3, 150, 3], new float[24]));
                    Assert.Equal(unfused.Weight.ToArray(), fused.Weight.ToArray());
                }
            }
            ruleIndex++;
        }
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(2, false)]
    public void SignedZerosComeOutAsInStepOfBackward(int threads, bool guard)
    {
        // Bit for bit, not float equality (which calls −0 and +0 equal): a single position's gradient is
        // summed as 0 + g, so g = −0 reaches the rule as +0 and w = −0 then becomes +0 − lr·0 = +0 in
        // plain SGD; the fast single-row loops must do the same. Large enough for worker threads; dims
        // 19 run the vector loop and its scalar tail.
        const int rows = 3000, dims = 19, n = 4000;
        int ruleIndex = 0;
        foreach (var make in Rules())
        {
            var rng = new SeededRandom((ulong)(101 + ruleIndex++));
            using var fused = new Embedding(rows, dims, new EmbeddingOptions { Seed = 3 });
            using var unfused = new Embedding(rows, dims, new EmbeddingOptions { Seed = 3 });
            foreach (var table in new[] { fused.Weight, unfused.Weight })
            {
                Span<float> w = table.AsSpan<float>();
                for (int i = 0; i < w.Length; i++)
                    w[i] = (i % 3) switch { 0 => -0f, 1 => 0f, _ => w[i] };
            }
            var opt = new SparseOptimizerOptions { Threads = threads, GuardNonFinite = guard };
            SparseOptimizer a = make(fused.Weight, opt), b = make(unfused.Weight, opt);
            for (int step = 0; step < 2; step++)
            {
                int[] ids = Ids(rng, n, rows);
                float[] grad = RandomBags.Floats(rng, n * dims);
                for (int i = 0; i < grad.Length; i++)
                    grad[i] = (i % 4) switch { 0 => -0f, 1 => 0f, _ => grad[i] };
                fused.BackwardAndStep(ids, grad, a);
                b.Step(unfused.Backward(ids, grad));
                Assert.Equal(Bits(unfused.Weight.ToArray()), Bits(fused.Weight.ToArray()));
            }
        }

        static int[] Bits(float[] x) => Array.ConvertAll(x, BitConverter.SingleToInt32Bits);
    }

    [Theory]
    [InlineData(PoolingMode.Sum, true)]
    [InlineData(PoolingMode.Sum, false)]
    [InlineData(PoolingMode.Mean, false)]
    [InlineData(PoolingMode.Max, false)]
    public void BagBackwardAndStepEqualsStepOfBackward(PoolingMode mode, bool weighted)
    {
        const int rows = 300, dims = 19;
        var rng = new SeededRandom((ulong)mode * 3 + (weighted ? 1ul : 0ul));
        var options = new EmbeddingBagOptions { Mode = mode, Seed = 3, PaddingIdx = 2 };
        using var fused = new EmbeddingBag(rows, dims, options);
        using var unfused = new EmbeddingBag(rows, dims, options);
        // Adagrad keeps state (rows in ascending order); plain SGD has none (single rows in batch order).
        SparseOptimizer a = FusedSparseBackward.Create(fused.Weight, new Adagrad(0.1), new SparseOptimizerOptions { Threads = 2 });
        SparseOptimizer b = FusedSparseBackward.Create(unfused.Weight, new Adagrad(0.1), new SparseOptimizerOptions { Threads = 2 });
        SparseOptimizer sa = FusedSparseBackward.Create(fused.Weight, new Sgd(0.1), new SparseOptimizerOptions { Threads = 2 });
        SparseOptimizer sb = FusedSparseBackward.Create(unfused.Weight, new Sgd(0.1), new SparseOptimizerOptions { Threads = 2 });
        for (int step = 0; step < 6; step++)
        {
            int n = 4000;
            int[] ids = Ids(rng, n, rows);
            int[] offsets = [0, 0, 5, 9, 9, 100, 2000, 3999];
            float[] psw = weighted ? RandomBags.Floats(rng, n) : [];
            float[] grad = RandomBags.Floats(rng, offsets.Length * dims);
            float[] gpa = weighted ? new float[n] : [], gpb = weighted ? new float[n] : [];
            fused.BackwardAndStep(ids, offsets, grad, step % 2 == 0 ? a : sa, psw, gpa);
            (step % 2 == 0 ? b : sb).Step(unfused.Backward(ids, offsets, grad, psw, gpb));
            Assert.Equal(unfused.Weight.ToArray(), fused.Weight.ToArray());
            Assert.Equal(gpb, gpa);
        }
    }

    [Fact]
    public void NonFiniteGradientChangesNothingUnlessOnlyPaddingSeesIt()
    {
        using var layer = new Embedding(50, 4, new EmbeddingOptions { Seed = 1, PaddingIdx = 0 });
        var optimizer = FusedSparseBackward.Create(layer.Weight, new Adam(0.1));
        float[] before = layer.Weight.ToArray();
        int[] ids = [3, 0, 7];
        float[] grad = Enumerable.Repeat(0.5f, 12).ToArray();
        grad[9] = float.NaN; // position 2 → row 7, dimension 1
        var e = Assert.Throws<NonFiniteException>(() => layer.BackwardAndStep(ids, grad, optimizer));
        Assert.Equal(7, e.Row);
        Assert.Equal(1, e.Dimension);
        Assert.Equal(before, layer.Weight.ToArray());
        Assert.Equal(0, optimizer.StepCount);

        grad[9] = 0.5f;
        grad[5] = float.PositiveInfinity; // position 1 is padding: contributes nothing
        layer.BackwardAndStep(ids, grad, optimizer);
        Assert.Equal(1, optimizer.StepCount);
        Assert.Equal(before.AsSpan(0, 4).ToArray(), layer.Weight.ToArray().AsSpan(0, 4).ToArray());
    }

    [Fact]
    public void AnOverflowingSumIsReportedAndItsRowKept()
    {
        using var layer = new Embedding(10, 2, new EmbeddingOptions { Seed = 1 });
        var optimizer = FusedSparseBackward.Create(layer.Weight, new Sgd(1e-3));
        float[] before = layer.Weight.ToArray();
        float[] grad = [3e38f, 1f, 3e38f, 1f];
        var e = Assert.Throws<NonFiniteException>(() => layer.BackwardAndStep([4, 4], grad, optimizer));
        Assert.Equal(4, e.Row);
        Assert.Equal(0, e.Dimension);
        Assert.Contains("overflowed", e.Message);
        Assert.Equal(before, layer.Weight.ToArray());
    }

    [Fact]
    public void AScaledSinglePositionThatOverflowsIsReportedAndItsRowKept()
    {
        // A row fed by one position skips the sum check only at scale 1; a per-sample weight can overflow it.
        using var bag = new EmbeddingBag(10, 2, new EmbeddingBagOptions { Mode = PoolingMode.Sum, Seed = 1 });
        var optimizer = FusedSparseBackward.Create(bag.Weight, new Sgd(1e-3));
        float[] before = bag.Weight.ToArray();
        var e = Assert.Throws<NonFiniteException>(() => bag.BackwardAndStep([4], [0], [3e38f, 1f], optimizer, perSampleWeights: [10f]));
        Assert.Equal(4, e.Row);
        Assert.Equal(0, e.Dimension);
        Assert.Contains("overflowed", e.Message); // caught in the sum, not after the update
        Assert.Equal(before, bag.Weight.ToArray());
    }

    [Fact]
    public void PlainSgdRefusesARowAlreadyNotFiniteBeforeItsUpdate()
    {
        // Within the rule's gradient bound, plain SGD checks a single row's weights before its update
        // instead of backing it up: a row that already holds ∞ is refused and kept, earlier rows updated.
        using var layer = new Embedding(10, 3, new EmbeddingOptions { Seed = 1 });
        layer.Weight.GetRow<float>(6)[2] = float.PositiveInfinity;
        float[] before = layer.Weight.ToArray();
        var optimizer = FusedSparseBackward.Create(layer.Weight, new Sgd(0.1), new SparseOptimizerOptions { Threads = 1 });
        var e = Assert.Throws<NonFiniteException>(() => layer.BackwardAndStep([2, 6, 8], Enumerable.Repeat(1f, 9).ToArray(), optimizer));
        Assert.Equal(6, e.Row);
        Assert.Equal(2, e.Dimension);
        Assert.Contains("before its update", e.Message);
        float[] after = layer.Weight.ToArray();
        Assert.Equal(before.AsSpan(18, 3).ToArray(), after.AsSpan(18, 3).ToArray()); // row 6 kept
        Assert.NotEqual(before.AsSpan(6, 3).ToArray(), after.AsSpan(6, 3).ToArray()); // row 2, visited first, updated
        Assert.Equal(before.AsSpan(24, 3).ToArray(), after.AsSpan(24, 3).ToArray()); // row 8 not reached

        // With momentum the rule gives no bound: the row is backed up, updated, found not finite and restored.
        using var momentum = new Embedding(10, 3, new EmbeddingOptions { Seed = 1 });
        momentum.Weight.GetRow<float>(6)[2] = float.PositiveInfinity;
        float[] kept = momentum.Weight.ToArray();
        var withMomentum = FusedSparseBackward.Create(momentum.Weight, new Sgd(0.1, momentum: 0.9), new SparseOptimizerOptions { Threads = 1 });
        e = Assert.Throws<NonFiniteException>(() => momentum.BackwardAndStep([6], [1f, 1f, 1f], withMomentum));
        Assert.Contains("produced weight", e.Message);
        Assert.Equal(kept, momentum.Weight.ToArray());
    }

    [Fact]
    public void PlainSgdBeyondItsGradientBoundStillRestoresAnOverflowingRow()
    {
        // lr·|g| = 10³⁹ is past the 2¹⁰⁰ bound: the row is backed up, overflows, and is restored.
        using var layer = new Embedding(3, 2, new EmbeddingOptions { Seed = 1 });
        layer.Weight.CopyFrom([1, 1, 3e38f, 1, 1, 1]);
        var optimizer = FusedSparseBackward.Create(layer.Weight, new Sgd(1e38));
        var e = Assert.Throws<NonFiniteException>(() => layer.BackwardAndStep([1], [-10f, 0f], optimizer));
        Assert.Equal(1, e.Row);
        Assert.Contains("produced weight", e.Message);
        Assert.Equal([1, 1, 3e38f, 1, 1, 1], layer.Weight.ToArray());
        Assert.Equal(0f, new Sgd(0.1, weightDecay: 0.01).SafeGradientBound(new StepScalars(1, 0.1f)));
        Assert.Equal(1.2676506e30f / 0.5f, new Sgd(0.1).SafeGradientBound(new StepScalars(1, 0.5f)));
    }

    [Fact]
    public void ArgumentsAreCheckedBeforeAnyChange()
    {
        using var layer = new Embedding(10, 3, new EmbeddingOptions { Seed = 1 });
        using var other = new Embedding(10, 3, new EmbeddingOptions { Seed = 1 });
        var optimizer = FusedSparseBackward.Create(layer.Weight, new Sgd(0.1));
        float[] before = layer.Weight.ToArray();
        Assert.Contains("another table", Assert.Throws<ArgumentException>(() =>
            layer.BackwardAndStep([1], new float[3], FusedSparseBackward.Create(other.Weight, new Sgd(0.1)))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => layer.BackwardAndStep([1, 10], new float[6], optimizer));
        Assert.Throws<ArgumentException>(() => layer.BackwardAndStep([1], new float[4], optimizer));
        Assert.Throws<ArgumentNullException>(() => layer.BackwardAndStep([1], new float[3], null!));
        Assert.Equal(before, layer.Weight.ToArray());
        Assert.Equal(0, optimizer.StepCount);
        layer.BackwardAndStep([1L, 1L], new float[] { 1, 2, 3, 1, 2, 3 }, optimizer);
        Assert.Equal(1, optimizer.StepCount);
        Assert.Equal(before[3] - 0.1f * (0f + 1f + 1f), layer.Weight.ToArray()[3], 6);
    }

    [Theory]
    [InlineData(1, 1, true)]
    [InlineData(7, 1, false)]
    [InlineData(67, 1, true)]
    [InlineData(67, 2, false)]
    [InlineData(128, 2, true)]
    public void PlainSgdOnRepeatedRowsEqualsStepOfBackward(int dims, int threads, bool guard)
    {
        // Rows fed by several positions take plain SGD's own loop (sum, bound, update): the same bits as the
        // generic loop's update of the summed row, guard on or off, with -0 and +0 gradients among them.
        const int rows = 50;
        var rng = new SeededRandom((ulong)(dims * 7 + threads));
        foreach (float scale in new[] { 1f, 0.5f })
        {
            var options = new EmbeddingOptions { Seed = 3, Scale = scale };
            using var fused = new Embedding(rows, dims, options);
            using var unfused = new Embedding(rows, dims, options);
            var opt = new SparseOptimizerOptions { Threads = threads, GuardNonFinite = guard };
            var a = FusedSparseBackward.Create(fused.Weight, new Sgd(0.1), opt);
            var b = FusedSparseBackward.Create(unfused.Weight, new Sgd(0.1), opt);
            for (int step = 0; step < 3; step++)
            {
                int n = 700 + step;
                int[] ids = Enumerable.Range(0, n).Select(_ => rng.NextInt(rows)).ToArray(); // every row repeated
                float[] grad = RandomBags.Floats(rng, n * dims);
                grad[0] = -0f;
                grad[^1] = 0f;
                fused.BackwardAndStep(ids, grad, a);
                b.Step(unfused.Backward(ids, grad));
                Assert.Equal(unfused.Weight.ToArray(), fused.Weight.ToArray());
            }
        }
    }

    [Fact]
    public void PlainSgdRefusesARepeatedRowAlreadyNotFiniteBeforeItsUpdate()
    {
        using var layer = new Embedding(10, 9, new EmbeddingOptions { Seed = 1 });
        layer.Weight.GetRow<float>(6)[8] = float.NaN;
        float[] before = layer.Weight.ToArray();
        var optimizer = FusedSparseBackward.Create(layer.Weight, new Sgd(0.1), new SparseOptimizerOptions { Threads = 1 });
        var e = Assert.Throws<NonFiniteException>(() => layer.BackwardAndStep([2, 6, 2, 6, 8, 8], Enumerable.Repeat(1f, 54).ToArray(), optimizer));
        Assert.Equal(6, e.Row);
        Assert.Equal(8, e.Dimension);
        Assert.Contains("before its update", e.Message);
        float[] after = layer.Weight.ToArray();
        Assert.Equal(before.AsSpan(54, 9).ToArray(), after.AsSpan(54, 9).ToArray()); // row 6 kept
        Assert.NotEqual(before.AsSpan(18, 9).ToArray(), after.AsSpan(18, 9).ToArray()); // row 2, ascending first, updated
        Assert.Equal(before.AsSpan(72, 9).ToArray(), after.AsSpan(72, 9).ToArray()); // row 8 not reached
    }

    [Fact]
    public void PlainSgdOnARepeatedRowBeyondTheBoundStillRestoresAnOverflowingRow()
    {
        // The sum, -10, times lr 1e38 is past the 2^100 bound: the row is backed up, overflows and is restored.
        using var layer = new Embedding(3, 2, new EmbeddingOptions { Seed = 1 });
        layer.Weight.CopyFrom([1, 1, 3e38f, 1, 1, 1]);
        var optimizer = FusedSparseBackward.Create(layer.Weight, new Sgd(1e38));
        var e = Assert.Throws<NonFiniteException>(() => layer.BackwardAndStep([1, 1], [-5f, 0f, -5f, 0f], optimizer));
        Assert.Equal(1, e.Row);
        Assert.Contains("produced weight", e.Message);
        Assert.Equal([1, 1, 3e38f, 1, 1, 1], layer.Weight.ToArray());
        // Within the bound the same row is updated.
        var small = FusedSparseBackward.Create(layer.Weight, new Sgd(0.5));
        layer.BackwardAndStep([1, 1], [0f, -1f, 0f, -3f], small);
        Assert.Equal([1, 1, 3e38f, 3, 1, 1], layer.Weight.ToArray());
    }
}
