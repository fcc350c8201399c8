using EmbedSharp.Search;
using EmbedSharp.Web.Catalog;

namespace EmbedSharp.Web.Tests;

/// <summary>The start-up warm-up of <c>embedsharp serve</c>: it runs the searches and projections once, changes no answer, and stops cleanly.</summary>
public sealed class WarmUpTests
{
    [Fact]
    public async Task WarmUp_RunsTheSearchesOnce_AndAnswersStayTheSame()
    {
        using var tables = new TestTables();
        using var catalog = new TableCatalog(new ExplorerOptions { Files = [tables.Table], WarmUp = true });
        var table = catalog.Get("test", Path.GetFileName(tables.Table));
        var before = await table.NeighboursAsync("apple", 5);
        await catalog.StartWarmUp().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Same(catalog.StartWarmUp(), catalog.StartWarmUp());
        var exact = table.Exact!;
        if (ExactIndex.PrefilterAccelerated && exact.Count > 2 * ExplorerTable.PrefilterCandidates)
            Assert.True(exact.PrefilterCounts.Queries >= 5, $"{exact.PrefilterCounts.Queries} pre-filtered queries after the warm-up");
        var plain = new ExactIndex(table.Keyed.Table, SimilarityMetric.Cosine);
        var q = table.Keyed.GetVector("banana");
        Assert.Equal(plain.Search(q, 7), exact.Search(q, 7));
        Assert.Equal(before, await table.NeighboursAsync("apple", 5));
    }

    [Fact]
    public void Dispose_StopsAWarmUpInFlight_WithoutAnError()
    {
        using var tables = new TestTables();
        var catalog = new TableCatalog(new ExplorerOptions { Files = [tables.Table], WarmUp = true });
        var warm = catalog.StartWarmUp();
        catalog.Dispose();
        Assert.True(warm.IsCompleted);
        Assert.Null(warm.Exception);
        // After disposal no warm-up starts (it would read closed tables).
        var closed = new TableCatalog(new ExplorerOptions { Files = [tables.Table], WarmUp = true });
        closed.Dispose();
        Assert.Same(Task.CompletedTask, closed.StartWarmUp());
    }
}
