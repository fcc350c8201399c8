using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Formats.Npy;
using EmbedSharp.Search;
using EmbedSharp.Search.Hnsw;
using EmbedSharp.Search.Ivf;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp index build|search</c>: nearest-neighbour indexes (exact, HNSW, IVF-Flat, IVF-PQ) over a vector file.</summary>
internal static class IndexCommand
{
    public static Command Create(IConsole console)
    {
        var cmd = new Command("index", "Build and search nearest-neighbour indexes (exact, HNSW, IVF-Flat, IVF-PQ).\n\nExamples:\n  embedsharp index build vectors.bin --type hnsw --m 16 --ef-construction 200 --out words.hnsw\n  embedsharp index search words.hnsw --word king --k 10\n  embedsharp index build base.npy --type ivfpq --nlist 1024 --pq 16 --out base.ivf\n  embedsharp index search base.ivf --queries q.npy --k 10 --nprobe 16 --out ids.npy --json");
        cmd.Subcommands.Add(Build(console));
        cmd.Subcommands.Add(SearchCommand(console));
        cmd.Subcommands.Add(PlotCommand(console));
        return cmd;
    }

    private static Command Build(IConsole console)
    {
        var file = CommonOptions.File("The vectors: any format we read, or a float32 .npy without words.");
        var type = new Option<string>("--type") { Description = "exact, hnsw, ivfflat or ivfpq.", DefaultValueFactory = _ => "hnsw" };
        var metric = new Option<string>("--metric") { Description = "cosine, dot or l2.", DefaultValueFactory = _ => "cosine" };
        var m = new Option<int>("--m") { Description = "HNSW links per node (layer 0 keeps 2M).", DefaultValueFactory = _ => 16 };
        var efc = new Option<int>("--ef-construction") { Description = "HNSW candidate list while inserting.", DefaultValueFactory = _ => 200 };
        var nlist = new Option<int>("--nlist") { Description = "IVF lists (k-means centroids).", DefaultValueFactory = _ => 1024 };
        var pq = new Option<int>("--pq") { Description = "IVF-PQ bytes per vector (sub-quantizers; must divide Dims).", DefaultValueFactory = _ => 16 };
        var rerank = new Option<int>("--rerank") { Description = "IVF-PQ: keep float32 vectors and re-score k × this many candidates (0: off).", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads") { Description = "Build threads (default: all cores).", DefaultValueFactory = _ => -1 };
        var output = new Option<string>("--out") { Description = "The index file to write.", Required = true };
        var json = CommonOptions.Json();
        var cmd = new Command("build", "Build an index from a vector file and save it (words go to INDEX.words).")
        {
            file, type, metric, m, efc, nlist, pq, rerank, threads, output, json,
        };
        cmd.SetAction(r => RunBuild(console, r.GetValue(file)!, r.GetValue(type)!, r.GetValue(metric)!, r.GetValue(m), r.GetValue(efc),
            r.GetValue(nlist), r.GetValue(pq), r.GetValue(rerank), r.GetValue(threads), r.GetValue(output)!, r.GetValue(json)));
        return cmd;
    }

    private static Command SearchCommand(IConsole console)
    {
        var index = new Argument<string>("index") { Description = "An index file written by `index build`." };
        var queries = new Option<string?>("--queries") { Description = "Queries as a float32 .npy [queries × Dims]." };
        var word = new Option<string?>("--word") { Description = "Query by a word of the index's words file." };
        var k = new Option<int>("--k") { Description = "Neighbours per query.", DefaultValueFactory = _ => 10 };
        var ef = new Option<int?>("--ef") { Description = "HNSW candidate list size (default: the index's)." };
        var nprobe = new Option<int?>("--nprobe") { Description = "IVF lists to visit (default: the index's)." };
        var threads = new Option<int>("--threads") { Description = "Search threads (default: all cores).", DefaultValueFactory = _ => -1 };
        var single = new Option<bool>("--single") { Description = "Send the queries one at a time instead of as one batch." };
        var output = new Option<string?>("--out") { Description = "Write the ids as an int32 .npy [queries × k], best first (−1 where fewer were found)." };
        var quantize = new Option<int?>("--quantize") { Description = "Exact indexes: scan MLX affine 4- or 8-bit codes of the rows (made at load) and re-rank k × --rerank-factor (default 4) on float32. HNSW: 8 walks layer 0 on int8 codes (made at load) and re-ranks the ef found on float32." };
        var rerankFactor = new Option<int>("--rerank-factor") { Description = "With --quantize: re-rank k × this many candidates on float32 (1–1024).", DefaultValueFactory = _ => 4 };
        var modulo = new Option<int?>("--filter-modulo") { Description = "Allow only ids divisible by N (an allow-list; N = 100 is 1 % selectivity)." };
        var warmup = new Option<bool>("--warmup") { Description = "Answer the queries untimed first (whole passes for at least a second), then time one more pass (steady state: optimised code, touched pages)." };
        var json = CommonOptions.Json();
        var cmd = new Command("search", "Search an index with a batch of query vectors or a word.")
        {
            index, queries, word, k, ef, nprobe, threads, single, output, modulo, quantize, rerankFactor, warmup, json,
        };
        cmd.SetAction(r => RunSearch(console, r.GetValue(index)!, r.GetValue(queries), r.GetValue(word), r.GetValue(k), r.GetValue(ef), r.GetValue(nprobe),
            r.GetValue(threads), r.GetValue(single), r.GetValue(output), r.GetValue(json), r.GetValue(modulo), r.GetValue(quantize), r.GetValue(warmup), r.GetValue(rerankFactor)));
        return cmd;
    }

    private static Command PlotCommand(IConsole console)
    {
        var input = new Argument<string>("points") { Description = "JSON lines with series, recall and qps (benchmarks/ann writes them)." };
        var output = new Option<string>("--out", "-o") { Description = "Picture to write: .png or .svg.", DefaultValueFactory = _ => "recall_qps.png" };
        var cmd = new Command("plot", "Draw recall@10 against queries/s, one curve per series.") { input, output };
        cmd.SetAction(r => RunPlot(console, r.GetValue(input)!, r.GetValue(output)!));
        return cmd;
    }

    public static int RunPlot(IConsole console, string path, string output)
    {
        const string op = "index plot";
        if (!File.Exists(path))
            throw new FileNotFoundException($"[{op}] no such file: {path}", path);
        var points = new Dictionary<string, List<(double Recall, double Qps)>>();
        int line = 0;
        foreach (string text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
                continue;
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(text);
                var e = doc.RootElement;
                string series = e.GetProperty("series").GetString() ?? "";
                if (!points.TryGetValue(series, out var list))
                    points[series] = list = [];
                list.Add((e.GetProperty("recall").GetDouble(), e.GetProperty("qps").GetDouble()));
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new InvalidDataException($"[{op}] {path} line {line}: expected {{\"series\": ..., \"recall\": ..., \"qps\": ...}} ({ex.Message})");
            }
        }
        if (points.Count == 0)
            throw new ArgumentException($"[{op}] {path} has no points");
        Plots.Curve(OutputPaths.Prepare(output), "recall@10 vs queries/s", "recall@10", "queries/s",
            points.Select(p =>
            {
                var sorted = p.Value.OrderBy(v => v.Recall).ToArray();
                return (p.Key, sorted.Select(v => v.Recall).ToArray(), sorted.Select(v => v.Qps).ToArray());
            }).ToList());
        new Renderer(console, false).Line($"wrote {output} ({points.Count} series)");
        return EmbedSharpCli.Ok;
    }

    private static SimilarityMetric ParseMetric(string op, string name) => name.ToLowerInvariant() switch
    {
        "cosine" => SimilarityMetric.Cosine,
        "dot" or "ip" => SimilarityMetric.Dot,
        "l2" => SimilarityMetric.L2,
        _ => throw new ArgumentException($"[{op}] --metric {name} is unknown; valid values are cosine, dot, l2"),
    };

    public static int RunBuild(IConsole console, string path, string type, string metricName, int m, int efc, int nlist, int pq, int rerank,
        int threads, string output, bool json)
    {
        const string op = "index build";
        var metric = ParseMetric(op, metricName);
        string kind = type.ToLowerInvariant();
        if (kind is not ("exact" or "hnsw" or "ivfflat" or "ivfpq"))
            throw new ArgumentException($"[{op}] --type {type} is unknown; valid values are exact, hnsw, ivfflat, ivfpq");
        output = OutputPaths.Prepare(output);
        using var vectors = VectorFile.Open(op, path);
        var table = vectors.Embeddings.Table;
        int dims = table.Dims, n = table.NumEmbeddings;
        var data = table.ToArray();
        var r = new Renderer(console, json);
        var clock = Stopwatch.StartNew();
        IVectorIndex index = r.Progress<IVectorIndex>($"building {kind} over {n:N0} × {dims}", report =>
        {
            var progress = new Progress<int>(done => report(n == 0 ? 1 : (double)done / n));
            switch (kind)
            {
                case "exact":
                {
                    var exact = new ExactIndex(dims, metric);
                    for (int i = 0; i < n; i++)
                    {
                        exact.Add(data.AsSpan(i * dims, dims));
                        if ((i & 4095) == 0)
                            report((double)i / n);
                    }
                    return exact;
                }
                case "hnsw":
                {
                    var hnsw = new HnswIndex(dims, metric, new HnswOptions { M = m, EfConstruction = efc });
                    hnsw.AddBatch(data, threads, progress);
                    return hnsw;
                }
                default:
                {
                    var options = new IvfOptions { NList = Math.Min(nlist, Math.Max(1, n)), PqM = kind == "ivfpq" ? pq : 0, RerankFactor = kind == "ivfpq" ? rerank : 0 };
                    var ivf = IvfIndex.Train(data, dims, metric, options, threads);
                    report(0.3);
                    ivf.AddBatch(data, threads, new Progress<int>(done => report(0.3 + 0.7 * done / Math.Max(1, n))));
                    return ivf;
                }
            }
        });
        double buildSeconds = clock.Elapsed.TotalSeconds;
        IndexFile.Save(index, output);
        if (vectors.Embeddings.Words is { } words)
            File.WriteAllLines(IndexFile.WordsPath(output), words, new UTF8Encoding(false));
        long bytes = new FileInfo(output).Length;
        if (json)
        {
            r.JsonLine(new Dictionary<string, object?> { ["type"] = kind, ["vectors"] = n, ["dims"] = dims, ["seconds"] = buildSeconds, ["bytes"] = bytes });
        }
        else
        {
            r.Line(string.Create(CultureInfo.InvariantCulture, $"{kind} index over {n:N0} × {dims} ({metric}) built in {buildSeconds:0.0} s, written to {output} ({bytes / 1e6:0.0} MB)"));
        }
        (index as IDisposable)?.Dispose();
        return EmbedSharpCli.Ok;
    }

    public static int RunSearch(IConsole console, string path, string? queriesPath, string? word, int k, int? ef, int? nprobe, int threads, bool single,
        string? output, bool json, int? filterModulo = null, int? quantizeBits = null, bool warmup = false, int rerankFactor = 4)
    {
        const string op = "index search";
        if (rerankFactor is < 1 or > 1024)
            throw new ArgumentOutOfRangeException(nameof(rerankFactor), rerankFactor, $"[{op}] --rerank-factor must be in 1..1024");
        if (k < 1)
            throw new ArgumentOutOfRangeException(nameof(k), k, $"[{op}] --k must be ≥ 1");
        if ((queriesPath is null) == (word is null))
            throw new ArgumentException($"[{op}] give exactly one of --queries Q.npy or --word WORD");
        var index = IndexFile.Open(path);
        try
        {
            if (ef is int e)
            {
                if (index is not HnswIndex h)
                    throw new ArgumentException($"[{op}] --ef applies to HNSW indexes; {path} is {Kind(index)}");
                h.EfSearch = e > 0 ? e : throw new ArgumentOutOfRangeException(nameof(ef), e, $"[{op}] --ef must be ≥ 1");
            }
            if (nprobe is int p)
            {
                if (index is not IvfIndex ivf)
                    throw new ArgumentException($"[{op}] --nprobe applies to IVF indexes; {path} is {Kind(index)}");
                ivf.NProbe = p > 0 ? p : throw new ArgumentOutOfRangeException(nameof(nprobe), p, $"[{op}] --nprobe must be ≥ 1");
            }
            if (quantizeBits is int bits)
            {
                if (index is HnswIndex graph)
                {
                    if (bits != 8)
                        throw new ArgumentOutOfRangeException(nameof(quantizeBits), bits, $"[{op}] --quantize {bits} is not supported for HNSW; valid values are 8");
                    graph.EnableInt8Traversal();
                }
                else
                {
                    if (index is not ExactIndex exact)
                        throw new ArgumentException($"[{op}] --quantize applies to exact and HNSW indexes; {path} is {Kind(index)}");
                    if (bits is not (4 or 8))
                        throw new ArgumentOutOfRangeException(nameof(quantizeBits), bits, $"[{op}] --quantize {bits} is not supported; valid values are 4, 8");
                    index = exact.ToQuantized(bits, groupSize: exact.Dims % 64 == 0 ? 64 : 32, rerankFactor: rerankFactor);
                    exact.Dispose();
                }
            }
            var r = new Renderer(console, json);
            if (word is not null)
                return SearchWord(console, index, path, word, k, json);
            using var queries = NpyFormat.Instance.Read(queriesPath!);
            if (queries.Dims != index.Dims)
                throw new ArgumentException($"[{op}] {queriesPath} has {queries.Dims}-long queries but the index holds {index.Dims}-long vectors");
            var q = queries.Table.ToArray();
            int m = queries.NumEmbeddings;
            SearchFilter? filter = null;
            if (filterModulo is int every)
            {
                if (every < 1)
                    throw new ArgumentOutOfRangeException(nameof(filterModulo), every, $"[{op}] --filter-modulo must be ≥ 1");
                var allowed = new List<int>();
                for (int id = 0; id < index.NumEmbeddings; id += every)
                    allowed.Add(id);
                filter = SearchFilter.Allow(allowed.ToArray());
            }
            Neighbor[][] Answer()
            {
                if (!single)
                    return index.SearchBatch(q, k, filter, threads);
                var answers = new Neighbor[m][];
                for (int i = 0; i < m; i++)
                    answers[i] = index is ExactIndex x ? x.Search(q.AsSpan(i * index.Dims, index.Dims), k, filter, threads) : index.Search(q.AsSpan(i * index.Dims, index.Dims), k, filter);
                return answers;
            }
            if (warmup)
            {
                // Whole passes until a second has gone by (at least one): long enough for the runtime to have
                // recompiled the hot methods optimised, which a single fast pass of a few milliseconds is not.
                var warm = Stopwatch.StartNew();
                do
                    Answer();
                while (warm.Elapsed.TotalSeconds < 1.0);
            }
            var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            var results = Answer();
            double seconds = clock.Elapsed.TotalSeconds;
            double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
            if (output is not null)
                WriteIds(OutputPaths.Prepare(output), results, k);
            if (json)
            {
                r.JsonLine(new Dictionary<string, object?> { ["queries"] = m, ["k"] = k, ["seconds"] = seconds, ["qps"] = m / Math.Max(seconds, 1e-9), ["cpu_seconds"] = cpuSeconds, ["threads"] = threads, ["mode"] = single ? "single" : "batch", ["warmup"] = warmup });
            }
            else
            {
                r.Line(string.Create(CultureInfo.InvariantCulture, $"{m:N0} queries, k = {k}, {seconds:0.000} s, {m / Math.Max(seconds, 1e-9):N0} queries/s{(output is null ? "" : $"; ids written to {output}")}"));
            }
            return EmbedSharpCli.Ok;
        }
        finally
        {
            (index as IDisposable)?.Dispose();
        }
    }

    private static string Kind(IVectorIndex index) => index switch
    {
        HnswIndex => "an HNSW index",
        IvfIndex => "an IVF index",
        _ => "an exact index",
    };

    private static int SearchWord(IConsole console, IVectorIndex index, string path, string word, int k, bool json)
    {
        const string op = "index search";
        string wordsPath = IndexFile.WordsPath(path);
        if (!File.Exists(wordsPath))
            throw new ArgumentException($"[{op}] {path} has no words file ({wordsPath}); it was built from vectors without words, so query it with --queries");
        var words = File.ReadAllLines(wordsPath, Encoding.UTF8);
        int id = Array.IndexOf(words, word);
        var v = new float[index.Dims];
        if (id < 0 || !IndexFile.TryGetVector(index, id, v))
            throw new ArgumentException($"[{op}] '{word}' is not in {wordsPath} ({words.Length:N0} words)");
        var hits = index.Search(v, k + 1).Where(h => h.Index != id).Take(k).ToList();
        var named = hits.Select(h => new WordSimilarity(h.Index < words.Length ? words[h.Index] : h.Index.ToString(CultureInfo.InvariantCulture), h.Score)).ToList();
        NeighborsCommand.Print(console, json, named);
        return EmbedSharpCli.Ok;
    }

    /// <summary>Writes ids as a C-order int32 .npy [queries × k], −1 where a query found fewer than k.</summary>
    internal static void WriteIds(string path, Neighbor[][] results, int k)
    {
        string dict = $"{{'descr': '<i4', 'fortran_order': False, 'shape': ({results.Length}, {k}), }}";
        int headerLength = 10 + dict.Length + 1;
        int padded = (headerLength + 63) / 64 * 64;
        var header = new byte[padded];
        byte[] magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];
        magic.CopyTo(header, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)(padded - 10));
        Encoding.ASCII.GetBytes(dict.PadRight(padded - 11)).CopyTo(header, 10);
        header[^1] = (byte)'\n';
        var ids = new int[results.Length * k];
        Array.Fill(ids, -1);
        for (int i = 0; i < results.Length; i++)
            for (int j = 0; j < results[i].Length && j < k; j++)
                ids[i * k + j] = results[i][j].Index;
        string temp = path + ".tmp";
        using (var f = File.Create(temp))
        {
            f.Write(header);
            f.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ids.AsSpan()));
        }
        File.Move(temp, path, overwrite: true);
    }
}
