using System.CommandLine;
using System.Globalization;
using System.IO.Compression;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Formats;
using EmbedSharp.Formats.FastText;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.FastText;
using EmbedSharp.Training.Glove;
using EmbedSharp.Training.Nplm;
using EmbedSharp.Training.Word2Vec;

namespace EmbedSharp.Cli.Commands;

/// <summary>
/// <c>embedsharp train CORPUS --out FILE</c>: word2vec, fastText, GloVe or Bengio's NPLM on a text
/// file (plain or .gz, one sentence per line), with a progress bar; Ctrl-C stops at the next report
/// and still writes the vectors trained so far.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(IConsole console)
    {
        var corpus = new Argument<string>("corpus") { Description = "Training text: UTF-8, one sentence per line, whitespace-separated tokens; .gz is read through gzip." };
        var output = new Option<string>("--out", "-o") { Description = "Where to write the vectors; the format follows the extension (.txt word2vec text, .bin word2vec binary — or a full fastText model with --model fasttext, .vec, .npy, .safetensors).", Required = true };
        var model = new Option<string>("--model") { Description = "word2vec, fasttext, glove or nplm.", DefaultValueFactory = _ => "word2vec" };
        var arch = new Option<string>("--arch") { Description = "skipgram or cbow (word2vec, fasttext).", DefaultValueFactory = _ => "skipgram" };
        var dims = new Option<int>("--dims") { Description = "Vector size.", DefaultValueFactory = _ => 100 };
        var window = new Option<int>("--window") { Description = "Context window; 0 = the model's own (5, or 15 for glove as in Stanford's GloVe).", DefaultValueFactory = _ => 0 };
        var negative = new Option<int>("--negative") { Description = "Negative samples (0 with --hs for hierarchical softmax only).", DefaultValueFactory = _ => 5 };
        var hs = new Option<bool>("--hs") { Description = "Hierarchical softmax (word2vec)." };
        var minCount = new Option<int>("--min-count") { Description = "Drop words seen fewer times.", DefaultValueFactory = _ => 5 };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the corpus (GloVe default 25 if not given).", };
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: this machine's core count).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var seed = new Option<ulong>("--seed") { Description = "Random seed (with one thread the result is deterministic).", DefaultValueFactory = _ => 1 };
        var minn = new Option<int>("--minn") { Description = "Shortest character n-gram (fasttext).", DefaultValueFactory = _ => 3 };
        var maxn = new Option<int>("--maxn") { Description = "Longest character n-gram (fasttext; 0 = no subwords).", DefaultValueFactory = _ => 6 };
        var bucket = new Option<int>("--bucket") { Description = "N-gram hash buckets (fasttext).", DefaultValueFactory = _ => 2_000_000 };
        var heldOut = new Option<string?>("--held-out") { Description = "Text to report perplexity on (nplm)." };
        var cmd = new Command("train", "Train word vectors: word2vec (skip-gram/CBOW, negative sampling or hierarchical softmax), fastText (subwords), GloVe, or Bengio's neural language model.\n\nExamples:\n  embedsharp train corpus.txt --out vectors.bin\n  embedsharp train corpus.txt.gz --model fasttext --out model.bin --epochs 5\n  embedsharp train corpus.txt --model glove --out glove.txt --dims 50\n  embedsharp train corpus.txt --model nplm --out c.npy --held-out valid.txt\n\nCtrl-C stops training at the next progress report and writes what has been learned so far.")
        {
            corpus, output, model, arch, dims, window, negative, hs, minCount, epochs, threads, seed, minn, maxn, bucket, heldOut,
        };
        cmd.SetAction((r, ct) => Task.FromResult(Run(console, new Settings(
            r.GetValue(corpus)!, r.GetValue(output)!, r.GetValue(model)!, r.GetValue(arch)!, r.GetValue(dims), r.GetValue(window),
            r.GetValue(negative), r.GetValue(hs), r.GetValue(minCount), r.GetValue(epochs), r.GetValue(threads), r.GetValue(seed),
            r.GetValue(minn), r.GetValue(maxn), r.GetValue(bucket), r.GetValue(heldOut)), ct)));
        return cmd;
    }

    internal sealed record Settings(string Corpus, string Output, string Model, string Arch, int Dims, int Window, int Negative, bool Hs,
        int MinCount, int Epochs, int Threads, ulong Seed, int Minn, int Maxn, int Bucket, string? HeldOut);

    public static int Run(IConsole console, Settings s, CancellationToken cancellationToken, Action<double>? onProgress = null)
    {
        const string op = "train";
        if (!File.Exists(s.Corpus))
            throw new FileNotFoundException($"[{op}] no such file: {s.Corpus}", s.Corpus);
        if (s.Model is not ("word2vec" or "fasttext" or "glove" or "nplm"))
            throw new ArgumentException($"[{op}] unknown --model '{s.Model}'; valid values are word2vec, fasttext, glove, nplm");
        if (s.Arch is not ("skipgram" or "cbow"))
            throw new ArgumentException($"[{op}] unknown --arch '{s.Arch}'; valid values are skipgram, cbow");
        if (s.Dims < 1 || s.Window < 0 || s.Threads < 1 || s.MinCount < 1 || s.Epochs < 0 || s.Negative < 0)
            throw new ArgumentOutOfRangeException(nameof(s), $"[{op}] --dims, --threads and --min-count must be ≥ 1, --window, --epochs and --negative ≥ 0 (0 = the model's default)");
        if (s.Window == 0)
            s = s with { Window = s.Model == "glove" ? 15 : 5 };
        OutputPaths.Prepare(s.Output);
        bool fastTextBin = s.Model == "fasttext" && Path.GetExtension(s.Output).Equals(".bin", StringComparison.OrdinalIgnoreCase);
        EmbeddingFormat? format = fastTextBin ? null : FormatRegistry.Default.ForWriting(s.Output);

        var r = new Renderer(console, json: false);
        var text = Corpus(s.Corpus);
        string label = $"{s.Model}{(s.Model is "word2vec" or "fasttext" ? " " + s.Arch : "")}";
        r.Line($"training {label} on {s.Corpus}: {s.Dims} dims, window {s.Window}, min count {s.MinCount}, {s.Threads} thread(s)");
        var (summary, rows) = r.Progress(label, report =>
        {
            var progress = new SyncProgress(p =>
            {
                report(p.Fraction);
                onProgress?.Invoke(p.Fraction);
            });
            return s.Model switch
            {
                "word2vec" => Save(format!, s.Output, Word2VecTrainer.Train(text, new Word2VecOptions
                {
                    Dims = s.Dims, Window = s.Window, Negative = s.Negative, HierarchicalSoftmax = s.Hs, MinCount = s.MinCount,
                    Epochs = s.Epochs > 0 ? s.Epochs : 5, Threads = s.Threads, Seed = s.Seed, Progress = progress,
                    Architecture = s.Arch == "cbow" ? Word2VecArchitecture.Cbow : Word2VecArchitecture.SkipGram,
                }, cancellationToken)),
                "glove" => Save(format!, s.Output, GloveTrainer.Train(text, new GloveOptions
                {
                    Dims = s.Dims, Window = s.Window, MinCount = s.MinCount, Epochs = s.Epochs > 0 ? s.Epochs : 25, Threads = s.Threads, Seed = s.Seed,
                    Progress = progress,
                }, cancellationToken)),
                "fasttext" => SaveFastText(format, s.Output, FastTextTrainer.Train(text, new FastTextOptions
                {
                    Dims = s.Dims, WindowSize = s.Window, Neg = s.Negative, MinCount = s.MinCount, Epoch = s.Epochs > 0 ? s.Epochs : 5,
                    Threads = s.Threads, Seed = s.Seed, Minn = s.Minn, Maxn = s.Maxn, Bucket = s.Bucket, Progress = progress,
                    Model = s.Arch == "cbow" ? FastTextTrainingModel.Cbow : FastTextTrainingModel.Skipgram,
                }, cancellationToken)),
                _ => SaveNplm(r, format!, s, text, progress, cancellationToken),
            };
        });
        r.Line($"{(summary.Cancelled ? "stopped early (Ctrl-C); saved what was learned: " : "")}{rows:N0} words, {summary.EpochsCompleted} epoch(s), {summary.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s, {summary.ItemsPerSecondPerThread / 1e3:N0}k words/s per thread");
        r.Line($"wrote {Path.GetFullPath(s.Output)}");
        return EmbedSharpCli.Ok;
    }

    private static TextCorpus Corpus(string path) =>
        path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? TextCorpus.FromTextReader(() => new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress)))
            : new TextCorpus(() => File.OpenRead(path));

    private static (TrainingSummary, long) Save(EmbeddingFormat format, string path, WordVectors trained)
    {
        using (trained)
        {
            using var e = new WordEmbeddings(trained.Vocabulary.Tokens.ToArray(), trained.Vectors, trained.Vocabulary.Counts.ToArray(), ownsTable: false);
            format.Write(path, e);
            return (trained.Summary, e.NumEmbeddings);
        }
    }

    private static (TrainingSummary, long) SaveFastText(EmbeddingFormat? format, string path, FastTextTrainedModel trained)
    {
        using (trained)
        {
            if (format is null)
            {
                // A full fastText model: Debian's `fasttext` can load it, and `embedsharp vector` gives subword vectors.
                using var model = FastTextModel.FromParts(trained.Args.StoredArgs, trained.Words, trained.Counts.ToArray(), trained.NumTokens, trained.Input, trained.Output);
                model.Save(path);
                return (trained.Summary, trained.Words.Count);
            }
            using var table = trained.GetWordVectors();
            using var e = new WordEmbeddings(trained.Words.ToArray(), table, trained.Counts.ToArray(), ownsTable: false);
            format.Write(path, e);
            return (trained.Summary, e.NumEmbeddings);
        }
    }

    private static (TrainingSummary, long) SaveNplm(Renderer r, EmbeddingFormat format, Settings s, TextCorpus text, IProgress<TrainingProgress> progress, CancellationToken ct)
    {
        using var model = NplmTrainer.Train(text, new NplmOptions
        {
            Dims = s.Dims, ContextSize = s.Window, MinCount = s.MinCount, Epochs = s.Epochs > 0 ? s.Epochs : 5, Seed = s.Seed, Progress = progress,
        }, ct);
        if (s.HeldOut is { } held)
        {
            if (!File.Exists(held))
                throw new FileNotFoundException($"[train] no such file: {held}", held);
            double ppl = model.Perplexity(Corpus(held), ct);
            r.Line($"held-out perplexity: {ppl.ToString("0.0", CultureInfo.InvariantCulture)}");
        }
        using var e = new WordEmbeddings(model.Vocabulary.Tokens.ToArray(), model.Embedding.Weight, model.Vocabulary.Counts.ToArray(), ownsTable: false);
        format.Write(s.Output, e);
        return (model.History.Count > 0 ? model.History[^1] : new TrainingSummary(false, 0, 0, TimeSpan.Zero, double.NaN, 1, []), e.NumEmbeddings);
    }
}

/// <summary>Calls back on the reporting thread (Progress&lt;T&gt; would post to a context a console app lacks).</summary>
internal sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => report(value);
}
