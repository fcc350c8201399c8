using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.VectorData;

namespace EmbedSharp.VectorData.Tests;

public sealed class DependencyInjectionTests
{
    [Fact]
    public async Task The_store_and_collections_resolve_from_the_container()
    {
        var services = new ServiceCollection();
        services.AddEmbedSharpVectorStore();
        services.AddEmbedSharpCollection<int, Hotel>("hotels");
        using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<VectorStore>();
        Assert.Same(provider.GetRequiredService<EmbedSharpVectorStore>(), store);
        var hotels = provider.GetRequiredService<VectorStoreCollection<int, Hotel>>();
        await hotels.EnsureCollectionExistsAsync();
        await hotels.UpsertAsync(Fixtures.Hotels());
        Assert.True(await store.CollectionExistsAsync("hotels"));
        var meta = (VectorStoreMetadata?)store.GetService(typeof(VectorStoreMetadata));
        Assert.Equal("embedsharp", meta!.VectorStoreSystemName);
    }
}
