using Microsoft.Extensions.VectorData;

namespace EmbedSharp.VectorData.Tests;

public sealed class CrudTests
{
    [Fact]
    public async Task Get_upsert_and_delete_by_key_and_in_batches()
    {
        var (_, hotels) = await Fixtures.HotelsAsync();
        var royal = await hotels.GetAsync(1, new RecordRetrievalOptions { IncludeVectors = true });
        Assert.Equal("Royal", royal!.Name);
        Assert.Equal([1f, 0, 0], royal.Embedding!.Value.ToArray());
        Assert.Null((await hotels.GetAsync(1))!.Embedding);
        Assert.Null(await hotels.GetAsync(42));
        Assert.Equal([2, 3], await hotels.GetAsync([2, 42, 3]).Select(h => h.Id).ToListAsync());

        await hotels.UpsertAsync(new Hotel { Id = 1, Name = "Royal II", Embedding = new float[] { 0, 0, 1 } });
        Assert.Equal("Royal II", (await hotels.GetAsync(1))!.Name);
        var nearest = await hotels.SearchAsync(new ReadOnlyMemory<float>([0, 0, 1]), 2).ToListAsync();
        Assert.Contains(nearest, h => h.Record.Id == 1);

        await hotels.DeleteAsync([1, 2, 99]);
        Assert.Null(await hotels.GetAsync(1));
        Assert.Equal([3, 4], (await hotels.SearchAsync(new ReadOnlyMemory<float>([1, 1, 1]), 10).ToListAsync()).Select(h => h.Record.Id).Order());
        await hotels.DeleteAsync(3);
        Assert.Equal(1, ((EmbedSharpCollection<int, Hotel>)hotels).Count);
    }

    [Fact]
    public async Task Bad_records_change_nothing()
    {
        var (_, hotels) = await Fixtures.HotelsAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => hotels.UpsertAsync([new Hotel { Id = 7, Embedding = new float[] { 1, 0, 0 } }, new Hotel { Id = 8, Embedding = new float[] { 1, 0 } }]));
        await Assert.ThrowsAsync<ArgumentException>(() => hotels.UpsertAsync(new Hotel { Id = 9, Embedding = new float[] { float.NaN, 0, 0 } }));
        Assert.Null(await hotels.GetAsync(7));
        Assert.Equal(4, ((EmbedSharpCollection<int, Hotel>)hotels).Count);
    }
}
