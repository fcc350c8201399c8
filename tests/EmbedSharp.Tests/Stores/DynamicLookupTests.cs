using EmbedSharp.Initializers;
using EmbedSharp.Stores;

namespace EmbedSharp.Tests.Stores;

/// <summary>The two-pass gather (parallel probe, then commit in batch order) against one lookup at a time.</summary>
public sealed class DynamicLookupTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    public static TheoryData<EvictionPolicy, int> Cases() => new()
    {
        { EvictionPolicy.Lru, 1 }, { EvictionPolicy.Lru, 7 }, { EvictionPolicy.Lru, 128 },
        { EvictionPolicy.Lfu, 7 }, { EvictionPolicy.Lfu, 128 }, { EvictionPolicy.Ttl, 7 }, { EvictionPolicy.Ttl, 128 },
    };

    private static DynamicTableOptions Options(EvictionPolicy policy, ManualClock clock) => new()
    {
        MaxRows = 300, AdmitAfter = 2, Eviction = policy, Initializer = Initializer.Uniform(-1, 1), Seed = 3,
        TimeToLive = policy == EvictionPolicy.Ttl ? TimeSpan.FromMinutes(5) : null, TimeProvider = clock,
    };

    // Batches over 700 ids for a 300-row budget: admissions, evictions and expiries inside calls, repeats, and
    // batches of 2,500 ids (above the parallel threshold at 128 dims) beside small ones (0, 1, 7), and sizes around
    // the pipelined probe's lead (it looks up 64 ids ahead of the copy, at least 9) and the kernel's prefetch distance.
    private static IEnumerable<long[]> Batches(int seed)
    {
        var rng = new Random(seed);
        foreach (int size in new[] { 0, 1, 7, 2500, 300, 2500, 64, 2500, 1, 2500, 8, 9, 10, 63, 65, 129 })
            yield return [.. Enumerable.Range(0, size).Select(_ => (long)(rng.Next(3) == 0 ? rng.Next(50) : rng.Next(700)) * 7919 - 1_000_000)];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TableGatherMatchesOneLookupAtATime(EvictionPolicy policy, int dims)
    {
        var clock = new ManualClock();
        using var fast = new DynamicTable("t", dims, Options(policy, clock));
        using var plain = new DynamicTable("t", dims, Options(policy, clock));
        foreach (long[] batch in Batches(dims))
        {
            var expected = new float[batch.Length * dims];
            var actual = new float[batch.Length * dims];
            plain.GatherReference(batch, expected);
            fast.Gather(batch, actual);
            Assert.Equal(expected, actual);
            Assert.Equal(plain.LiveIds(), fast.LiveIds());
            clock.Now += TimeSpan.FromMinutes(2);
        }
        Assert.True(fast.Count > 0);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ShardedGatherMatchesEachShardLookingUpInBatchOrder(EvictionPolicy policy, int dims)
    {
        var clock = new ManualClock();
        using var fast = new DynamicShardedStore("t", dims, Options(policy, clock), ShardingPlan.Even(3));
        using var plain = new DynamicShardedStore("t", dims, Options(policy, clock), ShardingPlan.Even(3));
        foreach (long[] batch in Batches(dims + 1))
        {
            var expected = new float[batch.Length * dims];
            for (int s = 0; s < 3; s++)
            {
                int[] positions = [.. Enumerable.Range(0, batch.Length).Where(i => plain.Plan.ShardOf(batch[i]) == s)];
                var rows = new float[positions.Length * dims];
                plain.Shards[s].GatherReference([.. positions.Select(i => batch[i])], rows);
                for (int k = 0; k < positions.Length; k++)
                    rows.AsSpan(k * dims, dims).CopyTo(expected.AsSpan(positions[k] * dims, dims));
            }
            var actual = new float[batch.Length * dims];
            fast.Gather(batch, actual);
            Assert.Equal(expected, actual);
            for (int s = 0; s < 3; s++)
                Assert.Equal(plain.Shards[s].LiveIds(), fast.Shards[s].LiveIds());
            clock.Now += TimeSpan.FromMinutes(2);
        }
    }
}
