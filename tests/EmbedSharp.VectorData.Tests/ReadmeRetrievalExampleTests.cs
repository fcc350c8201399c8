using EmbedSharp.AI;
using EmbedSharp.Search;
using EmbedSharp.Search.Hnsw;
using EmbedSharp.Search.Hybrid;
using EmbedSharp.Tables;
using Microsoft.Extensions.VectorData;

namespace EmbedSharp.VectorData.Tests;

/// <summary>README's retrieval example, run as written; a second test keeps the two texts identical.</summary>
public sealed class ReadmeRetrievalExampleTests
{
    public sealed class Note
    {
        [VectorStoreKey] public int Id { get; set; }
        [VectorStoreData(IsFullTextIndexed = true)] public string Text { get; set; } = "";
        [VectorStoreVector(3)] public string Embedding => Text;
    }

    [Fact]
    public async Task ReadmeRetrievalExample_Runs()
    {
        string path = Path.Combine(Path.GetTempPath(), $"readme-{Guid.NewGuid():N}.hnsw");
        string[] words = ["king", "queen", "apple"];
        using var table = new EmbeddingTable(3, 3);
        table.CopyFrom([1, 0, 0, 0.9f, 0.1f, 0, 0, 0, 1]);
        try
        {
            // readme-retrieval-begin
            // An HNSW index over vectors: search, filter, save, and open again by memory mapping.
            using var index = new HnswIndex(dims: 3, SimilarityMetric.Cosine, new HnswOptions { M = 16, EfConstruction = 200 });
            index.AddBatch(table.ToArray());
            Neighbor[] hits = index.Search([1f, 0.05f, 0f], k: 2);                      // ids 0 then 1
            Neighbor[] odd = index.Search([1f, 0.05f, 0f], k: 1, SearchFilter.Where(id => id % 2 == 1));
            index.SaveFile(path);
            using var opened = HnswIndex.Open(path);

            // Text in, vectors out (Microsoft.Extensions.AI), stored and searched (Microsoft.Extensions.VectorData).
            using var keyed = new KeyedVectors(words, table);
            var generator = new StaticEmbeddingGenerator(new WordVectorEmbedder(keyed, WordPooling.Mean));
            var store = new EmbedSharpVectorStore(folder: null, embeddingGenerator: generator);
            var notes = store.GetCollection<int, Note>("notes");
            await notes.EnsureCollectionExistsAsync();
            await notes.UpsertAsync([new Note { Id = 1, Text = "the queen" }, new Note { Id = 2, Text = "an apple" }]);
            var best = await notes.SearchAsync("king", top: 1).FirstAsync();          // the queen's note
            // readme-retrieval-end

            Assert.Equal([0, 1], hits.Select(h => h.Index));
            Assert.Equal(1, odd.Single().Index);
            Assert.Equal(hits, opened.Search([1f, 0.05f, 0f], 2));
            Assert.Equal(1, best.Record.Id);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ReadmeRetrievalExample_MatchesTheReadme()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EmbedSharp.slnx")))
            dir = dir.Parent;
        string root = dir!.FullName;
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        string test = File.ReadAllText(Path.Combine(root, "tests", "EmbedSharp.VectorData.Tests", "ReadmeRetrievalExampleTests.cs"));
        int block = readme.IndexOf("<!-- readme-retrieval-example", StringComparison.Ordinal);
        Assert.True(block >= 0, "README.md lost its retrieval example");
        int start = readme.IndexOf("```csharp\n", block, StringComparison.Ordinal) + "```csharp\n".Length;
        int end = readme.IndexOf("```", start, StringComparison.Ordinal);
        string[] readmeLines = readme[start..end].Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        int b = test.IndexOf("// readme-retrieval-begin", StringComparison.Ordinal);
        int e = test.IndexOf("// readme-retrieval-end", StringComparison.Ordinal);
        string[] testLines = test[b..e].Split('\n').Skip(1).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        Assert.Equal(readmeLines, testLines);
    }
}
