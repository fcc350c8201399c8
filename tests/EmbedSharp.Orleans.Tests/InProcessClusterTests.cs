using EmbedSharp.Orleans.Grains;
using EmbedSharp.Orleans.Tests.Harness;
using EmbedSharp.Stores;

namespace EmbedSharp.Orleans.Tests;

/// <summary>
/// The Orleans store on a 2-silo in-process cluster against the in-process store: the same calls leave the same
/// bits in every row, whatever the shard count, call splitting, staleness or snapshot path.
/// </summary>
public sealed class InProcessClusterTests(InProcessCluster fixture) : IClassFixture<InProcessCluster>
{
    private const long N = 1000;

    private OrleansEmbeddingStore Store(string table, int dims, int shards = 4, int? maxCallBytes = null, int pending = 0, ShardingPlan? plan = null, string? startFrom = null) =>
        new(fixture.Client, new OrleansStoreOptions
        {
            Table = table, NumEmbeddings = N, Dims = dims, ShardCount = shards, Plan = plan, MaxPendingUpdates = pending, StartFrom = startFrom,
            MaxCallBytes = maxCallBytes ?? Wire.Payload.MaxCallBytes, RetryBudget = TimeSpan.FromSeconds(10),
        });

    /// <summary>Upserts the same random rows into both stores, then runs <paramref name="steps"/> batches with repeated ids through both.</summary>
    private static async Task Train(IEmbeddingStore reference, OrleansEmbeddingStore store, int dims, int steps, int seed, Func<long, OptimizerStep> rule)
    {
        var rng = new Random(seed);
        long[] all = TestData.Range(N);
        float[] init = TestData.Floats(rng, (int)N * dims, 0.1f);
        await reference.UpsertAsync(all, init);
        await store.UpsertAsync(all, init);
        for (int t = 1; t <= steps; t++)
        {
            long[] ids = TestData.Ids(rng, 300, N);   // repeats on purpose
            float[] grads = TestData.Floats(rng, ids.Length * dims);
            RoutedBatch one = ShardingPlan.Even(1).Route(ids);
            var summed = new float[one.UniqueCount * dims];
            one.SumByUnique(grads, summed, dims);
            await reference.ApplyGradientsAsync(one.UniqueIds.ToArray(), summed, rule(t));
            await store.ApplyBatchGradientsAsync(ids, grads, rule(t));
        }
        await store.FlushAsync();
    }

    [Theory]
    [InlineData(7, 4)]
    [InlineData(16, 1)]
    [InlineData(1, 3)]
    public async Task Training_LeavesTheSameBitsAsTheInProcessStore(int dims, int shards)
    {
        await using var reference = new InProcessShardedStore("eq", (int)N, dims, new InProcessStoreOptions { Shards = 2 });
        await using var store = Store($"eq-{dims}-{shards}", dims, shards);
        await Train(reference, store, dims, steps: 5, seed: dims, t => OptimizerStep.Adagrad(0.1, t));
        await TestData.AssertSameRows(reference, store, N);
        Assert.Equal(OptimizerKind.Adagrad, store.Info.Optimizer);
    }

    [Fact]
    public async Task SgdWithoutState_LeavesTheSameBitsAsTheInProcessStore()
    {
        // Plain SGD keeps no optimizer state: every row's state span is empty (a path of its own in the shard).
        await using var reference = new InProcessShardedStore("sgd", (int)N, 7, new InProcessStoreOptions { Shards = 2 });
        await using var store = Store("sgd-7-3", 7, 3);
        await Train(reference, store, 7, steps: 6, seed: 11, t => OptimizerStep.Sgd(0.5, t));
        await TestData.AssertSameRows(reference, store, N);
    }

    [Fact]
    public async Task BatchesOfChangingSizes_GatherExactRows()
    {
        // The store and the shards reuse pooled buffers across calls: a small batch after a large one must not
        // see anything of the large one, and repeated ids must each get their row.
        const int dims = 9;
        await using var reference = new InProcessShardedStore("sizes", (int)N, dims, new InProcessStoreOptions { Shards = 2 });
        await using var store = Store("sizes", dims, 3);
        var rng = new Random(5);
        long[] all = TestData.Range(N);
        float[] init = TestData.Floats(rng, (int)N * dims);
        await reference.UpsertAsync(all, init);
        await store.UpsertAsync(all, init);
        int step = 0;
        foreach (int size in new[] { 1000, 1, 0, 7, 513, 2, 1000, 3 })
        {
            long[] ids = TestData.Ids(rng, size, N);
            var expected = new float[size * dims];
            var actual = Enumerable.Repeat(float.NaN, size * dims).ToArray();
            await reference.GatherAsync(ids, expected);
            await store.GatherAsync(ids, actual);
            Assert.Equal(expected, actual);
            long[] distinct = [.. ids.Distinct()];
            float[] grads = TestData.Floats(rng, distinct.Length * dims);
            await reference.ApplyGradientsAsync(distinct, grads, OptimizerStep.Adagrad(0.1, ++step));
            await store.ApplyGradientsAsync(distinct, grads, OptimizerStep.Adagrad(0.1, step));
        }
        await TestData.AssertSameRows(reference, store, N);
    }

    [Fact]
    public async Task UpsertDeleteAndGather_MatchTheInProcessStore()
    {
        const int dims = 5;
        await using var reference = new InProcessShardedStore("ud", (int)N, dims, new InProcessStoreOptions { Shards = 2 });
        await using var store = Store("ud", dims);
        await Train(reference, store, dims, steps: 2, seed: 3, t => OptimizerStep.Adam(0.01, t));
        long[] ids = [5, 9, 5, 999, 0];           // 5 twice: the last row wins
        float[] rows = TestData.Floats(new Random(4), ids.Length * dims);
        await reference.UpsertAsync(ids, rows);
        await store.UpsertAsync(ids, rows);
        await reference.DeleteAsync(new long[] { 9, 17 });
        await store.DeleteAsync(new long[] { 9, 17 });
        await TestData.AssertSameRows(reference, store, N);
        var gathered = new float[3 * dims];
        await store.GatherAsync(new long[] { 9, 5, 5 }, gathered);
        Assert.All(gathered[..dims], v => Assert.Equal(0f, v));
        Assert.Equal(rows.AsSpan(2 * dims, dims).ToArray(), gathered[dims..(2 * dims)]);
        Assert.Equal(gathered[dims..(2 * dims)], gathered[(2 * dims)..]);
        // A step after the delete starts row 9 from zero and its state from the rule's initial value in both.
        RoutedBatch one = ShardingPlan.Even(1).Route(new long[] { 9, 17 });
        float[] g = TestData.Floats(new Random(5), 2 * dims);
        await reference.ApplyGradientsAsync(new long[] { 9, 17 }, g, OptimizerStep.Adam(0.01, 3));
        await store.ApplyGradientsAsync(new long[] { 9, 17 }, g, OptimizerStep.Adam(0.01, 3));
        await TestData.AssertSameRows(reference, store, N);
    }

    [Fact]
    public async Task SmallCallLimit_SplitsEachShardsPartIntoSeveralCalls_SameResult()
    {
        const int dims = 8;
        await using var reference = new InProcessShardedStore("split", (int)N, dims, new InProcessStoreOptions { Shards = 2 });
        // 8 + 8·4 = 40 bytes a gathered row: 400 bytes is 10 ids a call, so a 300-id batch makes dozens of calls.
        await using var store = Store("split", dims, shards: 2, maxCallBytes: 400);
        await Train(reference, store, dims, steps: 3, seed: 8, t => OptimizerStep.RowwiseAdagrad(0.2, t));
        await TestData.AssertSameRows(reference, store, N);
    }

    [Fact]
    public async Task BoundedStaleness_AfterFlush_EqualsSynchronousTraining()
    {
        const int dims = 4;
        await using var reference = new InProcessShardedStore("stale", (int)N, dims, new InProcessStoreOptions { Shards = 2 });
        await using var store = Store("stale", dims, pending: 3);
        // Up to 3 updates in flight may reach a shard in any order (Orleans does not order calls), and plain SGD
        // steps commute up to rounding: once every update has landed the rows agree to float rounding, where a
        // lost or doubled update would be off by a whole gradient step (≥ 0.5 · |g| ~ 0.1).
        await Train(reference, store, dims, steps: 6, seed: 11, t => OptimizerStep.Sgd(0.5, t));
        float[] a = await TestData.ReadAll(reference, N), b = await TestData.ReadAll(store, N);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5f, $"row {i / dims} column {i % dims}: {a[i]} vs {b[i]}");
    }

    [Fact]
    public async Task Shards_SpreadOverBothSilos()
    {
        await using var store = Store("spread", 3, shards: 4);
        ShardStatus[] status = await store.DescribeAsync();
        Assert.Equal(2, status.Select(s => s.Silo).Distinct().Count());
        Assert.All(status.GroupBy(s => s.Silo), g => Assert.Equal(2, g.Count()));
    }

    [Fact]
    public async Task SharedFolderSnapshot_RestoresOnAnotherShardCount()
    {
        const int dims = 6;
        await using var reference = new InProcessShardedStore("reshard", (int)N, dims, new InProcessStoreOptions { Shards = 2 });
        await using var four = Store("reshard", dims, shards: 4);
        await Train(reference, four, dims, steps: 3, seed: 21, t => OptimizerStep.Adagrad(0.3, t));
        SnapshotManifest manifest = await four.SnapshotToSharedFolderAsync("s1");
        Assert.Equal(4, manifest.Chunks.Count);
        Assert.True(File.Exists(Path.Combine(fixture.SnapshotRoot, "reshard", "s1", SnapshotNames.Manifest)));

        // Three shards of a new plan open from the snapshot, then both stores keep training identically
        // (the optimizer state came along).
        await using var three = Store("reshard", dims, shards: 3, startFrom: "s1");
        await TestData.AssertSameRows(reference, three, N);
        var rng = new Random(22);
        long[] ids = TestData.Range(N);
        float[] g = TestData.Floats(rng, (int)N * dims);
        await reference.ApplyGradientsAsync(ids, g, OptimizerStep.Adagrad(0.3, 4));
        await three.ApplyGradientsAsync(ids, g, OptimizerStep.Adagrad(0.3, 4));
        await TestData.AssertSameRows(reference, three, N);

        // And the 4-shard store rolls back to the snapshot explicitly.
        await four.ApplyGradientsAsync(ids, g, OptimizerStep.Adagrad(0.3, 4));
        await four.RestoreFromSharedFolderAsync("s1");
        await using var check = Store("reshard", dims, shards: 5, startFrom: "s1");
        await TestData.AssertSameRows(check, four, N);
    }

    [Fact]
    public async Task GenericSnapshot_RoundTripsWithTheInProcessStore_AcrossShardCounts()
    {
        const int dims = 3;
        await using var reference = new InProcessShardedStore("generic", (int)N, dims, new InProcessStoreOptions { Shards = 2 });
        await using var store = Store("generic", dims, shards: 4);
        await Train(reference, store, dims, steps: 2, seed: 31, t => OptimizerStep.Adam(0.05, t));

        // Orleans (4 shards) → memory → in-process (3 shards).
        var files = new MemorySnapshotStore();
        await store.SnapshotAsync(files);
        await using var restored = new InProcessShardedStore("generic", (int)N, dims, new InProcessStoreOptions { Shards = 3 });
        await restored.RestoreAsync(files);
        await TestData.AssertSameRows(reference, restored, N);

        // In-process → memory → Orleans (2 shards), and one more identical step on both.
        var back = new MemorySnapshotStore();
        await reference.SnapshotAsync(back);
        await using var two = Store("generic", dims, shards: 2);
        await two.RestoreAsync(back);
        await TestData.AssertSameRows(reference, two, N);
        long[] ids = [1, 2, 3, 500];
        float[] g = TestData.Floats(new Random(32), ids.Length * dims);
        await reference.ApplyGradientsAsync(ids, g, OptimizerStep.Adam(0.05, 3));
        await two.ApplyGradientsAsync(ids, g, OptimizerStep.Adam(0.05, 3));
        await TestData.AssertSameRows(reference, two, N);
    }

    [Fact]
    public async Task BadInput_IsRefusedBeforeAnythingChanges()
    {
        await using var store = Store("bad", 2);
        var dest = new float[4];
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.GatherAsync(new long[] { 1, N }, dest));
        Assert.Contains("[orleans.gather]", ex.Message);
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.GatherAsync(new long[] { 1, 2 }, new float[3]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.ApplyGradientsAsync(new long[] { 4, 4 }, new float[4], OptimizerStep.Sgd(0.1, 1)));
        await Assert.ThrowsAsync<EmbedSharp.Diagnostics.NonFiniteException>(async () => await store.ApplyGradientsAsync(new long[] { 4 }, new[] { 1f, float.NaN }, OptimizerStep.Sgd(0.1, 1)));
        await store.ApplyGradientsAsync(new long[] { 4 }, new[] { 1f, 2f }, OptimizerStep.Sgd(0.1, 1));
        var rule = await Assert.ThrowsAsync<ArgumentException>(async () => await store.ApplyGradientsAsync(new long[] { 4 }, new[] { 1f, 2f }, OptimizerStep.Adam(0.1, 2)));
        Assert.Contains("one rule", rule.Message);
        Assert.Throws<ArgumentException>(() => Store("../etc", 2));
        var tryTimeout = Assert.Throws<ArgumentOutOfRangeException>(() => new OrleansEmbeddingStore(fixture.Client,
            new OrleansStoreOptions { Table = "bad", Dims = 2, TryTimeout = TimeSpan.Zero }));
        Assert.Contains("TryTimeout", tryTimeout.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => store.SnapshotToSharedFolderAsync("../x"));
        var row = new float[2];
        await store.GatherAsync(new long[] { 4 }, row);
        Assert.Equal(new[] { -0.1f, -0.2f }, row);

        // A finite gradient whose step overflows a row: the shard puts that row back, updates the others, and the
        // caller gets core's NonFiniteException (not an Orleans codec error).
        await store.ApplyGradientsAsync(new long[] { 5 }, new[] { 1f, 1f }, OptimizerStep.Sgd(0.1, 2));
        var overflow = await Assert.ThrowsAsync<EmbedSharp.Diagnostics.NonFiniteException>(async () =>
            await store.ApplyGradientsAsync(new long[] { 4, 5 }, new[] { 3e38f, 3e38f, 1f, 1f }, OptimizerStep.Sgd(1e10, 3)));
        Assert.Contains("[orleans.apply]", overflow.Message);
        Assert.Equal(3, overflow.Step);
        await store.GatherAsync(new long[] { 4 }, row);
        Assert.Equal(new[] { -0.1f, -0.2f }, row);
    }
}
