namespace EmbedSharp.VectorData.Tests;

public sealed class CollectionManagementTests
{
    [Fact]
    public async Task Collections_are_created_listed_and_deleted()
    {
        var store = new EmbedSharpVectorStore();
        var c = store.GetCollection<int, Hotel>("hotels");
        Assert.False(await c.CollectionExistsAsync());
        await Assert.ThrowsAnyAsync<Exception>(() => c.UpsertAsync(Fixtures.Hotels()[0]));
        await c.EnsureCollectionExistsAsync();
        await c.EnsureCollectionExistsAsync();
        Assert.True(await c.CollectionExistsAsync());
        Assert.True(await store.CollectionExistsAsync("hotels"));
        Assert.Equal(["hotels"], await store.ListCollectionNamesAsync().ToListAsync());
        await c.EnsureCollectionDeletedAsync();
        Assert.False(await store.CollectionExistsAsync("hotels"));
        Assert.Empty(await store.ListCollectionNamesAsync().ToListAsync());
    }

    [Theory]
    [InlineData("")]
    [InlineData("../escape")]
    [InlineData(".hidden")]
    [InlineData("a/b")]
    public void Names_that_are_not_plain_folder_names_are_refused(string name)
    {
        var store = new EmbedSharpVectorStore();
        Assert.Throws<ArgumentException>(() => store.GetCollection<int, Hotel>(name));
    }

    [Fact]
    public async Task A_folder_store_persists_collections_across_instances()
    {
        string folder = Fixtures.TempFolder();
        try
        {
            var (_, hotels) = await Fixtures.HotelsAsync(folder);
            await hotels.DeleteAsync(4);
            var again = new EmbedSharpVectorStore(folder);
            Assert.Equal(["hotels"], await again.ListCollectionNamesAsync().ToListAsync());
            var reopened = again.GetCollection<int, Hotel>("hotels");
            Assert.True(await reopened.CollectionExistsAsync());
            Assert.Equal("Crown", (await reopened.GetAsync(3))!.Name);
            Assert.Null(await reopened.GetAsync(4));
            var hits = await reopened.SearchAsync(new ReadOnlyMemory<float>([1, 0, 0]), 2).ToListAsync();
            Assert.Equal([1, 3], hits.Select(h => h.Record.Id));
            Assert.Equal("a palace for a king", (await ((Microsoft.Extensions.VectorData.IKeywordHybridSearchable<Hotel>)reopened).HybridSearchAsync(new ReadOnlyMemory<float>([0, 1, 0]), ["palace"], 1).ToListAsync())[0].Record.Description);
            await reopened.UpsertAsync(new Hotel { Id = 9, Name = "New", Embedding = new float[] { 0, 1, 0 } });
            await again.EnsureCollectionDeletedAsync("hotels");
            Assert.False(Directory.Exists(Path.Combine(folder, "hotels")));
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }
}
