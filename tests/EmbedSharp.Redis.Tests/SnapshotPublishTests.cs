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
    public async Task A_dynamic_tables_live_rows_are_served_and_unseen_hashed_ids_read_zeros()
    {
        using var dynamic = new DynamicTable("hashed", 8, new DynamicTableOptions { MaxRows = 1000 });
        var rng = new Random(24);
        long[] live = Enumerable.Range(0, 300).Select(_ => rng.NextInt64(long.MinValue, long.MaxValue)).Distinct().ToArray();
        float[] rows = Enumerable.Range(0, live.Length * 8).Select(i => (float)Math.Sin(i)).ToArray();
        await dynamic.UpsertAsync(live, rows);
        var snapshot = new MemorySnapshotStore();
        await dynamic.SnapshotAsync(snapshot);

        RedisTableLayout layout = await RedisTableWriter.PublishSnapshotAsync(fixture.Redis, snapshot, options: new RedisPublishOptions { Format = RedisRowFormat.Float16 });
        Assert.Null(layout.NumEmbeddings);
        Assert.Equal(live.Length, layout.Rows);
        await using var reader = await RedisServingStore.OpenAsync(fixture.Redis, "hashed");
        Assert.True(reader.Info.IsUnbounded);
        long[] ids = [live[7], 12345, live[0], live[^1]];
        var got = new float[ids.Length * 8];
        RedisGatherResult result = await reader.GatherAsync(ids, got);
        Assert.Equal(1, result.Missing);
        for (int i = 0; i < ids.Length; i++)
        {
            int at = Array.IndexOf(live, ids[i]);
            for (int d = 0; d < 8; d++)
                Assert.Equal(at < 0 ? 0f : (float)(Half)rows[at * 8 + d], got[i * 8 + d]);
        }
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
