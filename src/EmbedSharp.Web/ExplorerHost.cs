using System.Reflection;
using EmbedSharp.Web.Catalog;
using EmbedSharp.Web.Endpoints;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EmbedSharp.Web;

/// <summary>Builds the explorer's web application: the JSON API under <c>/api</c> and the page at <c>/</c>.</summary>
public static class ExplorerHost
{
    /// <summary>
    /// Builds the host. With <paramref name="catalog"/> null the tables are opened on first use from
    /// <paramref name="options"/>, or from configuration when that is null too (the standalone program and the tests).
    /// </summary>
    /// <param name="args">Host arguments (<c>--urls</c> and configuration).</param>
    /// <param name="options">Tables and limits; null reads the <c>Explorer</c> configuration section.</param>
    /// <param name="catalog">Tables already opened (the CLI opens them first to report errors before binding).</param>
    public static WebApplication Build(string[] args, ExplorerOptions? options, TableCatalog? catalog = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(sp => catalog?.Options ?? options ?? ExplorerOptions.FromConfiguration(sp.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()));
        builder.Services.AddSingleton(sp => catalog ?? new TableCatalog(sp.GetRequiredService<ExplorerOptions>()));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = 16 * 1024;
            k.Limits.MaxRequestLineSize = 8 * 1024;
            k.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var tables = app.Services.GetRequiredService<TableCatalog>();
            if (tables.Options.WarmUp)
                tables.StartWarmUp();
        });
        // Opt-in timings (EMBEDSHARP_SERVE_METRICS=1): the last busy period's summary is written on the way out.
        app.Lifetime.ApplicationStopping.Register(() => Diagnostics.ServeMetrics.Active?.Close());
        app.UseMiddleware<ApiGuard>();
        ApiEndpoints.Map(app);
        MapPage(app);
        return app;
    }

    private static void MapPage(WebApplication app)
    {
        var assembly = typeof(ExplorerHost).Assembly;
        foreach (var (route, resource, type) in new[]
                 {
                     ("/", "wwwroot/index.html", "text/html; charset=utf-8"),
                     ("/app.js", "wwwroot/app.js", "text/javascript; charset=utf-8"),
                     ("/app.css", "wwwroot/app.css", "text/css; charset=utf-8"),
                 })
        {
            byte[] bytes = ReadResource(assembly, resource);
            app.MapGet(route, (HttpContext ctx) =>
            {
                ctx.Response.ContentType = type;
                ctx.Response.Headers.CacheControl = "no-cache";
                ctx.Response.Headers["X-Content-Type-Options"] = "nosniff";
                ctx.Response.Headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:";
                return ctx.Response.Body.WriteAsync(bytes).AsTask();
            });
        }
    }

    private static byte[] ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"[serve] the page resource {name} is missing from the build");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
