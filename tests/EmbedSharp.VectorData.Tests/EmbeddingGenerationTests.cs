using EmbedSharp.AI;
using EmbedSharp.Search.Hybrid;
using EmbedSharp.Tables;
using Microsoft.Extensions.AI;

namespace EmbedSharp.VectorData.Tests;

public sealed class EmbeddingGenerationTests
{
    /// <summary>The end-to-end example: text → embedding (MEAI generator over static word vectors) → upsert → search.</summary>
    [Fact]
    public async Task Text_to_embedding_to_upsert_to_search()
    {
        string[] words = ["king", "queen", "palace", "apple", "pear", "orchard"];
        using var table = new EmbeddingTable(words.Length, 3);
        table.CopyFrom([1, 0, 0, 0.9f, 0.1f, 0, 0.8f, 0, 0.2f, 0, 0, 1, 0, 0.1f, 0.9f, 0.1f, 0, 0.9f]);
        using var vectors = new EmbedSharp.Search.KeyedVectors(words, table);
        IEmbeddingGenerator<string, Embedding<float>> generator = new StaticEmbeddingGenerator(new WordVectorEmbedder(vectors, WordPooling.Mean));
        var store = new EmbedSharpVectorStore(embeddingGenerator: generator);
        var articles = store.GetCollection<long, Article>("articles");
        await articles.EnsureCollectionExistsAsync();
        await articles.UpsertAsync([
            new Article { Id = 1, Body = "the king in his palace" },
            new Article { Id = 2, Body = "an orchard of apple and pear" },
            new Article { Id = 3, Body = "the queen" },
        ]);
        var hits = await articles.SearchAsync("royal queen", 2).ToListAsync();
        Assert.Equal([3, 1], hits.Select(h => h.Record.Id));
        var fruit = await articles.SearchAsync("pear", 1).SingleAsync();
        Assert.Equal(2, fruit.Record.Id);
        // A collection with a text vector property and no generator is refused up front.
        Assert.Throws<ArgumentException>(() => new EmbedSharpVectorStore().GetCollection<long, Article>("x"));
        // Query embeddings from the generator may be passed directly too.
        var e = await generator.GenerateAsync(["apple"]);
        Assert.Equal(2, (await articles.SearchAsync(e[0], 1).SingleAsync()).Record.Id);
    }
}
