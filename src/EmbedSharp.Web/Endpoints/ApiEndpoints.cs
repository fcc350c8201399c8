using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using EmbedSharp.Numerics;
using EmbedSharp.Search;
using EmbedSharp.Web.Catalog;
using EmbedSharp.Web.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace EmbedSharp.Web.Endpoints;

/// <summary>The JSON API: each handler reads its parameters, makes one library call and maps the result to a DTO.</summary>
internal static class ApiEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/api/tables", (HttpContext ctx) => Tables(ctx, Catalog(ctx)));
        app.MapGet("/api/complete", (HttpContext ctx) => Complete(ctx, Catalog(ctx)));
        app.MapGet("/api/neighbors", (HttpContext ctx) => Neighbors(ctx, Catalog(ctx)));
        app.MapGet("/api/analogy", (HttpContext ctx) => Analogy(ctx, Catalog(ctx)));
        app.MapGet("/api/compare", (HttpContext ctx) => Compare(ctx, Catalog(ctx)));
        app.MapGet("/api/projection", (HttpContext ctx) => Projection(ctx, Catalog(ctx)));
        // Anything else under /api is a 404 in the API's own shape, not the page.
        app.Map("/api/{**rest}", (HttpContext ctx) => throw new ApiException(StatusCodes.Status404NotFound,
            $"[api] no route {ctx.Request.Method} {ctx.Request.Path}; routes: /api/tables, /api/complete, /api/neighbors, /api/analogy, /api/compare, /api/projection (GET)"));
    }

    private static TableCatalog Catalog(HttpContext ctx) => ctx.RequestServices.GetRequiredService<TableCatalog>();

    private static ExplorerOptions Options(HttpContext ctx) => ctx.RequestServices.GetRequiredService<ExplorerOptions>();

    private static Task Write<T>(HttpContext ctx, T value, JsonTypeInfo<T> type) => ctx.Response.WriteAsJsonAsync(value, type, "application/json; charset=utf-8");

    private static TableSummaryDto Summary(ExplorerTable t) =>
        new(t.Name, t.Format, t.Keyed.Count, t.Keyed.Dims, t.Keyed.Table.DType.ToString().ToLowerInvariant(), t.File?.Model is not null,
            t.Stored, t.IndexDescription ?? ExactSearch);

    /// <summary>How a table without an index file answers neighbours.</summary>
    private const string ExactSearch = "exact: cosine over every row (concurrent requests share one batched pass)";

    private static IReadOnlyList<NeighborDto> Dtos(IEnumerable<WordSimilarity> result) => [.. result.Select(s => new NeighborDto(s.Word, s.Similarity))];

    private static Task Tables(HttpContext ctx, TableCatalog catalog)
    {
        var q = new Query(ctx, "tables").Allow("table");
        if (q.Optional("table") is null)
        {
            var tables = catalog.Loaded.Select(n => Summary(catalog.Get("tables", n))).ToArray();
            return Write(ctx, new TablesDto(tables, catalog.Available), WebJsonContext.Api.TablesDto);
        }
        var t = q.Table(catalog);
        var (min, max, counts) = t.Norms;
        var reports = new List<QuantizationReportDto>();
        foreach (int bits in new[] { 8, 4 })
        {
            try
            {
                reports.Add(Report(t.Quantized(bits)));
            }
            catch (ArgumentException)
            {
                // A row length no scheme takes at this width: the facts leave that width out.
            }
        }
        var facts = new TableFactsDto(Summary(t), t.Keyed.Table.ByteLength, [.. t.Keyed.Words.Take(20)], new HistogramDto(min, max, counts), reports);
        return Write(ctx, facts, WebJsonContext.Api.TableFactsDto);
    }

    private static QuantizationReportDto Report(QuantizedForm q) => new(q.Scheme, q.Bits, q.Report.BytesBefore, q.Report.BytesAfter,
        q.Report.CompressionRatio, q.Report.MaxAbsError, q.Report.RmsError, q.Report.MeanCosine, q.Report.MinCosine);

    private static Task Complete(HttpContext ctx, TableCatalog catalog)
    {
        var q = new Query(ctx, "complete").Allow("table", "prefix", "limit");
        var t = q.Table(catalog);
        string prefix = q.Text("prefix");
        int limit = q.Int("limit", 10, 1, 50);
        var words = t.SortedWords;
        // First word not before the prefix (case-insensitive), then the run that starts with it.
        int lo = 0, hi = words.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (string.Compare(words[mid], prefix, StringComparison.OrdinalIgnoreCase) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        var found = new List<string>();
        for (int i = lo; i < words.Length && found.Count < limit && words[i].StartsWith(prefix, StringComparison.OrdinalIgnoreCase); i++)
            found.Add(words[i]);
        return Write(ctx, new CompletionDto(prefix, found), WebJsonContext.Api.CompletionDto);
    }

    private static async Task Neighbors(HttpContext ctx, TableCatalog catalog)
    {
        var q = new Query(ctx, "neighbors").Allow("table", "word", "k");
        var t = q.Table(catalog);
        string word = q.Text("word");
        int k = q.Int("k", 10, 1, Options(ctx).MaxK);
        WordSimilarity[] result;
        bool subword = false;
        var metrics = ServeMetrics.Active;
        long started = metrics?.RequestStarted(t.Exact) ?? 0;
        bool cached = false;
        if (t.Keyed.Contains(word))
        {
            var pending = t.NeighboursAsync(word, k);
            cached = pending.IsCompleted;
            result = await pending;
        }
        else
        {
            var v = new float[t.Keyed.Dims];
            if (t.File is null || !t.File.TryGetWordVector(word, v))
                throw ApiException.BadRequest(q.Op, $"'{word}' is not in the vocabulary of {t.Name} ({t.Keyed.Count:N0} words) and the format has no subwords to build it from");
            result = await t.SimilarByVectorAsync(v, k);
            subword = true;
        }
        await Write(ctx, new NeighborsDto(t.Name, word, k, subword, t.Approximate, t.IndexDescription ?? ExactSearch, Dtos(result)), WebJsonContext.Api.NeighborsDto);
        metrics?.RequestEnded(started, cached);
    }

    private static Task Analogy(HttpContext ctx, TableCatalog catalog)
    {
        var q = new Query(ctx, "analogy").Allow("table", "a", "b", "c", "k");
        var t = q.Table(catalog);
        string a = q.Text("a"), b = q.Text("b"), c = q.Text("c");
        int k = q.Int("k", 10, 1, Options(ctx).MaxK);
        foreach (var w in new[] { a, b, c })
            if (!t.Keyed.Contains(w))
                throw ApiException.BadRequest(q.Op, $"'{w}' is not in the vocabulary of {t.Name}; analogies use vocabulary words");
        // a − b + c (king − man + woman): gensim's most_similar(positive=[a, c], negative=[b]).
        var result = t.Keyed.MostSimilar([a, c], [b], k);
        return Write(ctx, new AnalogyDto(t.Name, a, b, c, k, Dtos(result)), WebJsonContext.Api.AnalogyDto);
    }

    private static async Task Compare(HttpContext ctx, TableCatalog catalog)
    {
        var q = new Query(ctx, "compare").Allow("table", "word", "k");
        var t = q.Table(catalog);
        string word = q.Text("word");
        int k = q.Int("k", 10, 1, Options(ctx).MaxK);
        if (!t.Keyed.Contains(word))
            throw ApiException.BadRequest(q.Op, $"'{word}' is not in the vocabulary of {t.Name}; the comparison uses vocabulary words");
        var exact = await t.NeighboursAsync(word, k);
        var exactWords = exact.Select(s => s.Word).ToHashSet(StringComparer.Ordinal);
        var forms = new List<QuantizedNeighborsDto>();
        foreach (int bits in new[] { 8, 4 })
        {
            var form = t.Quantized(bits);
            var result = form.Keyed.MostSimilar(word, k);
            double overlap = exact.Length == 0 ? 1 : (double)result.Count(s => exactWords.Contains(s.Word)) / exact.Length;
            forms.Add(new QuantizedNeighborsDto(bits, form.Scheme, overlap, Dtos(result), Report(form)));
        }
        await Write(ctx, new CompareDto(t.Name, word, k, Dtos(exact), forms), WebJsonContext.Api.CompareDto);
    }

    private static async Task Projection(HttpContext ctx, TableCatalog catalog)
    {
        var q = new Query(ctx, "projection").Allow("table", "method", "n", "word", "perplexity", "progress");
        var t = q.Table(catalog);
        string method = q.Choice("method", "pca", "pca", "tsne");
        int n = q.Int("n", 1000, 2, Options(ctx).MaxPoints);
        string? word = q.Optional("word") is null ? null : q.Text("word");
        double perplexity = q.Double("perplexity", 30, 2, 100);
        bool progress = q.Flag("progress");

        // The subset: the word and its nearest neighbours, or the first n rows (the most frequent
        // words in word2vec, GloVe and fastText files). Only these n points ever leave the server.
        string[] words;
        if (word is not null)
        {
            if (!t.Keyed.Contains(word))
                throw ApiException.BadRequest(q.Op, $"'{word}' is not in the vocabulary of {t.Name}");
            words = [word, .. (await t.NeighboursAsync(word, Math.Min(n, t.Keyed.Count) - 1)).Select(s => s.Word)];
        }
        else
        {
            words = [.. t.Keyed.Words.Take(n)];
        }
        int dims = t.Keyed.Dims;
        var data = new float[words.Length * dims];
        for (int i = 0; i < words.Length; i++)
            t.Keyed.GetVector(words[i], normalized: true).CopyTo(data.AsSpan(i * dims, dims));

        var token = ctx.RequestAborted;
        ctx.Response.ContentType = progress ? "application/x-ndjson; charset=utf-8" : "application/json; charset=utf-8";
        var reports = progress ? new ProgressLines(ctx) : null;
        var clock = Stopwatch.StartNew();
        var layout = new float[words.Length * 2];
        if (method == "pca")
        {
            if (words.Length > 0)
                await Task.Run(() => Kernels.Pca(data, words.Length, dims, 2, layout), token);
        }
        else
        {
            // openTSNE's schedule (exaggeration 12 for 250 iterations, momentum 0.5 then 0.8, its learning rate)
            // with 250 iterations after the exaggeration instead of 500: the map a person reads is settled by
            // then (benchmarks/README.md has the trustworthiness of both), and it answers twice as fast.
            var options = new TsneOptions { Perplexity = perplexity, Iterations = TsneIterations, ExaggerationIterations = 250, CancellationToken = token, Progress = reports };
            try
            {
                await Task.Run(() => Kernels.Tsne(data, words.Length, dims, layout, options), token);
            }
            catch (Exception ex) when (reports is not null && ctx.Response.HasStarted && !ctx.RequestServices.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested)
            {
                // Progress lines have gone out, so the status is 200 already: end the stream with the error line.
                await reports.Finish();
                string message = ex is OperationCanceledException ? "[projection] t-SNE took too long and was stopped; ask for fewer points" : "[projection] t-SNE failed; the server log has the details";
                await JsonSerializer.SerializeAsync(ctx.Response.Body, new ErrorDto(message), WebJsonContext.Api.ErrorDto, CancellationToken.None);
                await ctx.Response.Body.WriteAsync("\n"u8.ToArray(), CancellationToken.None);
                return;
            }
        }
        var points = words.Select((w, i) => new PointDto(w, layout[2 * i], layout[2 * i + 1])).ToArray();
        var result = new ProjectionDto(t.Name, method, word, words.Length, clock.Elapsed.TotalSeconds, points);
        if (reports is null)
        {
            await Write(ctx, result, WebJsonContext.Api.ProjectionDto);
            return;
        }
        await reports.Finish();
        await JsonSerializer.SerializeAsync(ctx.Response.Body, result, WebJsonContext.Api.ProjectionDto, token);
        await ctx.Response.Body.WriteAsync("\n"u8.ToArray(), token);
    }

    /// <summary>t-SNE iterations of a projection, the 250 exaggerated ones included.</summary>
    internal const int TsneIterations = 500;

    /// <summary>Writes t-SNE's progress as NDJSON lines <c>{"stage":"tsne","progress":0.25}</c> while it runs.</summary>
    private sealed class ProgressLines(HttpContext ctx) : IProgress<TsneProgress>
    {
        private Task _last = Task.CompletedTask;
        private readonly object _gate = new();

        public void Report(TsneProgress value)
        {
            var line = JsonSerializer.SerializeToUtf8Bytes(new ProgressDto("tsne", (double)value.Iteration / value.Iterations), WebJsonContext.Api.ProgressDto);
            lock (_gate)
                _last = _last.ContinueWith(async _ =>
                {
                    await ctx.Response.Body.WriteAsync(line);
                    await ctx.Response.Body.WriteAsync("\n"u8.ToArray());
                    await ctx.Response.Body.FlushAsync();
                }).Unwrap();
        }

        public Task Finish()
        {
            lock (_gate)
                return _last;
        }
    }
}
