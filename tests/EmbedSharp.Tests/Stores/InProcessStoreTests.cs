using EmbedSharp.Diagnostics;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Stores;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Stores;

public sealed class InProcessStoreTests
{
    internal static EmbeddingTable RandomTable(int rows, int dims, int seed)
    {
        var rng = new Random(seed);
        var t = new EmbeddingTable(rows, dims);
        var row = new float[dims];
        for (int r = 0; r < rows; r++)
        {
            for (int d = 0; d < dims; d++)
                row[d] = (float)(rng.NextDouble() * 2 - 1);
            t.WriteRow(r, row);
        }
        return t;
    }

    public static TheoryData<OptimizerKind, int> Rules() => new()
    {
        { OptimizerKind.Sgd, 1 }, { OptimizerKind.Sgd, 3 }, { OptimizerKind.Adagrad, 1 }, { OptimizerKind.Adagrad, 3 },
        { OptimizerKind.RowwiseAdagrad, 2 }, { OptimizerKind.Adam, 1 }, { OptimizerKind.Adam, 4 },
        { OptimizerKind.AdamW, 3 }, { OptimizerKind.LazyAdam, 2 },
    };

    private static OptimizerStep StepOf(OptimizerKind kind, long t) => kind switch
    {
        OptimizerKind.Sgd => OptimizerStep.Sgd(0.1, t, momentum: 0.9, weightDecay: 0.01),
        OptimizerKind.Adagrad => OptimizerStep.Adagrad(0.1, t, lrDecay: 0.01, initialAccumulatorValue: 0.1),
        OptimizerKind.RowwiseAdagrad => OptimizerStep.RowwiseAdagrad(0.1, t),
        OptimizerKind.Adam => OptimizerStep.Adam(0.01, t, weightDecay: 0.01),
        OptimizerKind.AdamW => OptimizerStep.AdamW(0.01, t),
        _ => OptimizerStep.LazyAdam(0.01, t),
    };

    private static SparseOptimizer CoreOptimizer(OptimizerKind kind, EmbeddingTable table) => kind switch
    {
        OptimizerKind.Sgd => FusedSparseBackward.Create(table, new Sgd(0.1, momentum: 0.9, weightDecay: 0.01)),
        OptimizerKind.Adagrad => FusedSparseBackward.Create(table, new Adagrad(0.1, lrDecay: 0.01, initialAccumulatorValue: 0.1)),
        OptimizerKind.RowwiseAdagrad => FusedSparseBackward.Create(table, new RowwiseAdagrad(0.1)),
        OptimizerKind.Adam => FusedSparseBackward.Create(table, new Adam(0.01, weightDecay: 0.01)),
        OptimizerKind.AdamW => FusedSparseBackward.Create(table, new AdamW(0.01)),
        _ => FusedSparseBackward.Create(table, new LazyAdam(0.01)),
    };

    /// <summary>Random distinct ids (in random order) and gradients for one step.</summary>
    internal static (long[] Ids, float[] Grads) RandomStep(Random rng, int rows, int dims, int count)
    {
        long[] ids = [.. Enumerable.Range(0, rows).OrderBy(_ => rng.Next()).Take(count).Select(i => (long)i)];
        float[] grads = [.. Enumerable.Range(0, count * dims).Select(_ => (float)(rng.NextDouble() - 0.5))];
        return (ids, grads);
    }

    [Theory]
    [MemberData(nameof(Rules))]
    public void OptimizerInStore_EqualsCoreOptimizer_BitForBit(OptimizerKind kind, int shards)
    {
        const int rows = 97, dims = 7;
        using EmbeddingTable core = RandomTable(rows, dims, 1);
        using SparseOptimizer optimizer = CoreOptimizer(kind, core);
        using var store = InProcessShardedStore.FromTable("t", core, new InProcessStoreOptions { Shards = shards });
        var rng = new Random(2);
        for (int t = 1; t <= 4; t++)
        {
            var (ids, grads) = RandomStep(rng, rows, dims, t == 3 ? 0 : 40);
            // Core: a coalesced gradient, rows ascending.
            int[] order = [.. Enumerable.Range(0, ids.Length).OrderBy(i => ids[i])];
            var sparse = new SparseGradient(rows, dims, [.. order.Select(i => (int)ids[i])], [.. order.SelectMany(i => grads.AsSpan(i * dims, dims).ToArray())]);
            optimizer.Step(sparse);
            store.ApplyGradients(ids, grads, StepOf(kind, t));
        }
        Assert.Equal(optimizer.StateWidth, store.Info.StateWidth);
        AssertSameRowsAndState(core, optimizer, store, rows, dims);
        Assert.Equal(4, store.StepCount);
    }

    /// <summary>Batches large enough for the multi-thread path (≥ 256 ids) and the one-thread batch-order sweep, any shard count.</summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 1)]
    [InlineData(8, 1)]
    [InlineData(3, 2)]
    [InlineData(8, 4)]
    public void LargeBatches_EqualCoreOptimizer_BitForBit_AnyShardsAndThreads(int shards, int threads)
    {
        const int rows = 2003, dims = 17;
        using EmbeddingTable core = RandomTable(rows, dims, 5);
        using SparseOptimizer optimizer = CoreOptimizer(OptimizerKind.Adagrad, core);
        using var store = InProcessShardedStore.FromTable("t", core, new InProcessStoreOptions { Shards = shards, Threads = threads });
        var rng = new Random(6);
        for (int t = 1; t <= 3; t++)
        {
            // 1,500 ids: the one-thread update sorts its rows; 700 and 1: it keeps batch order.
            var (ids, grads) = RandomStep(rng, rows, dims, t switch { 1 => 1500, 2 => 1, _ => 700 });
            int[] order = [.. Enumerable.Range(0, ids.Length).OrderBy(i => ids[i])];
            optimizer.Step(new SparseGradient(rows, dims, [.. order.Select(i => (int)ids[i])], [.. order.SelectMany(i => grads.AsSpan(i * dims, dims).ToArray())]));
            store.ApplyGradients(ids, grads, StepOf(OptimizerKind.Adagrad, t));
        }
        AssertSameRowsAndState(core, optimizer, store, rows, dims);
    }

    [Fact]
    public void LargeBatch_NonFiniteGradient_NamesTheFirstInBatchOrder_AndUpdatesNothing()
    {
        // ≥ 1,024 ids on one thread: the finite check runs while the gradients are put in row order. Ids descend,
        // so row order reverses batch order: the error must still name the first bad row in batch order.
        const int rows = 3000, dims = 3;
        using EmbeddingTable table = RandomTable(rows, dims, 7);
        using var store = InProcessShardedStore.FromTable("t", table, new InProcessStoreOptions { Shards = 1 });
        long[] ids = [.. Enumerable.Range(0, 1100).Select(i => (long)(rows - 1 - 2 * i))];
        float[] grads = [.. Enumerable.Repeat(0.5f, ids.Length * dims)];
        grads[700 * dims + 2] = float.NaN;
        grads[900 * dims + 1] = float.PositiveInfinity;
        var ex = Assert.Throws<NonFiniteException>(() => store.ApplyGradients(ids, grads, OptimizerStep.Sgd(0.1, 1)));
        Assert.Contains($"id {ids[700]} (gradients row 700) has gradient NaN at element 2; nothing was updated", ex.Message);
        var expected = new float[dims];
        var actual = new float[dims];
        for (int r = 0; r < rows; r++)
        {
            table.ReadRow(r, expected);
            store.ReadRow(r, actual);
            Assert.Equal(expected, actual);
        }
        Assert.Equal(0, store.StepCount);
    }

    /// <summary>Every row and its optimizer state in the store bit-equal to the core table's and optimizer's.</summary>
    private static void AssertSameRowsAndState(EmbeddingTable core, SparseOptimizer optimizer, InProcessShardedStore store, int rows, int dims)
    {
        var expected = new float[dims];
        var actual = new float[dims];
        var expectedState = new float[optimizer.StateWidth];
        var actualState = new float[optimizer.StateWidth];
        for (int r = 0; r < rows; r++)
        {
            core.ReadRow(r, expected);
            store.ReadRow(r, actual);
            Assert.Equal(Bits(expected), Bits(actual));
            optimizer.ReadState(r, expectedState);
            store.ReadState(r, actualState);
            Assert.Equal(Bits(expectedState), Bits(actualState));
        }
    }

    internal static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];

    [Fact]
    public async Task Gather_EqualsTableGather_WithRepeatsAndAnyShardCount()
    {
        using EmbeddingTable table = RandomTable(50, 5, 3);
        int[] indices = [3, 0, 49, 3, 17, 17, 8];
        var expected = new float[indices.Length * 5];
        table.Gather(indices, expected);
        foreach (int shards in new[] { 1, 2, 7 })
        {
            await using var store = InProcessShardedStore.FromTable("t", table, new InProcessStoreOptions { Shards = shards });
            var actual = new float[indices.Length * 5];
            await store.GatherAsync(indices.Select(i => (long)i).ToArray(), actual);
            Assert.Equal(expected, actual);
            await store.GatherAsync(Array.Empty<long>(), Memory<float>.Empty);
        }
    }

    [Fact]
    public async Task UpsertAndDelete_WriteAndResetRows()
    {
        await using var store = new InProcessShardedStore("t", 10, 2, new InProcessStoreOptions { Shards = 3 });
        await store.UpsertAsync(new long[] { 4, 9, 4 }, new float[] { 1, 2, 3, 4, 5, 6 });
        var rows = new float[6];
        await store.GatherAsync(new long[] { 4, 9, 0 }, rows);
        Assert.Equal([5, 6, 3, 4, 0, 0], rows); // last of repeated ids wins
        await store.ApplyGradientsAsync(new long[] { 4 }, new float[] { 1, 1 }, OptimizerStep.Adagrad(0.5, 1));
        await store.DeleteAsync(new long[] { 4 });
        await store.GatherAsync(new long[] { 4 }, rows.AsMemory(0, 2));
        Assert.Equal([0, 0], rows[..2]);
        var state = new float[2];
        store.ReadState(4, state);
        Assert.Equal([0, 0], state);
    }

    /// <summary>Repeated ids are refused before any row changes, whichever duplicate check the batch takes.</summary>
    [Theory]
    [InlineData(10, 1, 1)]        // bitmap over the rows, one thread
    [InlineData(300_000, 3, 1)]   // rows far more than the batch: the router's hash grouping
    [InlineData(1000, 3, 2)]      // several threads: routed by shard
    [InlineData(300_000, 3, 2)]
    public void RepeatedIds_AreRefused_WhicheverCheckRuns(int rows, int shards, int threads)
    {
        using var store = new InProcessShardedStore("t", rows, 2, new InProcessStoreOptions { Shards = shards, Threads = threads });
        int applied = 0;
        foreach (int n in new[] { 2, 9, 301, 600 }.Where(n => n < rows))
        {
            // Distinct ids spread over [0, rows - 1), then the last one repeats the first.
            long[] ids = [.. Enumerable.Range(0, n).Select(i => (long)i * (rows - 1) / n)];
            ids[n - 1] = ids[0];
            float[] grads = Enumerable.Repeat(1f, n * 2).ToArray();
            var dup = Assert.Throws<ArgumentException>(() => store.ApplyGradients(ids, grads, OptimizerStep.Sgd(0.1, applied + 1)));
            Assert.Contains($"ids[{n - 1}] = {ids[0]} repeats ids[0]", dup.Message);
            Assert.Equal(applied, store.StepCount);
            ids[n - 1] = rows - 1;
            store.ApplyGradients(ids, grads, OptimizerStep.Sgd(0.1, ++applied));
            var row = new float[2];
            store.ReadRow(rows - 1, row);
            Assert.Equal(-0.1f * applied, row[0], 5);
        }
    }

    [Fact]
    public async Task BadInput_GetsClearMessages_AndChangesNothing()
    {
        await using var store = new InProcessShardedStore("t", 10, 2, new InProcessStoreOptions { Shards = 2 });
        var range = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.GatherAsync(new long[] { 1, 10 }, new float[4]).AsTask());
        Assert.Contains("[store.gather] ids[1] = 10 is out of range; valid ids are 0..9", range.Message);
        var shortDest = await Assert.ThrowsAsync<ArgumentException>(() => store.GatherAsync(new long[] { 1, 2 }, new float[3]).AsTask());
        Assert.Contains("[store.gather]", shortDest.Message);
        var dup = await Assert.ThrowsAsync<ArgumentException>(() => store.ApplyGradientsAsync(new long[] { 1, 2, 1 }, new float[6], OptimizerStep.Sgd(0.1, 1)).AsTask());
        Assert.Contains("[store.apply_gradients] ids[2] = 1 repeats ids[0]", dup.Message);
        var step0 = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.ApplyGradientsAsync(new long[] { 1 }, new float[2], OptimizerStep.Sgd(0.1, 0)).AsTask());
        Assert.Contains("step 0 is out of range; steps count from 1", step0.Message);
        var lr = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.ApplyGradientsAsync(new long[] { 1 }, new float[2], OptimizerStep.Adam(-1, 1)).AsTask());
        Assert.Contains("[adam]", lr.Message);
        var nan = await Assert.ThrowsAsync<NonFiniteException>(() => store.ApplyGradientsAsync(new long[] { 1, 3 }, new float[] { 0, 0, 0, float.NaN }, OptimizerStep.Sgd(0.1, 1)).AsTask());
        Assert.Contains("id 3 (gradients row 1) has gradient NaN at element 1; nothing was updated", nan.Message);
        await store.ApplyGradientsAsync(new long[] { 1 }, new float[] { 1, 1 }, OptimizerStep.Adagrad(0.1, 1));
        var kind = await Assert.ThrowsAsync<ArgumentException>(() => store.ApplyGradientsAsync(new long[] { 1 }, new float[2], OptimizerStep.Adam(0.1, 2)).AsTask());
        Assert.Contains("the step runs Adam with 4 floats of state a row but the store holds state for Adagrad (2 a row)", kind.Message);
        var rows = new float[4];
        await store.GatherAsync(new long[] { 3, 1 }, rows);
        Assert.Equal(0f, rows[0]);
        Assert.Equal(0f, rows[1]);
        Assert.NotEqual(0f, rows[2]); // only the Adagrad step applied
    }

    [Fact]
    public async Task AnUpdateThatOverflows_RestoresItsRow_AndSaysWhich()
    {
        await using var store = new InProcessShardedStore("t", 4, 2, new InProcessStoreOptions { Shards = 1 });
        await store.UpsertAsync(new long[] { 0, 1, 2 }, new float[] { 1, 1, 2, 2, 3, 3 });
        var ex = await Assert.ThrowsAsync<NonFiniteException>(() => store.ApplyGradientsAsync(new long[] { 0, 2 }, new float[] { 1, 1, 3e38f, 0 }, OptimizerStep.Sgd(1e10, 1)).AsTask());
        Assert.Contains("step 1: id 2 produced weight -Infinity at element 0 in its update; the row was left as it was", ex.Message);
        var rows = new float[6];
        await store.GatherAsync(new long[] { 0, 1, 2 }, rows);
        Assert.Equal([1 - 1e10f, 1 - 1e10f, 2, 2, 3, 3], rows); // row 0 (before it) keeps its update, row 2 is restored
    }

    [Fact]
    public async Task Hogwild_ConcurrentUpdatesAndGathers_Complete()
    {
        await using var store = new InProcessShardedStore("t", 1000, 8, new InProcessStoreOptions { Shards = 4, Concurrency = StoreConcurrency.Hogwild });
        await using var locked = new InProcessShardedStore("t", 1000, 8, new InProcessStoreOptions { Shards = 4 });
        foreach (IEmbeddingStore s in new IEmbeddingStore[] { store, locked })
        {
            await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                var rng = new Random(w);
                var rows = new float[64 * 8];
                for (int i = 0; i < 50; i++)
                {
                    var (ids, grads) = RandomStep(rng, 1000, 8, 64);
                    await s.ApplyGradientsAsync(ids, grads, OptimizerStep.Sgd(0.01, i + 1));
                    await s.GatherAsync(ids, rows);
                    Assert.All(rows, v => Assert.True(float.IsFinite(v)));
                }
            })));
        }
        // Locked: every update applied exactly once, so the sum of rows moved by exactly -lr · Σ grads.
    }
}
