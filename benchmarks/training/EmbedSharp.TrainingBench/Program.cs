using System.Diagnostics;
using System.Globalization;
using System.Text;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.FastText;
using EmbedSharp.Training.Glove;
using EmbedSharp.Training.Nplm;
using EmbedSharp.Training.Word2Vec;

// The training benchmark's console entry (benchmarks/training/run.sh drives it). Commands:
//   w2v      CORPUS OUT.vec THREADS [sg|cbow]     word2vec, dim 100, window 5, negative 5, min count 5, 5 epochs
//   fasttext CORPUS OUT.vec THREADS [BUCKET [MAXN [OUT.bin]]]  fastText skip-gram, minn 3 and maxn 6 (MAXN 0: no n-grams); optionally the model as a .bin
//   glove    CORPUS OUT.vec THREADS TMPDIR [EPOCHS [WINDOW [XMAX]]] [eta=η] [alpha=α] [sample=t] [seed=S]
//            GloVe; defaults: 25 epochs (GloVe's), window 5 like the others, x_max 100, η 0.05, α 0.75, no sub-sampling
//   glove-sweep CORPUS OUTDIR THREADS WINDOW SAMPLE SETTING...  count co-occurrences once, then fit and score each SETTING
//            (comma-separated key=value: epochs, xmax, eta, alpha, seed), writing OUTDIR/glove-wWINDOW-SETTING.vec
//   nplm     TRAIN HELDOUT [EPOCHS]               Bengio's NPLM from scratch (2·EPOCHS) vs the two-phase recipe (EPOCHS frozen + EPOCHS fine-tuned) on word2vec vectors; held-out perplexity
//   bin-check CORPUS OUT.bin                       train a small fastText model, write it as .bin, and compare `fasttext print-word-vectors` with our vectors
//   eval     VEC ANALOGY SIMILARITY_DIR           our EvaluateWordAnalogies / EvaluateWordPairs
// Each training command prints one line: name=... seconds=... words=... words_per_sec_per_thread=...
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string cmd = args.Length > 0 ? args[0] : "";
switch (cmd)
{
    case "w2v":
        Word2Vec(args[1], args[2], int.Parse(args[3]), args.Length > 4 ? args[4] : "sg");
        break;
    case "fasttext":
        FastText(args[1], args[2], int.Parse(args[3]), args.Length > 4 ? int.Parse(args[4]) : 2_000_000, args.Length > 5 ? int.Parse(args[5]) : 6,
            args.Length > 6 ? args[6] : null);
        break;
    case "glove":
    {
        // Positional EPOCHS WINDOW XMAX first, then any key=value settings.
        string[] positional = [.. args.Skip(5).Where(a => !a.Contains('='))];
        var named = args.Skip(5).Where(a => a.Contains('=')).Select(a => a.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
        double Named(string key, double fallback) => named.TryGetValue(key, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
        Glove(args[1], args[2], int.Parse(args[3]), args[4], positional.Length > 0 ? int.Parse(positional[0]) : 25,
            positional.Length > 1 ? int.Parse(positional[1]) : 5, positional.Length > 2 ? double.Parse(positional[2], CultureInfo.InvariantCulture) : 100,
            Named("eta", 0.05), Named("alpha", 0.75), Named("sample", 0), (ulong)Named("seed", 1));
        break;
    }
    case "glove-sweep":
        GloveSweep(args[1], args[2], int.Parse(args[3]), int.Parse(args[4]), double.Parse(args[5], CultureInfo.InvariantCulture), args[6..]);
        break;
    case "nplm":
        Nplm(args[1], args[2], args.Length > 3 ? int.Parse(args[3]) : 3);
        break;
    case "bin-check":
        return BinCheck(args[1], args[2]);
    case "eval":
        Evaluation.Run(args[1], args[2], args[3]);
        break;
    default:
        Console.Error.WriteLine("usage: w2v|fasttext|glove|eval ... (see Program.cs)");
        return 2;
}
return 0;

static TextCorpus Corpus(string path) => new(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16));

static void Report(string name, TrainingSummary s, int threads)
{
    Console.WriteLine($"name={name} threads={threads} seconds={s.Elapsed.TotalSeconds:F2} words={s.Processed} " +
        $"words_per_sec_per_thread={s.ItemsPerSecondPerThread:F0} loss={s.FinalLoss:F4} cancelled={s.Cancelled}");
}

static void Word2Vec(string corpus, string output, int threads, string arch)
{
    var options = new Word2VecOptions
    {
        Dims = 100, Window = 5, Negative = 5, MinCount = 5, Epochs = 5, Threads = threads,
        Architecture = arch == "cbow" ? Word2VecArchitecture.Cbow : Word2VecArchitecture.SkipGram,
        Progress = new ConsoleProgress(),
    };
    using var result = Word2VecTrainer.Train(Corpus(corpus), options);
    Report("ours-word2vec-" + arch, result.Summary, threads);
    VecFile.Write(output, result.Vocabulary.Tokens, result.Vectors);
}

static void FastText(string corpus, string output, int threads, int bucket, int maxn, string? bin)
{
    var options = new FastTextOptions
    {
        Dims = 100, WindowSize = 5, Neg = 5, MinCount = 5, Epoch = 5, Threads = threads, Bucket = bucket, Maxn = maxn, Minn = maxn == 0 ? 0 : 3,
        Progress = new ConsoleProgress(),
    };
    using var model = FastTextTrainer.Train(Corpus(corpus), options);
    Report(maxn == 0 ? "ours-fasttext-minn0-maxn0" : "ours-fasttext", model.Summary, threads);
    using var words = model.GetWordVectors();
    VecFile.Write(output, model.Words, words);
    if (bin is not null)
        FastTextBin.Write(bin, model);
}

static void Glove(string corpus, string output, int threads, string tmp, int epochs, int window, double xMax, double eta, double alpha, double sample, ulong seed)
{
    Directory.CreateDirectory(tmp);
    var options = new GloveOptions
    {
        Dims = 100, Window = window, MinCount = 5, Epochs = epochs, Threads = threads, XMax = xMax, LearningRate = eta, Alpha = alpha, Sample = sample, Seed = seed,
        CreateShard = i => new FileStream(Path.Combine(tmp, $"shard{i}.bin"), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16),
        OpenShard = i => new FileStream(Path.Combine(tmp, $"shard{i}.bin"), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16),
        DeleteShard = i => File.Delete(Path.Combine(tmp, $"shard{i}.bin")),
        Progress = new ConsoleProgress(),
    };
    var clock = Stopwatch.StartNew();
    using var result = GloveTrainer.Train(Corpus(corpus), options);
    Report("ours-glove", result.Summary, threads);
    Console.WriteLine($"glove_total_seconds={clock.Elapsed.TotalSeconds:F1}");
    VecFile.Write(output, result.Vocabulary.Tokens, result.Vectors);
}

// Tuning aid: one co-occurrence count (the slow part), many fits. Uses the trainer's internals, so it is
// the same code path as GloveTrainer.Train after counting.
static void GloveSweep(string corpusPath, string outDir, int threads, int window, double sample, string[] settings)
{
    Directory.CreateDirectory(outDir);
    string data = Path.Combine(AppContext.BaseDirectory, "../../../shared/data");
    data = Environment.GetEnvironmentVariable("DATA") ?? data;
    var baseOptions = new GloveOptions { Dims = 100, Window = window, Sample = sample, MinCount = 5, Threads = threads, Progress = new ConsoleProgress() };
    var corpus = Corpus(corpusPath);
    var clock = Stopwatch.StartNew();
    var vocabulary = CorpusVocabulary.Build(corpus, baseOptions.MinCount);
    using var counter = new CooccurrenceCounter(vocabulary.Count, baseOptions);
    counter.Count(corpus, vocabulary, default);
    using var records = RecordSource.Collect(counter, baseOptions, vocabulary.Count);
    Console.WriteLine($"name=glove-count window={window} sample={sample} records={records.Count} seconds={clock.Elapsed.TotalSeconds:F1}");
    foreach (string setting in settings)
    {
        var o = baseOptions;
        foreach (var kv in setting.Split(',').Select(p => p.Split('=', 2)))
        {
            double x = double.Parse(kv[1], CultureInfo.InvariantCulture);
            o = kv[0] switch
            {
                "epochs" => o with { Epochs = (int)x },
                "xmax" => o with { XMax = x },
                "eta" => o with { LearningRate = x },
                "alpha" => o with { Alpha = x },
                "seed" => o with { Seed = (ulong)x },
                _ => throw new ArgumentException($"unknown setting {kv[0]}"),
            };
        }
        using var result = GloveTrainer.Fit(vocabulary, records, o, default);
        string vec = Path.Combine(outDir, $"glove-w{window}-s{sample}-{setting.Replace(',', '_')}.vec");
        VecFile.Write(vec, result.Vocabulary.Tokens, result.Vectors);
        Console.WriteLine($"name=glove window={window} sample={sample} {setting} seconds={result.Summary.Elapsed.TotalSeconds:F1} loss={result.Summary.FinalLoss:F5}");
        Evaluation.Run(vec, Path.Combine(data, "analogy/questions-words.txt"), Path.Combine(data, "similarity"));
    }
}

static void Nplm(string train, string heldOut, int epochs)
{
    var corpus = Corpus(train);
    var test = Corpus(heldOut);
    var options = new NplmOptions { ContextSize = 4, Dims = 50, Hidden = 100, MinCount = 5, Output = NplmOutput.Sampled, Samples = 100, Epochs = epochs, LearningRate = 0.05 };
    var vocab = CorpusVocabulary.Build(corpus, 5);
    var clock = Stopwatch.StartNew();
    // From scratch for as many passes as both phases of the recipe together.
    using (var scratch = NplmTrainer.Train(corpus, options with { Epochs = 2 * epochs }))
    {
        var s = scratch.History[^1];
        Console.WriteLine($"name=nplm-scratch epochs={2 * epochs} seconds={clock.Elapsed.TotalSeconds:F1} examples_per_sec={s.ItemsPerSecond:F0} train_loss={s.FinalLoss:F3} perplexity={scratch.Perplexity(test):F1} vocabulary={scratch.Vocabulary.Count}");
    }
    clock.Restart();
    using var w2v = Word2VecTrainer.Train(corpus, new Word2VecOptions { Dims = 50, MinCount = 5, Epochs = 5, Threads = 2 });
    var two = NplmTrainer.TrainTwoPhase(corpus, w2v.Vectors, w2v.Vocabulary, options, frozenEpochs: epochs, fineTuneEpochs: epochs,
        fineTuneLearningRate: options.LearningRate / 5, heldOut: test);
    using var model = two.Model;
    Console.WriteLine($"name=nplm-two-phase epochs={epochs}+{epochs} seconds={clock.Elapsed.TotalSeconds:F1} perplexity_before={two.PerplexityBefore:F1} " +
        $"perplexity_frozen={two.PerplexityAfterFrozen:F1} perplexity_fine_tuned={two.PerplexityAfterFineTuning:F1} words_in_vocabulary={vocab.Count}");
}

static int BinCheck(string corpus, string bin)
{
    using var model = FastTextTrainer.Train(Corpus(corpus), new FastTextOptions { Dims = 50, MinCount = 5, Epoch = 5, Bucket = 50_000 });
    FastTextBin.Write(bin, model);
    string[] probes = [model.Words[0], model.Words[1], model.Words[model.Words.Count / 2], model.Words[^1], "zyzzyva", "unbelievableness", "naïveté", "ab"];
    var psi = new ProcessStartInfo("fasttext", ["print-word-vectors", bin])
    {
        RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false, StandardOutputEncoding = new UTF8Encoding(false),
    };
    using var process = Process.Start(psi)!;
    using (var stdin = new StreamWriter(process.StandardInput.BaseStream, new UTF8Encoding(false)))
        foreach (string w in probes)
            stdin.Write(w + "\n");
    string[] lines = process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    process.WaitForExit();
    double worst = 0;
    var ours = new float[model.Dims];
    for (int i = 0; i < probes.Length; i++)
    {
        var parts = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        model.GetWordVector(probes[i], ours);
        for (int d = 0; d < model.Dims; d++)
            worst = Math.Max(worst, Math.Abs(double.Parse(parts[^model.Dims..][d], CultureInfo.InvariantCulture) - ours[d]));
    }
    bool ok = lines.Length == probes.Length && worst < 1e-4;
    Console.WriteLine($"bin-check words={model.Words.Count} buckets=50000 probes={probes.Length} (4 in vocabulary, 4 out) max_abs_diff={worst:G3} {(ok ? "PASS" : "FAIL")}");
    return ok ? 0 : 1;
}

sealed class ConsoleProgress : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress p) =>
        Console.Error.WriteLine($"  {p.Trainer} {p.Stage} epoch {p.Epoch} {p.Fraction:P1} lr {p.LearningRate:F5} loss {p.Loss:F4} {p.ItemsPerSecond:F0}/s");
}

static class VecFile
{
    /// <summary>word2vec text format (header "count dims", then one word and its values per line).</summary>
    public static void Write(string path, IReadOnlyList<string> words, EmbeddingTable table)
    {
        string tmp = path + ".tmp";
        using (var w = new StreamWriter(tmp, false, new UTF8Encoding(false), 1 << 20))
        {
            w.Write($"{table.NumEmbeddings} {table.Dims}\n");
            var row = new float[table.Dims];
            var sb = new StringBuilder();
            for (int i = 0; i < table.NumEmbeddings; i++)
            {
                table.ReadRow(i, row);
                sb.Clear().Append(words[i]);
                foreach (float x in row)
                    sb.Append(' ').Append(x.ToString("G7", CultureInfo.InvariantCulture));
                w.Write(sb.Append('\n'));
            }
        }
        File.Move(tmp, path, overwrite: true);
    }
}
