using EmbedSharp.Stores;

namespace EmbedSharp.Tests.Stores;

public sealed class RouterTests
{
    // Computed independently (Python, SplitMix64's published constants); 0xE220A8397B1DCDAF is SplitMix64's
    // well-known first output from seed 0. These must never change: snapshots depend on them.
    [Theory]
    [InlineData(0L, 0xE220A8397B1DCDAFUL, 3503)]
    [InlineData(1L, 0x910A2DEC89025CC1UL, 3265)]
    [InlineData(2L, 0x975835DE1C9756CEUL, 1742)]
    [InlineData(3L, 0x1D0B14E4DB018FEDUL, 4077)]
    [InlineData(42L, 0xBDD732262FEB6E95UL, 3733)]
    [InlineData(1_000_000L, 0x680D1CCE9CFF45E7UL, 1511)]
    [InlineData(-1L, 0xE4D971771B652C20UL, 3104)]
    [InlineData(long.MaxValue, 0x2A67D7552E039EA7UL, 3751)]
    [InlineData(long.MinValue, 0x481EC0A212A9F3DBUL, 987)]
    public void Buckets_AreFixedForever(long id, ulong mix, int bucket)
    {
        Assert.Equal(mix, BucketRouter.Mix64(id));
        Assert.Equal(bucket, BucketRouter.BucketOf(id));
    }

    [Fact]
    public void Buckets_SpreadDenseIdsEvenly()
    {
        var counts = new int[BucketRouter.BucketCount];
        for (long id = 0; id < 409_600; id++)
            counts[BucketRouter.BucketOf(id)]++;
        Assert.InRange(counts.Min(), 50, 100);
        Assert.InRange(counts.Max(), 100, 150);
    }

    [Fact]
    public void EvenPlan_SplitsBucketsIntoContiguousRanges()
    {
        var plan = ShardingPlan.Even(3);
        Assert.Equal([new BucketRange(0, 1365)], plan.RangesOf(0));
        Assert.Equal([new BucketRange(1365, 2730)], plan.RangesOf(1));
        Assert.Equal([new BucketRange(2730, 4096)], plan.RangesOf(2));
        Assert.Equal(0, plan.ShardOfBucket(1364));
        Assert.Equal(1, plan.ShardOfBucket(1365));
        Assert.Equal(2, plan.ShardOf(0)); // bucket 3503
    }

    [Fact]
    public void Plan_RejectsGapsOverlapsAndEmptyShards()
    {
        var gap = Assert.Throws<ArgumentException>(() => new ShardingPlan(2, [(new BucketRange(0, 100), 0), (new BucketRange(200, 4096), 1)]));
        Assert.Contains("[store.plan] buckets [100, 200) belong to no shard", gap.Message);
        var overlap = Assert.Throws<ArgumentException>(() => new ShardingPlan(2, [(new BucketRange(0, 200), 0), (new BucketRange(100, 4096), 1)]));
        Assert.Contains("overlaps", overlap.Message);
        var empty = Assert.Throws<ArgumentException>(() => new ShardingPlan(3, [(new BucketRange(0, 200), 0), (new BucketRange(200, 4096), 1)]));
        Assert.Contains("shard 2 owns no bucket", empty.Message);
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => new BucketRange(5, 5));
        Assert.Contains("[store.bucket_range] bucket range [5, 5) is not valid", bad.Message);
        // A shard may own several ranges.
        var split = new ShardingPlan(2, [(new BucketRange(0, 100), 1), (new BucketRange(100, 300), 0), (new BucketRange(300, 4096), 1)]);
        Assert.Equal([new BucketRange(0, 100), new BucketRange(300, 4096)], split.RangesOf(1));
    }

    [Fact]
    public void Route_GroupsDistinctIdsByShard_InFirstAppearanceOrder()
    {
        var plan = ShardingPlan.Even(2); // shard 0: buckets < 2048
        long[] ids = [0, 2, 0, 1000000, 2, 3];      // buckets 3503 (s1), 1742 (s0), s1, 1511 (s0), s0, 4077 (s1)
        RoutedBatch r = plan.Route(ids);
        Assert.Equal([2L, 1000000L, 0L, 3L], r.UniqueIds.ToArray());
        Assert.Equal([0, 2, 4], r.ShardStart.ToArray());
        Assert.Equal([2, 0, 2, 1, 0, 3], r.SourceOf.ToArray());
        Assert.True(r.HasDuplicates);
        Assert.Equal([2L, 1000000L], r.IdsOf(0).ToArray());

        // Scatter: the unique rows (value = id) come back to each position.
        float[] gathered = [.. r.UniqueIds.ToArray().SelectMany(id => new float[] { id, -id })];
        var output = new float[ids.Length * 2];
        r.Scatter(gathered, output, 2);
        for (int i = 0; i < ids.Length; i++)
            Assert.Equal([(float)ids[i], -(float)ids[i]], output.AsSpan(i * 2, 2).ToArray());

        // Sum by unique id: positions 0 and 2 (id 0) add up, in position order.
        float[] perPosition = [1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60];
        var summed = new float[r.UniqueCount * 2];
        r.SumByUnique(perPosition, summed, 2);
        Assert.Equal([2 + 5, 20 + 50, 4, 40, 1 + 3, 10 + 30, 6, 60], summed);
    }

    [Fact]
    public void Route_EmptyAndSingleBatches()
    {
        var plan = ShardingPlan.Even(4);
        RoutedBatch empty = plan.Route([]);
        Assert.Equal(0, empty.UniqueCount);
        Assert.Equal(5, empty.ShardStart.Length);
        RoutedBatch one = plan.Route([7]);
        Assert.Equal([7L], one.UniqueIds.ToArray());
        Assert.False(one.HasDuplicates);
    }

    [Fact]
    public void Route_MatchesAPlainReference_OnRandomBatches()
    {
        var rng = new Random(5);
        var plan = ShardingPlan.Even(5);
        foreach (int n in new[] { 1, 7, 64, 1000 })
        {
            long[] ids = [.. Enumerable.Range(0, n).Select(_ => (long)rng.Next(-50, 50) * 1_000_003)];
            RoutedBatch r = plan.Route(ids);
            var expected = ids.Distinct().OrderBy(plan.ShardOf).ToArray(); // OrderBy is stable: first appearance within a shard
            Assert.Equal(expected, r.UniqueIds.ToArray());
            for (int i = 0; i < n; i++)
                Assert.Equal(ids[i], r.UniqueIds[r.SourceOf[i]]);
            for (int s = 0; s < plan.ShardCount; s++)
                Assert.All(r.IdsOf(s).ToArray(), id => Assert.Equal(s, plan.ShardOf(id)));
        }
    }
}
