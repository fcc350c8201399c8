using EmbedSharp.Initializers;
using EmbedSharp.Stores;

namespace EmbedSharp.Tests.Stores;

public sealed class DynamicTableTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static float[] Gather(DynamicTable t, params long[] ids)
    {
        var rows = new float[ids.Length * t.Info.Dims];
        t.Gather(ids, rows);
        return rows;
    }

    private static void Put(DynamicTable t, long id, float value) => t.Upsert([id], Enumerable.Repeat(value, t.Info.Dims).ToArray());

    [Fact]
    public void Admission_AfterNSightings_UnseenIdsReadZeros()
    {
        using var t = new DynamicTable("u", 2, new DynamicTableOptions { MaxRows = 8, AdmitAfter = 3, Initializer = Initializer.Normal(0, 1), Seed = 4 });
        Assert.Equal([0, 0], Gather(t, 77));
        Assert.False(t.Contains(77));
        Assert.Equal([0, 0, 0, 0], Gather(t, 77, 5)); // second sighting of 77
        Assert.False(t.Contains(77));
        float[] admitted = Gather(t, 77);               // third: created from the initializer and read
        Assert.True(t.Contains(77));
        Assert.NotEqual([0, 0], admitted);
        Assert.Equal(admitted, Gather(t, 77));
        // The initial row depends only on the id and the seed: another table admits the same row.
        using var other = new DynamicTable("u", 2, new DynamicTableOptions { MaxRows = 8, Initializer = Initializer.Normal(0, 1), Seed = 4 });
        Assert.Equal(admitted, Gather(other, 77));
        // Gradients for ids without a row are dropped, not applied.
        t.ApplyGradients([5, 77], [1, 1, 1, 1], OptimizerStep.Sgd(1, 1));
        Assert.Equal(1, t.DroppedGradientRows);
        Assert.Equal(admitted.Select(v => v - 1).ToArray(), Gather(t, 77));
        // Repeats in one batch count each time: 9 reaches 3 sightings inside one lookup and reads its new row there.
        float[] nines = Gather(t, 9, 9, 9);
        Assert.Equal([0, 0, 0, 0], nines[..4]);
        Assert.NotEqual([0, 0], nines[4..]);
        Assert.True(t.Contains(9));
    }

    [Fact]
    public void Lru_EvictsTheLeastRecentlyUsed()
    {
        using var t = new DynamicTable("u", 1, new DynamicTableOptions { MaxRows = 3 });
        Put(t, 1, 1); Put(t, 2, 2); Put(t, 3, 3);
        Gather(t, 1);          // order of use now: 2, 3, 1
        Gather(t, 4);          // evicts 2
        Assert.Equal([1L, 3, 4], t.LiveIds());
        Gather(t, 3);
        Gather(t, 5);          // evicts 1
        Assert.Equal([3L, 4, 5], t.LiveIds());
        Assert.Equal([0f], Gather(t, 6, 3, 4).Take(1).ToArray()); // 6 admitted (zeros) ...
        Assert.Equal([3L, 4, 6], t.LiveIds());                     // ... evicting 5, not 3 or 4 read in the same call
    }

    [Fact]
    public void Lru_OrderSurvivesTheClockWrap()
    {
        // Map entries keep a 32-bit clock: when it would wrap, live stamps are renumbered by rank, order kept.
        using var t = new DynamicTable("u", 1, new DynamicTableOptions { MaxRows = 3 });
        t.Clock = uint.MaxValue - 3;
        Put(t, 1, 1); Put(t, 2, 2); Put(t, 3, 3); // stamped 2^32 − 3, 2^32 − 2, 2^32 − 1
        Gather(t, 1);          // the clock wraps here; order of use now: 2, 3, 1
        Assert.InRange(t.Clock, 1, 10);
        Gather(t, 4);          // evicts 2
        Assert.Equal([1L, 3, 4], t.LiveIds());
        Gather(t, 3);
        Gather(t, 5);          // evicts 1
        Assert.Equal([3L, 4, 5], t.LiveIds());
    }

    [Fact]
    public void Admission_NeverEvictsARowTheSameCallReadsLater()
    {
        using var t = new DynamicTable("u", 1, new DynamicTableOptions { MaxRows = 3 });
        Put(t, 1, 1); Put(t, 2, 2); Put(t, 3, 3); // least recently used first: 1, 2, 3
        // 4 needs room before 1 is reached in batch order; 1 was touched at the call's start, so 2 goes.
        Assert.Equal([0f, 1f], Gather(t, 4, 1));
        Assert.Equal([1L, 3, 4], t.LiveIds());
    }

    [Fact]
    public void Lfu_EvictsTheLeastFrequentlyUsed_TiesByRecency()
    {
        using var t = new DynamicTable("u", 1, new DynamicTableOptions { MaxRows = 3, Eviction = EvictionPolicy.Lfu });
        Gather(t, 1); Gather(t, 2); Gather(t, 3);
        Gather(t, 1, 1, 1); Gather(t, 3);   // lookups: 1 → 4, 2 → 1, 3 → 2
        Gather(t, 4);                       // evicts 2
        Assert.Equal([1L, 3, 4], t.LiveIds());
        Gather(t, 3);                       // 3 → 3, 4 → 1
        Gather(t, 5);                       // evicts 4
        Assert.Equal([1L, 3, 5], t.LiveIds());
    }

    [Fact]
    public void Ttl_ExpiresRowsByTheInjectedClock()
    {
        var clock = new ManualClock();
        using var t = new DynamicTable("u", 1, new DynamicTableOptions { MaxRows = 3, Eviction = EvictionPolicy.Ttl, TimeToLive = TimeSpan.FromMinutes(10), TimeProvider = clock });
        Put(t, 1, 1);
        clock.Now += TimeSpan.FromMinutes(4);
        Put(t, 2, 2);
        clock.Now += TimeSpan.FromMinutes(4);
        Put(t, 3, 3);
        Assert.Equal([1f, 2, 3], Gather(t, 1, 2, 3)); // touching renews all three at minute 8
        clock.Now += TimeSpan.FromMinutes(9);
        Assert.Equal([2f], Gather(t, 2));             // renewed at minute 17
        clock.Now += TimeSpan.FromMinutes(2);         // minute 19: 1 and 3 (last touched at 8) have expired
        Assert.False(t.Contains(1));
        Assert.Equal([2L], t.LiveIds());
        Assert.Equal(2, t.EvictExpired());
        Assert.Equal(1, t.Count);
        Assert.Equal([0f], Gather(t, 3));              // reads the default again, and is admitted afresh (AdmitAfter 1)
        Assert.Equal([2L, 3], t.LiveIds());
        // Full budget: with no row expired, the row closest to expiry goes first.
        Put(t, 4, 4);
        clock.Now += TimeSpan.FromMinutes(1);
        Gather(t, 2);
        Put(t, 5, 5);                                  // evicts 3 (touched at 19, before 4 at 19 by tick order) 
        Assert.Equal([2L, 4, 5], t.LiveIds());
    }

    [Fact]
    public void BadOptionsAndInput_GetClearMessages()
    {
        var none = Assert.Throws<ArgumentOutOfRangeException>(() => new DynamicTable("u", 2, new DynamicTableOptions()));
        Assert.Contains("[dynamic_table.create] MaxRows", none.Message);
        var ttl = Assert.Throws<ArgumentException>(() => new DynamicTable("u", 2, new DynamicTableOptions { MaxRows = 2, Eviction = EvictionPolicy.Ttl }));
        Assert.Contains("EvictionPolicy.Ttl needs a TimeToLive", ttl.Message);
        using var t = new DynamicTable("u", 2, new DynamicTableOptions { MaxRows = 2, OwnedBuckets = [new BucketRange(0, 2048)] });
        var owned = Assert.Throws<ArgumentException>(() => t.Gather([0], new float[2])); // id 0 is in bucket 3503
        Assert.Contains("[dynamic_table.gather] ids[0] = 0 is in bucket 3503, which this shard does not own ([0, 2048))", owned.Message);
        var budget = Assert.Throws<ArgumentException>(() => t.Upsert([2, 1000000, 2L << 40], new float[6]));
        Assert.Contains("do not fit the row budget MaxRows = 2", budget.Message);
        using var bounded = new DynamicTable("u", 2, new DynamicTableOptions { MaxRows = 2, NumEmbeddings = 100 });
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => bounded.Gather([100], new float[2]));
        Assert.Contains("ids[0] = 100 is out of range; valid ids are 0..99", range.Message);
    }

    [Fact]
    public void ExportImport_RoundTripsRowsAndState()
    {
        using var t = new DynamicTable("u", 3, new DynamicTableOptions { MaxRows = 100, Initializer = Initializer.Uniform(-1, 1) });
        long[] ids = [5, -7, 1L << 50, 42, 9];
        Gather(t, ids);
        t.ApplyGradients(ids, [.. Enumerable.Range(0, 15).Select(i => i * 0.1f)], OptimizerStep.Adam(0.1, 1));
        SnapshotRecords exported = t.ExportRows();
        Assert.Equal(ids.Order().ToArray(), exported.Ids);
        Assert.Equal(5 * 6, exported.States.Length);

        using var copy = new DynamicTable("u", 3, new DynamicTableOptions { MaxRows = 10 });
        copy.ImportRows(exported, OptimizerStep.Adam(0.1, 1));
        SnapshotRecords again = copy.ExportRows();
        Assert.Equal(exported.Ids, again.Ids);
        Assert.Equal(exported.Rows, again.Rows);
        Assert.Equal(exported.States, again.States);
        // Both tables train on identically from here.
        t.ApplyGradients([42], [1, 2, 3], OptimizerStep.Adam(0.1, 2));
        copy.ApplyGradients([42], [1, 2, 3], OptimizerStep.Adam(0.1, 2));
        Assert.Equal(t.ExportRows().Rows, copy.ExportRows().Rows);
        var noRule = Assert.Throws<ArgumentException>(() => new DynamicTable("u", 3, new DynamicTableOptions { MaxRows = 10 }).ImportRows(exported));
        Assert.Contains("pass the OptimizerStep that made the state", noRule.Message);
    }

    [Fact]
    public async Task ShardedDynamicTables_SnapshotAndRestoreOnAnotherShardCount()
    {
        var rng = new Random(3);
        long[] ids = [.. Enumerable.Range(0, 300).Select(_ => rng.NextInt64(long.MinValue, long.MaxValue)).Distinct()];
        float[] rows = [.. Enumerable.Range(0, ids.Length * 2).Select(i => (float)i)];
        var three = ShardingPlan.Even(3);
        var snapshot = new MemorySnapshotStore();
        var chunks = new List<SnapshotChunkEntry>();
        DynamicTable? first = null;
        for (int s = 0; s < 3; s++)
        {
            var shard = new DynamicTable("u", 2, new DynamicTableOptions { MaxRows = 300, OwnedBuckets = three.RangesOf(s) });
            long[] mine = [.. ids.Where(id => three.ShardOf(id) == s)];
            shard.Upsert(mine, [.. mine.SelectMany(id => rows.AsSpan(Array.IndexOf(ids, id) * 2, 2).ToArray())]);
            chunks.AddRange(await shard.WriteChunksAsync(snapshot));
            first ??= shard;
        }
        SnapshotManifest manifest = first!.ManifestFor(chunks, three);
        await snapshot.WriteAsync(SnapshotNames.Manifest, (s, _) => { manifest.WriteTo(s); return ValueTask.CompletedTask; });

        var two = ShardingPlan.Even(2);
        int total = 0;
        for (int s = 0; s < 2; s++)
        {
            using var shard = new DynamicTable("u", 2, new DynamicTableOptions { MaxRows = 300, OwnedBuckets = two.RangesOf(s) });
            await shard.RestoreAsync(snapshot);
            long[] mine = [.. ids.Where(id => two.ShardOf(id) == s).Order()];
            Assert.Equal(mine, shard.LiveIds());
            var row = new float[2];
            foreach (long id in mine)
            {
                shard.ReadRow(id, row);
                Assert.Equal(rows.AsSpan(Array.IndexOf(ids, id) * 2, 2).ToArray(), row);
            }
            total += mine.Length;
        }
        Assert.Equal(ids.Length, total);
        using var small = new DynamicTable("u", 2, new DynamicTableOptions { MaxRows = 10 });
        var over = await Assert.ThrowsAsync<InvalidDataException>(() => small.RestoreAsync(snapshot).AsTask());
        Assert.Contains("over its row budget", over.Message);
    }

    [Fact]
    public async Task ConcurrentCallers_KeepTheTableConsistent()
    {
        using var t = new DynamicTable("u", 4, new DynamicTableOptions { MaxRows = 64, AdmitAfter = 2, Eviction = EvictionPolicy.Lfu });
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var rng = new Random(w);
            var rows = new float[32 * 4];
            for (int i = 0; i < 300; i++)
            {
                long[] ids = [.. Enumerable.Range(0, 32).Select(_ => (long)rng.Next(200))];
                t.Gather(ids, rows);
                long[] distinct = [.. ids.Distinct()];
                t.ApplyGradients(distinct, new float[distinct.Length * 4].Select(_ => 0.01f).ToArray(), OptimizerStep.Sgd(0.1, i + 1));
                if (i % 50 == 0)
                    t.Delete([ids[0]]);
            }
        })));
        long[] live = t.LiveIds();
        Assert.InRange(live.Length, 1, 64);
        Assert.Equal(live.Length, t.Count);
        Assert.Equal(live.Length, live.Distinct().Count());
        // Every live row is found again by lookup (the map is intact) and is finite.
        var row = new float[4];
        foreach (long id in live)
        {
            Assert.True(t.Contains(id));
            t.ReadRow(id, row);
            Assert.All(row, v => Assert.True(float.IsFinite(v)));
        }
    }

    /// <summary>The map against a plain reference (a dictionary with LRU by last call) over random calls with admission and eviction.</summary>
    [Fact]
    public void RandomCalls_MatchAPlainReference()
    {
        const int budget = 10;
        using var t = new DynamicTable("u", 1, new DynamicTableOptions { MaxRows = budget, AdmitAfter = 2, CandidateCapacity = 1000 });
        var live = new Dictionary<long, (float Value, long Tick)>();
        var sightings = new Dictionary<long, int>();
        var rng = new Random(12);
        for (long call = 1; call <= 400; call++)
        {
            long[] ids = [.. Enumerable.Range(0, rng.Next(1, 5)).Select(_ => (long)rng.Next(-20, 20) * 7919)];
            if (rng.Next(4) == 0)
            {
                long[] distinct = [.. ids.Distinct()];
                float[] values = [.. distinct.Select(_ => (float)rng.Next(1, 100))];
                t.Upsert(distinct, values);
                for (int i = 0; i < distinct.Length; i++)
                {
                    if (!live.ContainsKey(distinct[i]) && live.Count == budget)
                        live.Remove(live.Where(kv => kv.Value.Tick != call).MinBy(kv => (kv.Value.Tick, kv.Key)).Key);
                    live[distinct[i]] = (values[i], call);
                    sightings.Remove(distinct[i]);
                }
                continue;
            }
            float[] actual = Gather(t, ids);
            // A call first touches every live row it reads, so its admissions never evict one of them.
            foreach (long id in ids)
                if (live.TryGetValue(id, out var read))
                    live[id] = (read.Value, call);
            for (int i = 0; i < ids.Length; i++)
            {
                long id = ids[i];
                float expected = 0;
                if (live.TryGetValue(id, out var row))
                {
                    live[id] = (row.Value, call);
                    expected = row.Value;
                }
                else if ((sightings[id] = sightings.GetValueOrDefault(id) + 1) >= 2)
                {
                    var victims = live.Where(kv => kv.Value.Tick != call).ToArray();
                    if (live.Count < budget || victims.Length > 0)
                    {
                        if (live.Count == budget)
                        {
                            long victim = victims.MinBy(kv => (kv.Value.Tick, kv.Key)).Key;
                            live.Remove(victim);
                            sightings.Remove(victim);
                        }
                        live[id] = (0, call);
                        sightings.Remove(id);
                    }
                }
                Assert.True(expected == actual[i], $"call {call}: id {id} read {actual[i]}, expected {expected}");
            }
            Assert.Equal(live.Keys.Order().ToArray(), t.LiveIds());
        }
    }
}
