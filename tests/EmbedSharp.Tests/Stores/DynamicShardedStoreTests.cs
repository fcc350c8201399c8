using EmbedSharp.Initializers;
using EmbedSharp.Stores;

namespace EmbedSharp.Tests.Stores;

public sealed class DynamicShardedStoreTests
{
    [Fact]
    public async Task ShardedDynamicStore_EqualsOneDynamicTable_AndReshardsFromASnapshot()
    {
        var options = new DynamicTableOptions { MaxRows = 1000, Initializer = Initializer.Uniform(-1, 1), Seed = 9 };
        await using var sharded = new DynamicShardedStore("u", 3, options, ShardingPlan.Even(3));
        await using var single = new DynamicTable("u", 3, options);
        var rng = new Random(6);
        for (int t = 1; t <= 5; t++)
        {
            long[] ids = [.. Enumerable.Range(0, 40).Select(_ => (long)rng.Next(-100, 100) * 1_000_000_007L)];
            var a = new float[ids.Length * 3];
            var b = new float[ids.Length * 3];
            await sharded.GatherAsync(ids, a);
            await single.GatherAsync(ids, b);
            Assert.Equal(b, a); // rows start from the id's own seed, whichever shard admits them
            long[] distinct = [.. ids.Distinct()];
            float[] grads = [.. Enumerable.Range(0, distinct.Length * 3).Select(_ => (float)rng.NextDouble())];
            await sharded.ApplyGradientsAsync(distinct, grads, OptimizerStep.RowwiseAdagrad(0.1, t));
            await single.ApplyGradientsAsync(distinct, grads, OptimizerStep.RowwiseAdagrad(0.1, t));
        }
        Assert.Equal(single.Count, sharded.Count);
        Assert.Equal(3, sharded.Shards.Count(s => s.Count > 0));

        var snapshot = new MemorySnapshotStore();
        SnapshotManifest manifest = await sharded.SnapshotAsync(snapshot);
        Assert.Equal(3, manifest.Chunks.Count);
        await using var two = new DynamicShardedStore("u", 3, options, ShardingPlan.Even(2));
        await two.RestoreAsync(snapshot);
        SnapshotRecords expected = single.ExportRows();
        long[] ids2 = expected.Ids;
        var rows = new float[ids2.Length * 3];
        foreach (DynamicTable shard in two.Shards)
            Assert.All(shard.LiveIds(), id => Assert.Equal(shard, two.Shards[two.Plan.ShardOf(id)]));
        Assert.Equal(ids2, two.Shards.SelectMany(s => s.LiveIds()).Order().ToArray());
        foreach (var (id, k) in ids2.Select((id, k) => (id, k)))
        {
            two.Shards[two.Plan.ShardOf(id)].ReadRow(id, rows.AsSpan(k * 3, 3));
        }
        Assert.Equal(expected.Rows, rows);
    }

    [Fact]
    public async Task FailedRestore_LeavesEveryShardUntouched()
    {
        var options = new DynamicTableOptions { MaxRows = 100 };
        await using var store = new DynamicShardedStore("u", 2, options, ShardingPlan.Even(2));
        long[] ids = [.. Enumerable.Range(0, 50).Select(i => (long)i)];
        await store.UpsertAsync(ids, Enumerable.Range(0, 100).Select(i => (float)i).ToArray());
        var snapshot = new MemorySnapshotStore();
        SnapshotManifest manifest = await store.SnapshotAsync(snapshot);
        await store.DeleteAsync(ids);
        await store.UpsertAsync(new long[] { 7 }, new float[] { 1, 1 });
        string last = manifest.Chunks[^1].Name;
        byte[] bytes = snapshot.Get(last);
        snapshot.Put(last, bytes[..^5]);
        await Assert.ThrowsAsync<InvalidDataException>(() => store.RestoreAsync(snapshot).AsTask());
        Assert.Equal(1, store.Count); // neither shard changed
    }
}
