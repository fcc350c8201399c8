using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace EmbedSharp.Web.Tests;

public sealed class ApiTests(ExplorerFactory factory) : IClassFixture<ExplorerFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    private const string T = "planted.txt";

    private async Task<JsonElement> Ok(string url)
    {
        var response = await _client.GetAsync(url);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {body}");
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString());
        return JsonDocument.Parse(body).RootElement;
    }

    /// <summary>Asserts the status and a one-line <c>{"error": "[op] ..."}</c> without a stack trace; returns the message.</summary>
    internal static async Task<string> Error(HttpResponseMessage response, HttpStatusCode status, string op)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        var message = JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;
        Assert.StartsWith($"[{op}] ", message);
        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain(" at EmbedSharp", body);
        Assert.DoesNotContain("Exception", body);
        return message;
    }

    private async Task<string> Bad(string url, string op) => await Error(await _client.GetAsync(url), HttpStatusCode.BadRequest, op);

    private static string[] Words(JsonElement list) => [.. list.EnumerateArray().Select(n => n.GetProperty("word").GetString()!)];

    [Fact]
    public async Task Tables_ListsTheNamedTable_AndOnlyFilesInsideTheRoot()
    {
        var json = await Ok("/api/tables");
        var table = json.GetProperty("tables").EnumerateArray().Single();
        Assert.Equal(T, table.GetProperty("name").GetString());
        Assert.Equal(90, table.GetProperty("numEmbeddings").GetInt32());
        Assert.Equal(TestTables.Dims, table.GetProperty("dims").GetInt32());
        Assert.Equal("float32", table.GetProperty("dtype").GetString());
        var available = json.GetProperty("available").EnumerateArray().Select(e => e.GetString()).ToArray();
        Assert.Contains("sub/small.txt", available);
        Assert.Contains("link-in.txt", available);
        Assert.DoesNotContain("link-out.txt", available);
        Assert.DoesNotContain(available, a => a!.StartsWith("dir-out", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TableFacts_HaveTheShape_ANormHistogram_AndBothQuantizationReports()
    {
        var json = await Ok($"/api/tables?table={T}");
        Assert.Equal(90, json.GetProperty("table").GetProperty("numEmbeddings").GetInt32());
        Assert.Equal(90L * TestTables.Dims * 4, json.GetProperty("bytes").GetInt64());
        var norms = json.GetProperty("norms");
        Assert.Equal(90, norms.GetProperty("counts").EnumerateArray().Sum(c => c.GetInt32()));
        Assert.True(norms.GetProperty("max").GetDouble() > norms.GetProperty("min").GetDouble());
        var reports = json.GetProperty("quantization").EnumerateArray().ToArray();
        Assert.Equal([8, 4], reports.Select(r => r.GetProperty("bits").GetInt32()));
        Assert.All(reports, r => Assert.Contains("MLX affine", r.GetProperty("scheme").GetString()));
        Assert.True(reports[0].GetProperty("meanCosine").GetDouble() > reports[1].GetProperty("meanCosine").GetDouble());
        Assert.True(reports[1].GetProperty("compressionRatio").GetDouble() > reports[0].GetProperty("compressionRatio").GetDouble());
        Assert.Equal("apple", json.GetProperty("firstWords")[0].GetString());
    }

    [Fact]
    public async Task Neighbors_OfAPlantedWord_AreItsClusterMates_HighestFirst()
    {
        var json = await Ok($"/api/neighbors?table={T}&word=cherry&k=7");
        var words = Words(json.GetProperty("neighbors"));
        Assert.Equal(7, words.Length);
        Assert.All(words, w => Assert.Contains(w, TestTables.Fruits));
        Assert.DoesNotContain("cherry", words);
        var scores = json.GetProperty("neighbors").EnumerateArray().Select(n => n.GetProperty("score").GetDouble()).ToArray();
        Assert.Equal(scores.OrderDescending(), scores);
        Assert.False(json.GetProperty("subword").GetBoolean());
    }

    [Theory]
    [InlineData("k=0")]
    [InlineData("k=101")]
    [InlineData("k=abc")]
    [InlineData("k=1e3")]
    [InlineData("k=-5")]
    [InlineData("k=+5")]
    [InlineData("k=99999999999999999999")]
    public async Task Neighbors_RefusesABadK(string k)
    {
        string message = await Bad($"/api/neighbors?table={T}&word=cat&{k}", "neighbors");
        Assert.Contains("1..100", message);
    }

    [Fact]
    public async Task Neighbors_RefusesMissingUnknownRepeatedAndOverlongParameters()
    {
        Assert.Contains("'word' is required", await Bad($"/api/neighbors?table={T}", "neighbors"));
        Assert.Contains("'table' is required", await Bad("/api/neighbors?word=cat", "neighbors"));
        Assert.Contains("not in the vocabulary", await Bad($"/api/neighbors?table={T}&word=zebra", "neighbors"));
        Assert.Contains("unknown parameter 'kk'", await Bad($"/api/neighbors?table={T}&word=cat&kk=3", "neighbors"));
        Assert.Contains("given 2 times", await Bad($"/api/neighbors?table={T}&word=cat&word=dog", "neighbors"));
        Assert.Contains("limit is 200", await Bad($"/api/neighbors?table={T}&word={new string('a', 300)}", "neighbors"));
        Assert.Contains("no table 'nope.txt'", await Bad("/api/neighbors?table=nope.txt&word=cat", "neighbors"));
    }

    [Fact]
    public async Task Analogy_KingMinusManPlusWoman_IsQueen()
    {
        var json = await Ok($"/api/analogy?table={T}&a=king&b=man&c=woman&k=3");
        Assert.Equal("queen", Words(json.GetProperty("results"))[0]);
        Assert.Contains("not in the vocabulary", await Bad($"/api/analogy?table={T}&a=king&b=man&c=zebra", "analogy"));
        Assert.Contains("'c' is required", await Bad($"/api/analogy?table={T}&a=king&b=man", "analogy"));
        Assert.Contains("1..100", await Bad($"/api/analogy?table={T}&a=king&b=man&c=woman&k=0", "analogy"));
    }

    [Fact]
    public async Task Compare_GivesFloat32And8And4Bit_WithOverlap()
    {
        var json = await Ok($"/api/compare?table={T}&word=tiger&k=7");
        var exact = Words(json.GetProperty("float32"));
        Assert.All(exact, w => Assert.Contains(w, TestTables.Animals));
        var forms = json.GetProperty("quantized").EnumerateArray().ToArray();
        Assert.Equal([8, 4], forms.Select(f => f.GetProperty("bits").GetInt32()));
        foreach (var f in forms)
        {
            var words = Words(f.GetProperty("neighbors"));
            double expected = (double)words.Count(exact.Contains) / exact.Length;
            Assert.Equal(expected, f.GetProperty("overlap").GetDouble(), 12);
            Assert.Equal("MLX affine, " + f.GetProperty("bits").GetInt32() + "-bit, group size 64", f.GetProperty("scheme").GetString());
        }
        // Planted clusters are far apart: 8-bit keeps the same set of neighbours.
        Assert.Equal(1.0, forms[0].GetProperty("overlap").GetDouble());
        Assert.Contains("not in the vocabulary", await Bad($"/api/compare?table={T}&word=zebra", "compare"));
        Assert.Contains("1..100", await Bad($"/api/compare?table={T}&word=cat&k=1000", "compare"));
    }

    [Fact]
    public async Task Complete_FindsWordsByPrefix_CaseInsensitive_Bounded()
    {
        var json = await Ok($"/api/complete?table={T}&prefix=PR");
        Assert.Equal(["prince", "princess"], json.GetProperty("words").EnumerateArray().Select(w => w.GetString()));
        json = await Ok($"/api/complete?table={T}&prefix=word&limit=3");
        Assert.Equal(["word00", "word01", "word02"], json.GetProperty("words").EnumerateArray().Select(w => w.GetString()));
        Assert.Empty((await Ok($"/api/complete?table={T}&prefix=zzz")).GetProperty("words").EnumerateArray());
        Assert.Contains("1..50", await Bad($"/api/complete?table={T}&prefix=a&limit=51", "complete"));
        Assert.Contains("'prefix' is required", await Bad($"/api/complete?table={T}", "complete"));
    }

    [Fact]
    public async Task Projection_Pca_OfTheFirstRows_AndTsne_OfAWordsNeighbourhood()
    {
        var json = await Ok($"/api/projection?table={T}&n=24");
        var points = json.GetProperty("points").EnumerateArray().ToArray();
        Assert.Equal(24, points.Length);
        Assert.Equal("apple", points[0].GetProperty("word").GetString());
        Assert.Equal("pca", json.GetProperty("method").GetString());
        // PCA separates the three planted clusters along its two axes: no fruit sits nearer an animal than its own centre.
        json = await Ok($"/api/projection?table={T}&method=tsne&n=30&word=cat&perplexity=5");
        points = json.GetProperty("points").EnumerateArray().ToArray();
        Assert.Equal(30, points.Length);
        Assert.Equal("cat", points[0].GetProperty("word").GetString());
        Assert.All(points, p => Assert.True(double.IsFinite(p.GetProperty("x").GetDouble())));
    }

    [Fact]
    public async Task Projection_StreamsProgress_ThenTheResult()
    {
        var response = await _client.GetAsync($"/api/projection?table={T}&method=tsne&n=60&progress=true");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("application/x-ndjson", response.Content.Headers.ContentType?.ToString());
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var progress = lines[..^1].Select(l => JsonDocument.Parse(l).RootElement.GetProperty("progress").GetDouble()).ToArray();
        Assert.NotEmpty(progress);
        Assert.Equal(progress.Order(), progress);
        Assert.Equal(1.0, progress[^1]);
        Assert.Equal(60, JsonDocument.Parse(lines[^1]).RootElement.GetProperty("points").GetArrayLength());
    }

    [Theory]
    [InlineData("n=5001", "2..5000")]
    [InlineData("n=1", "2..5000")]
    [InlineData("method=umap", "pca, tsne")]
    [InlineData("perplexity=0.5", "2..100")]
    [InlineData("perplexity=NaN", "2..100")]
    [InlineData("progress=yes", "true, false")]
    [InlineData("word=zebra", "not in the vocabulary")]
    public async Task Projection_RefusesBadParameters(string parameter, string expected)
    {
        Assert.Contains(expected, await Bad($"/api/projection?table={T}&{parameter}", "projection"));
    }

    [Theory]
    [InlineData("../outside/secret.txt", "leaves")]
    [InlineData("sub/../planted.txt", "leaves")]
    [InlineData("./planted.txt", "leaves")]
    [InlineData("sub//small.txt", "leaves")]
    [InlineData("%2Fetc%2Fpasswd", "absolute")]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("~/x", "absolute")]
    [InlineData("sub%5Csmall.txt", "backslash")]
    [InlineData("sub%00small.txt", "control character")]
    [InlineData("link-out.txt", "symbolic link out of the served root")]
    [InlineData("dir-out/secret.txt", "symbolic link out of the served root")]
    [InlineData("missing.txt", "no table 'missing.txt'")]
    public async Task PathEscapes_AreRefused(string name, string expected)
    {
        string message = await Bad($"/api/neighbors?table={name}&word=secret", "neighbors");
        Assert.Contains(expected, message);
        Assert.DoesNotContain(factory.Tables.Dir, message); // the server's own paths never go out
    }

    [Fact]
    public async Task TheRootItself_IsNeverAbsolute_ButFilesUnderIt_AndLinksInside_Open()
    {
        var json = await Ok("/api/neighbors?table=sub/small.txt&word=x&k=2");
        Assert.Equal(2, json.GetProperty("neighbors").GetArrayLength());
        json = await Ok("/api/neighbors?table=link-in.txt&word=y&k=1");
        Assert.Equal(1, json.GetProperty("neighbors").GetArrayLength());
        // The absolute path of a real file under the root is still refused: names are relative.
        Assert.Contains("absolute", await Bad($"/api/neighbors?table={Uri.EscapeDataString(factory.Tables.Table)}&word=cat", "neighbors"));
    }

    [Fact]
    public async Task OversizedRequests_AreRefused()
    {
        Assert.Contains("query string", await Bad($"/api/neighbors?table={T}&word=cat&pad={new string('x', 3000)}", "api"));
        using var body = new ByteArrayContent(new byte[1 << 20]);
        var response = await _client.PostAsync($"/api/neighbors?table={T}&word=cat", body);
        Assert.Contains("request body", await Error(response, HttpStatusCode.RequestEntityTooLarge, "api"));
    }

    [Fact]
    public async Task UnknownRoutesAndMethods_Get404InTheApisShape()
    {
        Assert.Contains("no route GET /api/nothing", await Error(await _client.GetAsync("/api/nothing"), HttpStatusCode.NotFound, "api"));
        var post = await _client.PostAsync($"/api/neighbors?table={T}&word=cat", null);
        Assert.Contains("no route POST", await Error(post, HttpStatusCode.NotFound, "api"));
    }

    [Fact]
    public async Task ThePage_IsServedWithItsScriptAndStyle_UnderAStrictPolicy()
    {
        var page = await _client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<canvas id=\"map\"", html);
        Assert.Contains("api/neighbors", await _client.GetStringAsync("/app.js"));
        Assert.Contains("#map", await _client.GetStringAsync("/app.css"));
    }
}
