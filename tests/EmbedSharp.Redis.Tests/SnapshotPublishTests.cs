using EmbedSharp.Stores;
using EmbedSharp.Tables;

namespace EmbedSharp.Redis.Tests;

/// <summary>Serving what a training store wrote: its snapshot (manifest + bucket-range chunks) published to Redis, and the seam's read side.</summary>
public sealed class SnapshotPublishTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private const int Rows = 10_000, Dims = 32;

    [RedisFact]
    public async Task A_sharded_stores_snapshot_is_served_bit_for_bit_through_the_seam()
    {
        using EmbeddingTable table = TestTables.Random(Rows, Dims, seed: 21);
        using InProcessShardedStore trained = InProcessShardedStore.FromTable("users", table, new InProcessStoreOptions { Shards = 3 });
        long[] touched = [3, 4_000, 9_999];
        await trained.UpsertAsync(touched, Enumerable.Repeat(0.5f, touched.Length * Dims).ToArray());
        var snapshot = new MemorySnapshotStore();
        await trained.SnapshotAsync(snapshot);

        var seen = new List<long>();
        RedisTableLayout layout = await RedisTableWriter.PublishSnapshotAsync(fixture.Redis, snapshot, progress: new Progress<long>(seen.Add));
        Assert.Equal("users", layout.Table);
        Assert.Equal(Rows, layout.Rows);
        Assert.Equal(Rows, layout.NumEmbeddings);

        await using IEmbeddingRowReader reader = await RedisServingStore.OpenAsync(fixture.Redis, "users");
        Assert.Equal(new EmbeddingStoreInfo("users", Rows, Dims, DType.Float32), reader.Info);
        long[] ids = [.. TestTables.Ids(4096, Rows, seed: 22), .. touched];
        var expected = new float[ids.Length * Dims];
        await trained.GatherAsync(ids, expected);
        var got = new float[ids.Length * Dims];
        await reader.GatherAsync(ids, got);
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), got.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(0.5f, got[^1]);
    }

    [RedisFact]
    public async Task A_corrupt_chunk_publishes_nothing()
    {
        using EmbeddingTable table = TestTables.Random(500, 8, seed: 23);
        using InProcessShardedStore trained = InProcessShardedStore.FromTable("items", table, new InProcessStoreOptions { Shards = 2 });
        var snapshot = new MemorySnapshotStore();
        await trained.SnapshotAsync(snapshot);
        string chunk = snapshot.Names.First(n => n.EndsWith(".esnap", StringComparison.Ordinal));
        byte[] bytes = snapshot.Get(chunk);
        bytes[^3] ^= 0x40; // one bit of the last row
        snapshot.Put(chunk, bytes);

        await Assert.ThrowsAsync<InvalidDataException>(() => RedisTableWriter.PublishSnapshotAsync(fixture.Redis, snapshot, "items-corrupt"));
        Assert.False(await fixture.Redis.GetDatabase().KeyExistsAsync(RedisTableLayout.PointerKey("items-corrupt")));
    }
}
