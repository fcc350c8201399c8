using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Redis.Tests;

/// <summary>Publish and gather on a live 3-master cluster: each row format, repeated ids, awkward batch sizes, missing ids, the cache.</summary>
public sealed class ServingTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private const int Rows = 10_000, Dims = 32;

    [RedisFact]
    public async Task Float32_rows_come_back_bit_for_bit_for_every_batch_shape()
    {
        using EmbeddingTable table = TestTables.Random(Rows, Dims, seed: 1);
        RedisTableLayout layout = await RedisTableWriter.PublishAsync(fixture.Redis, "f32", table);
        Assert.Equal(Rows, layout.Rows);
        var store = new RedisServingStore(fixture.Redis, "f32");
        foreach (int n in new[] { 0, 1, 7, 257, 4096 })
        {
            long[] ids = TestTables.Ids(n, Rows, seed: n);
            if (n > 7)
                ids[n - 1] = ids[0]; // a repeated id
            var got = new float[n * Dims];
            RedisGatherResult result = await store.GatherAsync(ids, got);
            Assert.Equal(layout.Version, result.Version);
            Assert.Equal(ids.Distinct().Count(), result.UniqueIds);
            float[] expected = TestTables.Rows(table, ids);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), got.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [RedisFact]
    public async Task Float16_rows_equal_the_rounded_table_and_int8_rows_equal_cores_rowwise_quantizer()
    {
        using EmbeddingTable table = TestTables.Random(Rows, Dims, seed: 2);
        await RedisTableWriter.PublishAsync(fixture.Redis, "f16", table, new RedisPublishOptions { Format = RedisRowFormat.Float16, Blocks = 64 });
        await RedisTableWriter.PublishAsync(fixture.Redis, "i8", table, new RedisPublishOptions { Format = RedisRowFormat.Int8, Blocks = 4096 });
        long[] ids = TestTables.Ids(4096, Rows, seed: 3);
        float[] exact = TestTables.Rows(table, ids);

        var f16 = new float[ids.Length * Dims];
        await new RedisServingStore(fixture.Redis, "f16").GatherAsync(ids, f16);
        var halves = new Half[exact.Length];
        var rounded = new float[exact.Length];
        Kernels.Narrow(exact, halves);
        Kernels.Widen(halves, rounded);
        Assert.Equal(rounded, f16);
        Assert.NotEqual(exact, f16); // the rounding happened

        var i8 = new float[ids.Length * Dims];
        await new RedisServingStore(fixture.Redis, "i8").GatherAsync(ids, i8);
        RowwiseQuantizedTable quantized = RowwiseQuantizedTable.Quantize(table, 8);
        float[] reference = TestTables.Rows(quantized, ids);
        Assert.Equal(reference, i8);
        for (int i = 0; i < i8.Length; i++)
        {
            int row = (int)ids[i / Dims];
            float scale = (float)quantized.Scales[row];
            Assert.True(MathF.Abs(i8[i] - exact[i]) <= scale * 0.7f + 2e-3f, $"element {i}: {i8[i]} vs {exact[i]} (scale {scale})");
        }
    }

    [RedisFact]
    public async Task Ids_outside_a_bounded_table_throw_before_anything_is_written_and_missing_rows_read_zeros_or_throw()
    {
        using EmbeddingTable table = TestTables.Random(100, Dims, seed: 4);
        await RedisTableWriter.PublishAsync(fixture.Redis, "small", table);
        var store = new RedisServingStore(fixture.Redis, "small");
        var got = new float[5 * Dims];
        got.AsSpan().Fill(42);
        var outside = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.GatherAsync(new long[] { 5, 99, 100, -3, 5 }, got));
        Assert.StartsWith("[redis.gather] ids[2] = 100 is out of range; valid ids are 0..99 (numEmbeddings 100)", outside.Message);
        Assert.All(got, v => Assert.Equal(42f, v)); // nothing written

        // A sparse table (hashed ids): only the ids written exist; others read zeros by default, or throw when asked.
        await using (RedisTableWriter writer = await RedisTableWriter.BeginAsync(fixture.Redis, "sparse", Dims))
        {
            await writer.WriteAsync(new long[] { -7, 1L << 40, 5 }, TestTables.Rows(table, [1, 2, 3]));
            await writer.CommitAsync();
        }
        long[] ids = [5, 6, -7, 1L << 40, 6, -8];
        var d = new float[ids.Length * Dims];
        RedisGatherResult result = await new RedisServingStore(fixture.Redis, "sparse").GatherAsync(ids, d);
        Assert.Equal(2, result.Missing);
        Assert.Equal(TestTables.Rows(table, [3, 0, 1, 2, 0, 0]).Select((v, i) => ids[i / Dims] is 6 or -8 ? 0f : v), d);
        var error = await Assert.ThrowsAsync<KeyNotFoundException>(async () =>
            await new RedisServingStore(fixture.Redis, "sparse", new RedisServingOptions { MissingRows = MissingRowPolicy.Throw }).GatherAsync(ids, d));
        Assert.StartsWith("[redis.gather] id 6 (ids[1]) is not in table 'sparse'", error.Message);
        Assert.Contains("2 distinct ids of this batch are missing", error.Message);

        var none = await Assert.ThrowsAsync<RedisStoreException>(async () => await new RedisServingStore(fixture.Redis, "never-published").GatherAsync(ids, d));
        Assert.Contains("has no published version", none.Message);
        Assert.Throws<ArgumentException>(() => new RedisServingStore(fixture.Redis, "bad{name}"));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.GatherAsync(new long[] { 1, 2 }, new float[2 * Dims - 1]));
    }

    [RedisFact]
    public async Task The_hot_row_cache_serves_repeats_and_is_dropped_when_the_version_changes()
    {
        using EmbeddingTable v1 = TestTables.Random(1000, Dims, seed: 5);
        using EmbeddingTable v2 = TestTables.Random(1000, Dims, seed: 6);
        await RedisTableWriter.PublishAsync(fixture.Redis, "cached", v1);
        var store = new RedisServingStore(fixture.Redis, "cached", new RedisServingOptions { HotRowCacheRows = 300 });
        long[] ids = TestTables.Ids(500, 1000, seed: 7);
        int unique = ids.Distinct().Count();
        var got = new float[ids.Length * Dims];

        RedisGatherResult first = await store.GatherAsync(ids, got);
        Assert.Equal(0, first.CacheHits);
        Assert.Equal(300, store.CachedRows); // bounded
        Assert.Equal(TestTables.Rows(v1, ids), got);

        RedisGatherResult second = await store.GatherAsync(ids, got);
        Assert.InRange(second.CacheHits, 1, 300);
        Assert.Equal(TestTables.Rows(v1, ids), got);

        long[] hot = ids.Take(20).ToArray();
        var hotRows = new float[hot.Length * Dims];
        await store.GatherAsync(hot, hotRows);
        RedisGatherResult again = await store.GatherAsync(hot, hotRows);
        Assert.Equal(hot.Distinct().Count(), again.CacheHits);
        Assert.Equal(0, again.Blocks);

        await RedisTableWriter.PublishAsync(fixture.Redis, "cached", v2);
        RedisGatherResult afterFlip = await store.GatherAsync(ids, got);
        Assert.Equal(0, afterFlip.CacheHits);
        Assert.Equal(unique, afterFlip.UniqueIds);
        Assert.Equal(TestTables.Rows(v2, ids), got);
    }

    [RedisFact]
    public async Task Readers_see_one_whole_version_per_batch_while_new_versions_are_published()
    {
        // Version k holds row(id) = base(id) + 10·k, so every row tells which version it came from.
        const int rows = 2000;
        using EmbeddingTable baseTable = TestTables.Random(rows, Dims, seed: 8);
        var options = new RedisPublishOptions { OldVersionTtl = TimeSpan.Zero, Blocks = 64 }; // old versions vanish at once: the hardest case
        RedisTableLayout first = await RedisTableWriter.PublishAsync(fixture.Redis, "flip", Shifted(baseTable, 0), options);
        long firstVersion = first.Version;
        using var stop = new CancellationTokenSource();
        var seen = new HashSet<long>();
        Task reader = Task.Run(async () =>
        {
            var store = new RedisServingStore(fixture.Redis, "flip");
            long[] ids = TestTables.Ids(1024, rows, seed: 9);
            var got = new float[ids.Length * Dims];
            float[] reference = TestTables.Rows(baseTable, ids);
            while (!stop.IsCancellationRequested)
            {
                RedisGatherResult r = await store.GatherAsync(ids, got);
                float shift = 10f * (r.Version - firstVersion);
                for (int i = 0; i < got.Length; i++)
                    Assert.True(got[i] == reference[i] + shift, $"batch of version {r.Version}: element {i} is {got[i]}, expected {reference[i] + shift} (a mixed batch)");
                seen.Add(r.Version);
            }
        });
        for (int k = 1; k <= 4; k++)
        {
            RedisTableLayout layout = await RedisTableWriter.PublishAsync(fixture.Redis, "flip", Shifted(baseTable, 10f * k), options);
            Assert.Equal(firstVersion + k, layout.Version);
        }
        await Task.Delay(100);
        stop.Cancel();
        await reader;
        Assert.Contains(firstVersion + 4, seen);
        Assert.True(seen.Count >= 2, $"the reader saw versions {string.Join(",", seen)}");
    }

    [RedisFact]
    public async Task Publishing_checks_its_input_and_an_abandoned_version_is_deleted()
    {
        await using (RedisTableWriter writer = await RedisTableWriter.BeginAsync(fixture.Redis, "checked", 4, numEmbeddings: 10))
        {
            var bad = new[] { 1f, 2f, float.NaN, 4f };
            var e = await Assert.ThrowsAsync<ArgumentException>(async () => await writer.WriteAsync(new long[] { 7 }, bad));
            Assert.StartsWith("[redis.publish] row of id 7 holds NaN at element 2", e.Message);
            await Assert.ThrowsAsync<ArgumentException>(async () => await writer.WriteAsync(new long[] { 7, 8 }, new float[4]));
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await writer.WriteAsync(new long[] { 10 }, new float[4]));
            await writer.WriteAsync(new long[] { 7 }, new float[] { 1, 2, 3, 4 });
        }
        Assert.False(await fixture.Redis.GetDatabase().KeyExistsAsync(RedisTableLayout.PointerKey("checked")));
        var keys = 0L;
        foreach (RedisCluster.Node node in fixture.Cluster.Nodes)
            keys += fixture.Redis.GetServer(node.EndPoint).Keys(pattern: "emb:checked:v[0-9]*").LongCount();
        Assert.Equal(0, keys);
    }

    private static EmbeddingTable Shifted(EmbeddingTable table, float shift)
    {
        var copy = table.Clone();
        Span<float> values = copy.AsSpan<float>();
        for (int i = 0; i < values.Length; i++)
            values[i] += shift;
        return copy;
    }
}
