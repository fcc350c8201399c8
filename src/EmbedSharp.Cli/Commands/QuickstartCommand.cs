using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using EmbedSharp.Cli.Output;
using EmbedSharp.Formats;
using EmbedSharp.Formats.Safetensors;
using EmbedSharp.Formats.Word2Vec;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Search;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Word2Vec;

namespace EmbedSharp.Cli.Commands;

/// <summary>
/// <c>embedsharp quickstart</c>: the main job end to end on the corpus shipped in
/// <c>data/quickstart</c> — train word2vec, evaluate, quantize to 8 and 4 bits and compare, show
/// neighbours, write the tables and two pictures, and say where everything went.
/// </summary>
internal static class QuickstartCommand
{
    public static Command Create(IConsole console)
    {
        var output = new Option<string>("--out", "-o") { Description = "Folder for the tables and pictures.", DefaultValueFactory = _ => "quickstart-out" };
        var data = new Option<string?>("--data") { Description = "Folder holding corpus.txt.gz, questions-words.txt and wordsim353.tsv (default: the repository's data/quickstart)." };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 5 };
        var dims = new Option<int>("--dims") { Description = "Vector size (a multiple of 32, as MLX quantization needs).", DefaultValueFactory = _ => 128 };
        var threads = new Option<int>("--threads") { Description = "Training threads (default: this machine's core count).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var seed = new Option<ulong>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 1 };
        var cmd = new Command("quickstart", "Train word vectors on the shipped public-domain corpus, evaluate them, quantize to 8 and 4 bits, and write tables and pictures.\n\nExamples:\n  embedsharp quickstart\n  embedsharp quickstart --out /tmp/qs --epochs 5 --threads 2")
        {
            output, data, epochs, dims, threads, seed,
        };
        cmd.SetAction((r, ct) => Task.FromResult(Run(console, r.GetValue(output)!, r.GetValue(data), r.GetValue(epochs), r.GetValue(dims), r.GetValue(threads), r.GetValue(seed), ct)));
        return cmd;
    }

    private static readonly string[] ProbeWords = ["king", "love", "london", "sister", "money"];

    public static int Run(IConsole console, string outDir, string? dataDir, int epochs, int dims, int threads, ulong seed, CancellationToken cancellationToken)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "[quickstart] --epochs must be ≥ 1");
        if (dims < 1) throw new ArgumentOutOfRangeException(nameof(dims), dims, "[quickstart] --dims must be ≥ 1");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "[quickstart] --threads must be ≥ 1");
        dataDir ??= FindData();
        string corpusPath = Path.Combine(dataDir, "corpus.txt.gz");
        string analogies = Path.Combine(dataDir, "questions-words.txt");
        string pairs = Path.Combine(dataDir, "wordsim353.tsv");
        foreach (string f in new[] { corpusPath, analogies, pairs })
        {
            if (!File.Exists(f))
                throw new FileNotFoundException($"[quickstart] missing {f}; run from the repository root or pass --data with the folder that holds the quick-start files", f);
        }
        Directory.CreateDirectory(outDir);
        var r = new Renderer(console, json: false);
        var total = Stopwatch.StartNew();

        // 1. Train word2vec skip-gram with negative sampling, streaming the gzipped corpus.
        var losses = new List<(double Fraction, double Loss)>();
        var corpus = TextCorpus.FromTextReader(() => new StreamReader(new GZipStream(File.OpenRead(corpusPath), CompressionMode.Decompress)));
        r.Line($"training word2vec skip-gram ({dims} dims, window 5, 5 negatives, min count 5, {epochs} epochs, {threads} threads) on {corpusPath}");
        WordVectors trained = r.Progress("word2vec", report =>
            Word2VecTrainer.Train(corpus, new Word2VecOptions
            {
                Dims = dims, Window = 5, Negative = 5, MinCount = 5, Epochs = epochs, Threads = threads, Seed = seed,
                ProgressInterval = 100_000,
                Progress = new SyncProgress(p =>
                {
                    if (p.Stage == "train")
                    {
                        report(p.Fraction);
                        if (!double.IsNaN(p.Loss))
                            lock (losses) losses.Add((p.Fraction, p.Loss));
                    }
                }),
            }, cancellationToken));
        using (trained)
        {
            var s = trained.Summary;
            r.Line($"trained {trained.Vocabulary.Count:N0} words in {s.Elapsed.TotalSeconds:0.0} s ({s.ItemsPerSecond / 1e3:N0}k words/s){(s.Cancelled ? " — cancelled, the table is usable as it is" : "")}");

            // 2. Write the table (safetensors + word2vec text) and build the query object.
            var words = trained.Vocabulary.Tokens.ToArray();
            using var embeddings = new WordEmbeddings(words, trained.Vectors, ownsTable: false);
            string st = Path.Combine(outDir, "vectors.safetensors"), w2v = Path.Combine(outDir, "vectors.txt");
            SafetensorsFormat.Instance.Write(st, embeddings);
            Word2VecFormat.Text.Write(w2v, embeddings);

            // 3. Quantize to 8 and 4 bits (MLX affine, group 64 when it divides the dims, else 32).
            int group = dims % 64 == 0 ? 64 : 32;
            if (dims % group != 0)
                throw new ArgumentException($"[quickstart] --dims {dims} must be a multiple of 32 to quantize; try 64 or 128");
            var q8Table = QuantizedTable.Quantize(trained.Vectors, group, 8);
            using var q8 = q8Table.Dequantize(DType.Float32);
            var q4Table = QuantizedTable.Quantize(trained.Vectors, group, 4);
            using var q4 = q4Table.Dequantize(DType.Float32);
            var variants = new (string Name, EmbeddingTable Table, QuantizationReport? Report)[]
            {
                ("float32", trained.Vectors, null),
                ($"8-bit (g{group})", q8, QuantizationReport.Compare(trained.Vectors, q8Table)),
                ($"4-bit (g{group})", q4, QuantizationReport.Compare(trained.Vectors, q4Table)),
            };
            new Formats.Mlx.MlxCheckpointWriter().AddQuantized("embed_tokens", q4Table).Save(Path.Combine(outDir, "mlx-4bit"));

            // 4. Evaluate each side by side.
            var ci = CultureInfo.InvariantCulture;
            var rows = new List<IReadOnlyList<string>>();
            var neighbours = new List<IReadOnlyList<string>>();
            foreach (var (name, table, report) in variants)
            {
                using var kv = new KeyedVectors(words, table);
                AnalogyEvaluation a;
                using (var f = File.OpenRead(analogies))
                    a = kv.EvaluateWordAnalogies(f);
                WordPairsEvaluation p;
                using (var f = File.OpenRead(pairs))
                    p = kv.EvaluateWordPairs(f);
                long bytes = report?.BytesAfter ?? table.ByteLength;
                rows.Add([name, $"{bytes / 1024.0 / 1024.0:0.00} MiB", report is null ? "—" : report.RmsError.ToString("0.00000", ci),
                    report is null ? "—" : report.MeanCosine.ToString("0.0000", ci),
                    $"{a.Score.ToString("0.000", ci)} ({a.Questions - a.OutOfVocabulary:N0} q.)", p.Spearman.ToString("0.000", ci)]);
                foreach (string w in ProbeWords.Where(kv.Contains).Take(3))
                    neighbours.Add([name, w, string.Join(", ", kv.MostSimilar(w, 5).Select(x => x.Word))]);
            }
            r.Table(["table", "size", "RMS error", "row cosine", "analogy accuracy", "WS-353 ρ"], rows);
            r.Table(["table", "word", "nearest neighbours"], neighbours);

            // 5. Pictures: a PCA map of frequent words and the loss curve.
            string map = Path.Combine(outDir, "map.png"), curve = Path.Combine(outDir, "loss.png");
            DrawMap(trained.Vectors, words, map);
            (double Fraction, double Loss)[] points;
            lock (losses) points = losses.OrderBy(x => x.Fraction).ToArray();
            if (points.Length > 1)
            {
                // The corpus is three books in a row, so the loss moves with the text within each epoch;
                // the moving average over a tenth of the run shows the trend.
                double[] x = points.Select(p => p.Fraction).ToArray(), y = points.Select(p => p.Loss).ToArray();
                int w = Math.Max(1, points.Length / 10);
                double[] smooth = y.Select((_, i) => y.Skip(Math.Max(0, i - w + 1)).Take(Math.Min(w, i + 1)).Average()).ToArray();
                Plots.Curve(curve, "word2vec training loss", "share of training done", "mean negative-sampling loss",
                    [("per progress report", x, y), ($"moving average ({w} reports)", x, smooth)]);
            }

            r.Line("");
            r.Line($"wrote {Path.GetFullPath(st)} (+ .vocab), {Path.GetFullPath(w2v)}");
            r.Line($"      {Path.GetFullPath(Path.Combine(outDir, "mlx-4bit"))} (MLX checkpoint, 4-bit), {Path.GetFullPath(map)}{(points.Length > 1 ? ", " + Path.GetFullPath(curve) : "")}");
            r.Line($"next: embedsharp neighbors {w2v} king   ·   embedsharp analogy {w2v} man king woman   ·   embedsharp plot {w2v} --top 100");
            r.Line($"quickstart took {total.Elapsed.TotalSeconds:0.0} s");
        }
        return EmbedSharpCli.Ok;
    }

    private static void DrawMap(EmbeddingTable table, string[] words, string path)
    {
        // The 80 most frequent words after the 20 commonest function words.
        int from = Math.Min(20, words.Length), n = Math.Min(80, words.Length - from);
        if (n < 2)
            return;
        var data = new float[n * table.Dims];
        for (int i = 0; i < n; i++)
            table.ReadRow(from + i, data.AsSpan(i * table.Dims, table.Dims));
        var xy = new float[n * 2];
        Kernels.Pca(data, n, table.Dims, Math.Min(2, table.Dims), xy);
        Plots.Map(path, $"{n} frequent words of the quick-start corpus (PCA)", xy, words.Skip(from).Take(n).ToArray());
    }

    /// <summary>The repository's data/quickstart, found from the working directory or the tool's own location.</summary>
    private static string FindData()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "data", "quickstart");
                if (File.Exists(Path.Combine(candidate, "corpus.txt.gz")))
                    return candidate;
            }
        }
        throw new DirectoryNotFoundException("[quickstart] cannot find data/quickstart; run from the repository root or pass --data FOLDER");
    }
}
