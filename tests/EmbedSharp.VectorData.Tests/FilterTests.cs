using Microsoft.Extensions.VectorData;

namespace EmbedSharp.VectorData.Tests;

public sealed class FilterTests
{
    [Fact]
    public async Task Search_filters_keep_k_results_from_the_allowed_records()
    {
        var (_, hotels) = await Fixtures.HotelsAsync();
        var hits = await hotels.SearchAsync(new ReadOnlyMemory<float>([1, 0, 0]), 2, new VectorSearchOptions<Hotel> { Filter = h => h.Stars <= 3 }).ToListAsync();
        Assert.Equal([2, 4], hits.Select(h => h.Record.Id).Order());
        Assert.All(hits, h => Assert.True(h.Record.Stars <= 3));
        var tagged = await hotels.SearchAsync(new ReadOnlyMemory<float>([0, 0, 1]), 5, new VectorSearchOptions<Hotel> { Filter = h => h.Tags.Contains("luxury") }).ToListAsync();
        Assert.Equal([1, 3], tagged.Select(h => h.Record.Id).Order());
    }

    [Fact]
    public async Task Get_by_filter_orders_skips_and_takes()
    {
        var (_, hotels) = await Fixtures.HotelsAsync();
        var options = new FilteredRecordRetrievalOptions<Hotel> { Skip = 1, OrderBy = o => o.Descending(h => h.Stars) };
        var got = await hotels.GetAsync(h => h.Stars >= 3, 5, options).ToListAsync();
        Assert.Equal([3, 2], got.Select(h => h.Id));
        Assert.Equal(["Budget"], await hotels.GetAsync(h => h.Name.StartsWith("B"), 10).Select(h => h.Name).ToListAsync());
    }

    [Fact]
    public async Task Skip_and_score_threshold_apply_after_ranking()
    {
        var (_, hotels) = await Fixtures.HotelsAsync();
        var all = await hotels.SearchAsync(new ReadOnlyMemory<float>([1, 0, 0]), 4).ToListAsync();
        var skipped = await hotels.SearchAsync(new ReadOnlyMemory<float>([1, 0, 0]), 2, new VectorSearchOptions<Hotel> { Skip = 1 }).ToListAsync();
        Assert.Equal(all.Skip(1).Take(2).Select(h => h.Record.Id), skipped.Select(h => h.Record.Id));
        var close = await hotels.SearchAsync(new ReadOnlyMemory<float>([1, 0, 0]), 4, new VectorSearchOptions<Hotel> { ScoreThreshold = 0.5 }).ToListAsync();
        Assert.Equal([1, 3], close.Select(h => h.Record.Id));
    }
}
