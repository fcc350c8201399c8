using EmbedSharp.Search;
using EmbedSharp.Search.Hybrid;
using EmbedSharp.Tables;
using Microsoft.Extensions.AI;

namespace EmbedSharp.AI.Tests;

public sealed class StaticEmbeddingGeneratorTests
{
    internal static KeyedVectors Vectors()
    {
        string[] words = ["the", "king", "queen", "apple", "pear"];
        var table = new EmbeddingTable(words.Length, 3);
        table.WriteRow(0, [0.1f, 0.1f, 0.1f]);
        table.WriteRow(1, [1, 0, 0]);
        table.WriteRow(2, [0.9f, 0.1f, 0]);
        table.WriteRow(3, [0, 0, 1]);
        table.WriteRow(4, [0, 0.1f, 0.9f]);
        return new KeyedVectors(words, table, ownsTable: true);
    }

    [Fact]
    public async Task Texts_become_the_embedders_vectors_with_metadata()
    {
        using var kv = Vectors();
        var embedder = new WordVectorEmbedder(kv, WordPooling.Mean);
        IEmbeddingGenerator<string, Embedding<float>> generator = new StaticEmbeddingGenerator(embedder, "tiny");
        var result = await generator.GenerateAsync(["king", "apple pear", "", "unknown"]);
        Assert.Equal(4, result.Count);
        Assert.Equal(kv["king"], result[0].Vector.ToArray());
        Assert.Equal([0f, 0.05f, 0.95f], result[1].Vector.ToArray());
        Assert.All(result[2].Vector.ToArray(), x => Assert.Equal(0f, x));
        Assert.Equal("tiny", result[0].ModelId);
        var meta = generator.GetService<EmbeddingGeneratorMetadata>();
        Assert.Equal(("embedsharp", "tiny", 3), (meta!.ProviderName, meta.DefaultModelId, meta.DefaultModelDimensions));
        Assert.Same(embedder, generator.GetService<WordVectorEmbedder>());
        var v = await generator.GenerateVectorAsync("queen");
        Assert.Equal(kv["queen"], v.ToArray());
        await Assert.ThrowsAsync<ArgumentException>(() => generator.GenerateAsync(["king"], new EmbeddingGenerationOptions { Dimensions = 2 }));
        generator.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => generator.GenerateAsync(["king"]));
    }

    [Fact]
    public async Task Any_table_and_tokenizer_embed_by_the_mean_of_token_rows()
    {
        using var table = new EmbeddingTable(4, 2);
        table.CopyFrom([1, 0, 0, 1, 2, 2, -1, -1]);
        var embedder = new TokenTableEmbedder(table, text => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray());
        using var generator = new StaticEmbeddingGenerator(embedder);
        var e = await generator.GenerateAsync(["0 1", "2", ""]);
        Assert.Equal([0.5f, 0.5f], e[0].Vector.ToArray());
        Assert.Equal([2f, 2f], e[1].Vector.ToArray());
        Assert.Equal([0f, 0f], e[2].Vector.ToArray());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => generator.GenerateAsync(["7"]));
    }
}
