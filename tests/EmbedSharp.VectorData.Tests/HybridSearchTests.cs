using Microsoft.Extensions.VectorData;

namespace EmbedSharp.VectorData.Tests;

public sealed class HybridSearchTests
{
    [Fact]
    public async Task Keywords_and_vectors_are_fused_by_reciprocal_rank()
    {
        var (_, hotels) = await Fixtures.HotelsAsync();
        var hybrid = (IKeywordHybridSearchable<Hotel>)hotels;
        // The vector points at "Budget" (4); the keywords match only "Orchard" (2): both lead the fused list.
        var hits = await hybrid.HybridSearchAsync(new ReadOnlyMemory<float>([0, 1, 0]), ["pear", "apple"], 2).ToListAsync();
        Assert.Equal([2, 4], hits.Select(h => h.Record.Id).Order());
        var filtered = await hybrid.HybridSearchAsync(new ReadOnlyMemory<float>([0, 1, 0]), ["pear"], 4, new HybridSearchOptions<Hotel> { Filter = h => h.Stars >= 4 }).ToListAsync();
        Assert.All(filtered, h => Assert.True(h.Record.Stars >= 4));
        var store = new EmbedSharpVectorStore();
        var flat = store.GetCollection<Guid, FlatDoc>("f");
        await flat.EnsureCollectionExistsAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await ((IKeywordHybridSearchable<FlatDoc>)flat).HybridSearchAsync(new float[] { 1, 0 }, ["x"], 1).ToListAsync());
    }
}
