using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using EmbedSharp.Cli.Output;
using EmbedSharp.Formats;
using EmbedSharp.Formats.Safetensors;
using EmbedSharp.Formats.Word2Vec;
using EmbedSharp.Numerics;
using EmbedSharp.Search;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Quickstart;

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

    public static int Run(IConsole console, string outDir, string? dataDir, int epochs, int dims, int threads, ulong seed, CancellationToken cancellationToken)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "[quickstart] --epochs must be ≥ 1");
        if (dims < 1) throw new ArgumentOutOfRangeException(nameof(dims), dims, "[quickstart] --dims must be ≥ 1");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "[quickstart] --threads must be ≥ 1");
        if (dims % 32 != 0)
            throw new ArgumentException($"[quickstart] --dims {dims} must be a multiple of 32 to quantize; try 64 or 128");
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
        var ci = CultureInfo.InvariantCulture;

        // 1. Train, evaluate and quantize: one library call (Training's QuickstartWorkflow).
        r.Line($"training word2vec skip-gram ({dims} dims, window 5, 5 negatives, min count 5, {epochs} epochs, {threads} threads) on {QuickstartReport.Show(corpusPath)}");
        var options = new QuickstartOptions
        {
            Corpus = TextCorpus.FromTextReader(() => new StreamReader(new GZipStream(File.OpenRead(corpusPath), CompressionMode.Decompress))),
            Analogies = () => File.OpenRead(analogies),
            WordPairs = () => File.OpenRead(pairs),
            Dims = dims, Epochs = epochs, Threads = threads, Seed = seed,
        };
        using QuickstartResult result = r.Progress("word2vec", report =>
            QuickstartWorkflow.Run(options with
            {
                Progress = new SyncProgress(p =>
                {
                    if (p.Stage == "train")
                        report(p.Fraction);
                }),
            }, cancellationToken));
        var trained = result.Trained;
        var s = trained.Summary;
        var vocabulary = trained.Vocabulary;
        r.Line($"trained {vocabulary.Count:N0} words in {s.Elapsed.TotalSeconds:0.0} s ({s.ItemsPerSecond / 1e3:N0}k words/s){(s.Cancelled ? " — cancelled, the table is usable as it is" : "")}; "
            + $"mean loss per epoch {string.Join(" → ", s.EpochLosses.Select(l => l.ToString("0.000", ci)))}");

        // 2. Write the table (safetensors + word2vec text) and the 4-bit MLX checkpoint.
        using var embeddings = new WordEmbeddings([.. vocabulary.Tokens], trained.Vectors, ownsTable: false);
        string st = Path.Combine(outDir, "vectors.safetensors"), w2v = Path.Combine(outDir, "vectors.txt");
        SafetensorsFormat.Instance.Write(st, embeddings);
        Word2VecFormat.Text.Write(w2v, embeddings);
        var q4 = result.Quantized.Single(q => q.Bits == 4);
        new Formats.Mlx.MlxCheckpointWriter().AddQuantized("embed_tokens", q4.Table).Save(Path.Combine(outDir, "mlx-4bit"));

        // 3. Neighbours of words the corpus knows well.
        r.Line("");
        r.Line("nearest neighbours of words the corpus uses often (float32 table):");
        r.Table(["word", "times in corpus", "nearest neighbours"], result.Probes.Select(p => (IReadOnlyList<string>)
            [p.Word, string.Create(ci, $"{p.Count:N0}"), string.Join(", ", p.Neighbours)]));

        // 4. The quantized forms against float32: reconstruction, neighbours kept, the two test sets.
        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "float32", QuickstartReport.Size(trained.Vectors), "—", "—", "—", QuickstartReport.AnalogyCell(result.Scores.Analogy), QuickstartReport.PairsCell(result.Scores.Pairs) },
        };
        foreach (var q in result.Quantized)
        {
            rows.Add([$"{q.Bits}-bit (g{q.GroupSize})", QuickstartReport.Size(q.Report.BytesAfter), q.Report.RmsError.ToString("0.00000", ci), q.Report.MeanCosine.ToString("0.0000", ci),
                (q.NeighbourOverlap * 100).ToString("0.0", ci) + " %", QuickstartReport.AnalogyCell(q.Scores.Analogy), QuickstartReport.PairsCell(q.Scores.Pairs)]);
        }
        var g = QuickstartReport.Gensim;
        rows.Add([g.Name, "", "", "", "", QuickstartReport.Cell(g.Analogy, g.AnalogyCovered, g.AnalogyTotal), QuickstartReport.Cell(g.Spearman, g.PairsCovered, g.PairsTotal)]);
        r.Line("");
        r.Line($"the table, quantized (MLX affine), on the analogy test and WS-353 (score, then questions or pairs covered of all):");
        r.Table(["table", "size", "RMS error", "row cosine", $"top-{QuickstartWorkflow.OverlapK} shared", "analogy accuracy", "WS-353 Spearman ρ"], rows);
        r.Line($"top-{QuickstartWorkflow.OverlapK} shared: of the {QuickstartWorkflow.OverlapK} nearest neighbours of each of the {Math.Min(QuickstartWorkflow.OverlapWords, vocabulary.Count):N0} commonest words, the share the float32 table also lists.");
        foreach (string line in QuickstartReport.Reading(result.Scores, vocabulary.TotalCount))
            r.Line(line);

        // 5. Pictures: a PCA map of frequent words and the loss curve.
        string map = Path.Combine(outDir, "map.png"), curve = Path.Combine(outDir, "loss.png");
        bool drewMap = DrawMap(result.Vectors, map);
        bool drewLoss = QuickstartReport.DrawLoss(curve, result.Losses, s.EpochLosses, epochs);

        r.Line("");
        r.Line($"wrote {QuickstartReport.Show(st)} (+ .vocab), {QuickstartReport.Show(w2v)} (word2vec text), {QuickstartReport.Show(Path.Combine(outDir, "mlx-4bit"))} (MLX checkpoint, 4-bit),");
        var pictures = new List<string>();
        if (drewMap) pictures.Add(QuickstartReport.Show(map) + " (word map)");
        if (drewLoss) pictures.Add(QuickstartReport.Show(curve) + " (loss per epoch)");
        if (pictures.Count > 0) r.Line("      " + string.Join(", ", pictures));
        string v = QuickstartReport.Show(w2v);
        r.Line($"next: embedsharp neighbors {v} sister   ·   embedsharp analogy {v} man king woman   ·   embedsharp plot {v} --top 100");
        r.Line("      (from the repository, `dotnet run --project src/EmbedSharp.Cli --` stands for `embedsharp`; docs/train-and-query.md goes further)");
        r.Line($"quickstart took {total.Elapsed.TotalSeconds:0.0} s");
        return EmbedSharpCli.Ok;
    }

    /// <summary>
    /// A PCA map of the probe words and their nearest neighbours, one colour per probe word, so the
    /// groups the training found show as clusters.
    /// </summary>
    private static bool DrawMap(KeyedVectors kv, string path)
    {
        var labels = new List<string>();
        var groups = new List<int>();
        int group = 0;
        foreach (string probe in QuickstartWorkflow.ProbeWords.Where(kv.Contains))
        {
            foreach (string w in kv.MostSimilar(probe, 5).Select(x => x.Word).Prepend(probe))
            {
                if (labels.Contains(w))
                    continue;
                labels.Add(w);
                groups.Add(group);
            }
            group++;
        }
        int n = labels.Count;
        if (n < 3)
            return false;
        var data = new float[n * kv.Dims];
        for (int i = 0; i < n; i++)
            kv.TryGetVector(labels[i], data.AsSpan(i * kv.Dims, kv.Dims));
        var xy = new float[n * 2];
        Kernels.Pca(data, n, kv.Dims, 2, xy);
        Plots.Map(path, $"{group} words the corpus knows well and their 5 nearest neighbours (PCA of these {n} vectors)", xy, labels, groups);
        return true;
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
