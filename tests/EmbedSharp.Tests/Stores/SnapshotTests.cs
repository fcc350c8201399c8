using EmbedSharp.Stores;

namespace EmbedSharp.Tests.Stores;

public sealed class SnapshotTests
{
    private static async Task<InProcessShardedStore> TrainedStore(int shards, int rows = 300, int dims = 6)
    {
        var table = InProcessStoreTests.RandomTable(rows, dims, 11);
        var store = InProcessShardedStore.FromTable("users", table, new InProcessStoreOptions { Shards = shards });
        table.Dispose();
        var rng = new Random(4);
        for (int t = 1; t <= 3; t++)
        {
            var (ids, grads) = InProcessStoreTests.RandomStep(rng, rows, dims, Math.Min(50, rows / 2));
            await store.ApplyGradientsAsync(ids, grads, OptimizerStep.Adam(0.01, t));
        }
        return store;
    }

    private static async Task AssertSameRowsAndState(InProcessShardedStore a, InProcessShardedStore b, int rows)
    {
        int dims = a.Info.Dims;
        long[] ids = [.. Enumerable.Range(0, rows).Select(i => (long)i)];
        var x = new float[rows * dims];
        var y = new float[rows * dims];
        await a.GatherAsync(ids, x);
        await b.GatherAsync(ids, y);
        Assert.Equal(InProcessStoreTests.Bits(x), InProcessStoreTests.Bits(y));
        var sa = new float[a.Info.StateWidth];
        var sb = new float[b.Info.StateWidth];
        Assert.Equal(sa.Length, sb.Length);
        for (int r = 0; r < rows; r++)
        {
            a.ReadState(r, sa);
            b.ReadState(r, sb);
            Assert.Equal(InProcessStoreTests.Bits(sa), InProcessStoreTests.Bits(sb));
        }
    }

    [Theory]
    [InlineData(3, 2)]
    [InlineData(3, 5)]
    [InlineData(1, 4)]
    [InlineData(4, 1)]
    public async Task Reshard_NToM_FromASnapshot_EqualsTheOriginal(int from, int to)
    {
        await using InProcessShardedStore original = await TrainedStore(from);
        var snapshot = new MemorySnapshotStore();
        SnapshotManifest manifest = await original.SnapshotAsync(snapshot);
        Assert.Equal(from, manifest.Chunks.Count);
        Assert.Equal(300, manifest.Chunks.Sum(c => c.RowCount));
        Assert.Contains(SnapshotNames.Manifest, snapshot.Names);
        await using var restored = new InProcessShardedStore("users", 300, 6, new InProcessStoreOptions { Shards = to });
        await restored.RestoreAsync(snapshot);
        Assert.Equal(original.Info, restored.Info);
        Assert.Equal(3, restored.StepCount);
        await AssertSameRowsAndState(original, restored, 300);

        // Both keep training identically.
        var rng = new Random(9);
        var (ids, grads) = InProcessStoreTests.RandomStep(rng, 300, 6, 80);
        await original.ApplyGradientsAsync(ids, grads, OptimizerStep.Adam(0.01, 4));
        await restored.ApplyGradientsAsync(ids, grads, OptimizerStep.Adam(0.01, 4));
        await AssertSameRowsAndState(original, restored, 300);
    }

    [Fact]
    public async Task Manifest_RoundTrips()
    {
        await using InProcessShardedStore store = await TrainedStore(2);
        var snapshot = new MemorySnapshotStore();
        SnapshotManifest written = await store.SnapshotAsync(snapshot);
        SnapshotManifest read = SnapshotManifest.Read(new MemoryStream(snapshot.Get(SnapshotNames.Manifest)));
        Assert.Equal(written.Chunks, read.Chunks);
        Assert.Equal(written.Optimizer, read.Optimizer);
        Assert.Equal(written.Plan.Entries, read.Plan.Entries);
        Assert.Equal((written.Table, written.NumEmbeddings, written.Dims, written.StateWidth, written.Step), (read.Table, read.NumEmbeddings, read.Dims, read.StateWidth, read.Step));
        Assert.Equal(["buckets-0000-2047.esnap", "buckets-2048-4095.esnap", "manifest.json"], snapshot.Names);
    }

    [Fact]
    public async Task HostileChunks_GiveClearErrors_AndLeaveTheStoreUntouched()
    {
        await using InProcessShardedStore store = await TrainedStore(1, rows: 40, dims: 3);
        var snapshot = new MemorySnapshotStore();
        await store.SnapshotAsync(snapshot);
        const string chunk = "buckets-0000-4095.esnap";
        byte[] good = snapshot.Get(chunk);
        await using var target = new InProcessShardedStore("users", 40, 3, new InProcessStoreOptions { Shards = 2 });
        await target.UpsertAsync(new long[] { 5 }, new float[] { 7, 7, 7 });

        async Task<string> Fails(byte[] bytes)
        {
            snapshot.Put(chunk, bytes);
            var ex = await Assert.ThrowsAsync<InvalidDataException>(() => target.RestoreAsync(snapshot).AsTask());
            var row = new float[3];
            target.ReadRow(5, row);
            Assert.Equal([7, 7, 7], row);
            return ex.Message;
        }

        // Truncated at every interesting point: inside the header and inside records.
        foreach (int cut in new[] { 0, 4, 9, 30, 60, good.Length - 1 })
            Assert.Contains($"{chunk} at byte", await Fails(good[..Math.Min(cut, good.Length - 1)]));
        Assert.Contains("bad magic", await Fails([.. "NOTSNAP!"u8.ToArray(), .. good[8..]]));
        // A hostile row count: 2^62 records promised, none allocated up front; the stream ends first.
        byte[] huge = (byte[])good.Clone();
        int rowCountAt = 8 + 4 + 4 + "users".Length + 4 * 4 + 8 + 4 + 4;
        BitConverter.GetBytes(1L << 62).CopyTo(huge, rowCountAt);
        Assert.Contains("ends early", await Fails(huge));
        // A flipped byte in a record: the checksum catches it.
        byte[] flipped = (byte[])good.Clone();
        flipped[^3] ^= 0x10;
        Assert.Contains("checksum", await Fails(flipped));
        // Huge dims in the header are rejected before any allocation.
        byte[] dims = (byte[])good.Clone();
        BitConverter.GetBytes(int.MaxValue).CopyTo(dims, 8 + 4 + 4 + "users".Length);
        Assert.Contains("dims 2147483647 is out of range", await Fails(dims));
        // Trailing garbage.
        Assert.Contains("bytes follow the last", await Fails([.. good, 1, 2, 3, 4]));

        snapshot.Put(chunk, good);
        snapshot.Put(SnapshotNames.Manifest, "{ \"format\": \"embedsharp-snapshot\", \"version\": 1 "u8.ToArray());
        var json = await Assert.ThrowsAsync<InvalidDataException>(() => target.RestoreAsync(snapshot).AsTask());
        Assert.Contains("[snapshot.manifest] manifest.json: not valid JSON", json.Message);
    }

    [Fact]
    public async Task Restore_RejectsAnotherTable()
    {
        await using InProcessShardedStore store = await TrainedStore(2);
        var snapshot = new MemorySnapshotStore();
        await store.SnapshotAsync(snapshot);
        await using var other = new InProcessShardedStore("items", 300, 6);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => other.RestoreAsync(snapshot).AsTask());
        Assert.Contains("[store.restore] the snapshot is of table 'users' but this store holds 'items'", ex.Message);
        await using var smaller = new InProcessShardedStore("users", 200, 6);
        ex = await Assert.ThrowsAsync<InvalidDataException>(() => smaller.RestoreAsync(snapshot).AsTask());
        Assert.Contains("300 ids but this store has 200", ex.Message);
    }

    [Fact]
    public void SnapshotNames_RejectPaths()
    {
        foreach (string bad in new[] { "../x", "a/b", "", ".hidden", "a\\b", new string('a', 129) })
            Assert.Throws<ArgumentException>(() => SnapshotNames.Check("t", bad));
        SnapshotNames.Check("t", "buckets-0000-4095.esnap");
    }
}
