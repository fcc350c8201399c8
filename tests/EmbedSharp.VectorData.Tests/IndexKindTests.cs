using EmbedSharp.Search;
using EmbedSharp.Search.Hnsw;

namespace EmbedSharp.VectorData.Tests;

public sealed class IndexKindTests
{
    [Fact]
    public async Task Hnsw_and_flat_collections_are_backed_by_our_indexes()
    {
        var store = new EmbedSharpVectorStore();
        var hotels = store.GetCollection<int, Hotel>("h");
        await hotels.EnsureCollectionExistsAsync();
        Assert.IsType<HnswIndex>(hotels.GetService(typeof(IVectorIndex)));
        var flat = store.GetCollection<Guid, FlatDoc>("f");
        await flat.EnsureCollectionExistsAsync();
        Assert.IsType<ExactIndex>(flat.GetService(typeof(IVectorIndex)));
        var doc = new FlatDoc { Text = "x", Vector = [3, 4] };
        await flat.UpsertAsync(doc);
        Assert.NotEqual(Guid.Empty, doc.Key);
        var hit = await flat.SearchAsync(new float[] { 0, 0 }, 1).SingleAsync();
        Assert.Equal(5.0, hit.Score!.Value, 4);
    }
}
