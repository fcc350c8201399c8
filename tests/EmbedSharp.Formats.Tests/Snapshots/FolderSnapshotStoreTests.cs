using EmbedSharp.Formats.Snapshots;
using EmbedSharp.Stores;

namespace EmbedSharp.Formats.Tests.Snapshots;

public sealed class FolderSnapshotStoreTests
{
    [Fact]
    public async Task Snapshot_ToAFolder_RestoresOnAnotherShardCount()
    {
        using var dir = new TempDirectory();
        await using var store = new InProcessShardedStore("t", 100, 3, new InProcessStoreOptions { Shards = 3 });
        long[] ids = [.. Enumerable.Range(0, 100).Select(i => (long)i)];
        float[] rows = [.. Enumerable.Range(0, 300).Select(i => i * 0.5f)];
        await store.UpsertAsync(ids, rows);
        await store.ApplyGradientsAsync(new long[] { 1, 50 }, new float[] { 1, 2, 3, 4, 5, 6 }, OptimizerStep.RowwiseAdagrad(0.1, 1));
        var folder = new FolderSnapshotStore(Path.Combine(dir.Path, "snap"));
        await store.SnapshotAsync(folder);
        Assert.True(folder.IsComplete);
        Assert.Equal(4, Directory.GetFiles(folder.Folder).Length); // 3 chunks + manifest, no temp files left
        Assert.DoesNotContain(Directory.GetFiles(folder.Folder), f => f.EndsWith(".tmp", StringComparison.Ordinal));

        await using var restored = new InProcessShardedStore("t", 100, 3, new InProcessStoreOptions { Shards = 2 });
        await restored.RestoreAsync(new FolderSnapshotStore(folder.Folder));
        var a = new float[300];
        var b = new float[300];
        await store.GatherAsync(ids, a);
        await restored.GatherAsync(ids, b);
        Assert.Equal(a, b);
    }

    [Fact]
    public async Task FailedWrite_LeavesNoFile_AndNamesCannotLeaveTheFolder()
    {
        using var dir = new TempDirectory();
        var folder = new FolderSnapshotStore(dir.Path);
        await Assert.ThrowsAsync<InvalidOperationException>(() => folder.WriteAsync("x.esnap", (s, _) =>
        {
            s.WriteByte(1);
            throw new InvalidOperationException("disk full");
        }).AsTask());
        Assert.Empty(Directory.GetFiles(dir.Path));
        await Assert.ThrowsAsync<ArgumentException>(() => folder.WriteAsync("../escape", (_, _) => ValueTask.CompletedTask).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => folder.OpenReadAsync("/etc/passwd").AsTask());
        var missing = await Assert.ThrowsAsync<FileNotFoundException>(() => folder.OpenReadAsync("manifest.json").AsTask());
        Assert.Contains("[snapshot.open]", missing.Message);
        Assert.False(folder.IsComplete);
    }
}
