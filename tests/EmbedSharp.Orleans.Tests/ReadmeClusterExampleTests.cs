using EmbedSharp.Orleans.Tests.Harness;
using EmbedSharp.Stores;

namespace EmbedSharp.Orleans.Tests;

/// <summary>README's "Run a cluster" C# example, run as written on the in-process cluster; a second test keeps the texts identical.</summary>
public sealed class ReadmeClusterExampleTests(InProcessCluster fixture) : IClassFixture<InProcessCluster>
{
    [Fact]
    public async Task ReadmeExample_Runs()
    {
        IClusterClient cluster = fixture.Client;
        // readme-begin
        await using var store = new OrleansEmbeddingStore(cluster,
            new OrleansStoreOptions { Table = "users", NumEmbeddings = 1_000_000, Dims = 64, ShardCount = 8 });
        long[] ids = [3, 17, 3, 999_999];                     // a batch; ids may repeat
        var rows = new float[ids.Length * 64];
        await store.GatherAsync(ids, rows);                   // one call per shard, ids deduplicated
        var grads = new float[ids.Length * 64];
        grads.AsSpan().Fill(0.5f);                            // d(loss)/d(row) per position, from your model
        await store.ApplyBatchGradientsAsync(ids, grads, OptimizerStep.Adagrad(0.05, step: 1)); // summed here, Adagrad on the shards
        await store.SnapshotToSharedFolderAsync("step-1");    // chunks per bucket range + manifest, written by the silos
        // readme-end
        Assert.All(rows, v => Assert.Equal(0f, v));
        await store.GatherAsync(ids, rows);
        // Adagrad's first step moves every touched weight by -lr (g / |g|), id 3's summed gradient included.
        Assert.All(rows, v => Assert.Equal(-0.05f, v, 6));
        Assert.True(File.Exists(Path.Combine(fixture.SnapshotRoot, "users", "step-1", SnapshotNames.Manifest)));
    }

    [Fact]
    public void ReadmeExample_MatchesTheReadme()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "EmbedSharp.slnx")))
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("repository root not found");
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        string test = File.ReadAllText(Path.Combine(root, "tests", "EmbedSharp.Orleans.Tests", "ReadmeClusterExampleTests.cs"));
        int marker = readme.IndexOf("// From here on run as written by tests/EmbedSharp.Orleans.Tests/ReadmeClusterExampleTests.cs:", StringComparison.Ordinal);
        Assert.True(marker >= 0, "README lost its cluster example");
        int start = readme.IndexOf('\n', marker) + 1;
        string[] readmeLines = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)].Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        int b = test.IndexOf("// readme-begin", StringComparison.Ordinal), e = test.IndexOf("// readme-end", StringComparison.Ordinal);
        string[] testLines = test[b..e].Split('\n').Skip(1).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        Assert.Equal(readmeLines, testLines);
    }
}
