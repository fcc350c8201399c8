using System.Net;

namespace EmbedSharp.Web.Tests;

/// <summary>
/// Timing tests run alone: the request timeout is a timer whose callback needs a thread-pool thread, and
/// beside the browser tests (which block pool threads) it can fire only after a fast t-SNE has finished.
/// </summary>
[CollectionDefinition(nameof(TimingCollection), DisableParallelization = true)]
public sealed class TimingCollection;

[Collection(nameof(TimingCollection))]
public sealed class TimeoutTests(ExplorerFactory factory) : IClassFixture<ExplorerFactory>
{
    [Fact]
    public async Task Timeouts_StopALongProjection_With503()
    {
        var client = factory.ClientWith(o => new ExplorerOptions { Files = o.Files, Root = o.Root, ProjectionTimeout = TimeSpan.FromMilliseconds(1) });
        var response = await client.GetAsync("/api/projection?table=planted.txt&method=tsne&n=90");
        Assert.Contains("took longer than", await ApiTests.Error(response, HttpStatusCode.ServiceUnavailable, "api"));
    }
}
