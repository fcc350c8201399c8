using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace EmbedSharp.Web.Tests;

/// <summary>The explorer in process (TestServer) over the planted table, with the test root served.</summary>
public sealed class ExplorerFactory : WebApplicationFactory<Program>
{
    public TestTables Tables { get; } = new();

    /// <summary>Replaces the options (limits, timeouts) for one test's client.</summary>
    public HttpClient ClientWith(Func<ExplorerOptions, ExplorerOptions> change) =>
        WithWebHostBuilder(b => b.ConfigureTestServices(s =>
        {
            var options = change(new ExplorerOptions { Files = [Tables.Table], Root = Tables.Root });
            s.AddSingleton(options);
        })).CreateClient();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Explorer:Files:0", Tables.Table);
        builder.UseSetting("Explorer:Root", Tables.Root);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            Tables.Dispose();
    }
}
