using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;

namespace EmbedSharp.Web.Tests;

/// <summary>
/// The page in Debian's Chromium, driven by Playwright over a real Kestrel server on loopback: load,
/// search with completion, click a point, read its neighbours, compare with the quantized forms,
/// solve an analogy, read the facts, map with t-SNE. Any page error or console error fails the test.
/// Screenshots (1280×800) go to the test output, and to <c>$EMBEDSHARP_SCREENSHOTS</c> when set
/// by the real-vectors test (that is how docs/screenshots is made: see README).
/// </summary>
public sealed class BrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    internal sealed record Scenario(string File, int Points, string Prefix, string Word, string[] Analogy, string? AnalogyAnswer, string[]? WordNeighbours);

    [Fact]
    public async Task PlantedTable_SearchClickCompareAnalogyFacts()
    {
        using var tables = new TestTables();
        await Run(new Scenario(tables.Table, 500, "tig", "tiger", ["king", "man", "woman"], "queen", TestTables.Animals), "planted", forDocs: false);
    }

    [Fact]
    public async Task RealVectors_FromTheSharedData_ProduceTheDocsScreenshots()
    {
        string file = Path.Combine(RepositoryRoot(), "..", "shared", "data", "embeddings", "fasttext", "wiki-news-300d-1M.top999.noheader.vec");
        Assert.True(File.Exists(file), $"{file} is missing: the shared data set lies beside the repository (../shared)");
        await Run(new Scenario(file, 999, "Lond", "London", ["France", "French", "German"], "Germany", null), "wiki", forDocs: true);
    }

    private static async Task Run(Scenario s, string tag, bool forDocs)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium (.ci/run does)");
        string shots = Path.Combine(AppContext.BaseDirectory, "screenshots", tag);
        Directory.CreateDirectory(shots);
        string? docs = forDocs ? Environment.GetEnvironmentVariable("EMBEDSHARP_SCREENSHOTS") : null;

        await using var app = ExplorerHost.Build(["--urls", "http://127.0.0.1:0"], new ExplorerOptions { Files = [s.File] });
        await app.StartAsync();
        string url = app.Urls.First();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        page.SetDefaultTimeout(60_000);
        var errors = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
                errors.Add("console: " + m.Text);
        };
        page.PageError += (_, e) => errors.Add("page: " + e);

        async Task Shot(string name)
        {
            Assert.True(await page.Locator("#error").IsHiddenAsync(), "the page shows an error: " + await page.Locator("#error").TextContentAsync());
            Assert.True(errors.Count == 0, string.Join("\n", errors));
            byte[] png = await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, name + ".png") });
            if (docs is not null)
            {
                Directory.CreateDirectory(docs);
                await File.WriteAllBytesAsync(Path.Combine(docs, name + ".png"), png);
            }
        }

        // Load: the map of the first rows.
        await page.GotoAsync(url + "/");
        await page.WaitForSelectorAsync("body[data-ready=true]");
        await page.Locator("#count").FillAsync(s.Points.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await page.Locator("#project").ClickAsync();
        await page.WaitForFunctionAsync("n => window.explorer.pointCount === n", Math.Min(s.Points, CountRows(s.File)));
        await Shot("explorer-map");

        // Search with completion, then choose the suggestion.
        await page.Locator("#search").PressSequentiallyAsync(s.Prefix, new LocatorPressSequentiallyOptions { Delay = 30 });
        var suggestion = page.Locator("#suggestions li", new PageLocatorOptions { HasTextRegex = new Regex("^" + Regex.Escape(s.Word) + "$") });
        await suggestion.WaitForAsync();
        await Shot("explorer-search");
        await suggestion.DispatchEventAsync("mousedown");
        await page.Locator("#neighbours-title", new PageLocatorOptions { HasText = s.Word }).WaitForAsync();
        await page.Locator("#neighbours li").First.WaitForAsync();
        var searched = await page.Locator("#neighbours li .word").AllTextContentsAsync();
        Assert.Equal(15, searched.Count);
        if (s.WordNeighbours is not null)
            Assert.All(searched.Take(7), w => Assert.Contains(w, s.WordNeighbours));

        // Click a point on the map: its neighbours replace the list.
        var point = await page.EvaluateAsync<ScreenPoint>("() => window.explorer.isolatedPoint()");
        Assert.NotNull(point);
        await page.Mouse.ClickAsync((float)point.X, (float)point.Y);
        await page.Locator("#neighbours-title", new PageLocatorOptions { HasText = "“" + point.Word + "”" }).WaitForAsync();
        var clicked = await page.Locator("#neighbours li .word").AllTextContentsAsync();
        Assert.Equal(15, clicked.Count);
        Assert.DoesNotContain(point.Word, clicked);
        var scores = (await page.Locator("#neighbours li .score").AllTextContentsAsync()).Select(t => double.Parse(t, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(scores.OrderDescending(), scores);

        // Back to the searched word for the pictures, then the quantized comparison.
        await page.Locator("#neighbours li").First.ClickAsync();
        await page.Locator("#search").FillAsync(s.Word);
        await page.Locator("#search").PressAsync("Enter");
        await page.Locator("#neighbours-title", new PageLocatorOptions { HasText = "“" + s.Word + "”" }).WaitForAsync();
        await Shot("explorer-neighbours");
        await page.Locator("#tab-compare").ClickAsync();
        await page.Locator("#compare .column").Nth(2).Locator("li").First.WaitForAsync();
        Assert.Equal(3, await page.Locator("#compare .column").CountAsync());
        var overlaps = await page.Locator("#compare .overlap").AllTextContentsAsync();
        Assert.Equal(2, overlaps.Count);
        Assert.All(overlaps, o => Assert.Matches(@"^overlap \d+%$", o));
        Assert.Equal(10, await page.Locator("#compare .column").First.Locator("li").CountAsync());
        await Shot("explorer-quantized");

        // Analogy a − b + c.
        await page.Locator("#tab-analogy").ClickAsync();
        await page.Locator("#analogy-a").FillAsync(s.Analogy[0]);
        await page.Locator("#analogy-b").FillAsync(s.Analogy[1]);
        await page.Locator("#analogy-c").FillAsync(s.Analogy[2]);
        await page.Locator("#analogy-form button").ClickAsync();
        await page.Locator("#analogy li").First.WaitForAsync();
        if (s.AnalogyAnswer is not null)
            Assert.Equal(s.AnalogyAnswer, await page.Locator("#analogy li .word").First.TextContentAsync());
        await Shot("explorer-analogy");

        // Facts: shape, norms histogram, quantization report.
        await page.Locator("#tab-facts").ClickAsync();
        await page.Locator("#quantization tr").Nth(2).WaitForAsync();
        Assert.Contains("× ", await page.Locator("#facts").TextContentAsync());
        await Shot("explorer-facts");

        // t-SNE with its progress, then back to the neighbours view.
        await page.Locator("#tab-neighbours").ClickAsync();
        await page.Locator("#method").SelectOptionAsync("tsne");
        await page.Locator("#count").FillAsync("400"); // keeps the test quick in a Debug build
        await page.Locator("#project").ClickAsync();
        await page.Locator("#map-caption", new PageLocatorOptions { HasText = "t-SNE of" }).WaitForAsync();
        await Shot("explorer-tsne");

        Assert.True(errors.Count == 0, string.Join("\n", errors));
        await app.StopAsync();
    }

    public sealed class ScreenPoint
    {
        public string Word { get; set; } = "";

        public double X { get; set; }

        public double Y { get; set; }
    }

    private static int CountRows(string file)
    {
        using var reader = new StreamReader(file);
        string first = reader.ReadLine() ?? "";
        var parts = first.Split(' ');
        // word2vec text starts with "rows dims"; a headerless file has one row per line.
        if (parts.Length == 2 && int.TryParse(parts[0], out int rows))
            return rows;
        int n = 1;
        while (reader.ReadLine() is not null)
            n++;
        return n;
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EmbedSharp.slnx")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("EmbedSharp.slnx not found above the test assembly");
    }
}
