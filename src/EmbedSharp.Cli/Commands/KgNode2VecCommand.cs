using System.CommandLine;
using System.Globalization;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Formats;
using EmbedSharp.Graphs.Data;
using EmbedSharp.Graphs.Walks;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Word2Vec;

namespace EmbedSharp.Cli.Commands;

/// <summary>
/// <c>embedsharp kg node2vec FILE --out VECTORS</c>: node2vec / DeepWalk entity vectors. This command is the
/// glue the dependency rules call for: EmbedSharp.Graphs makes the walks (it depends on Core only),
/// EmbedSharp.Training's word2vec trains on them as sentences of node ids (it depends on Core only too),
/// and the CLI, which may use both, joins them and maps the ids back to entity names.
/// </summary>
internal static class KgNode2VecCommand
{
    private const string Op = "kg node2vec";

    public static Command Create(IConsole console)
    {
        var input = new Argument<string>("input") { Description = "A triple file (head<TAB>relation<TAB>tail), or a folder whose train.txt is used; relations are ignored, every triple is an undirected edge." };
        var output = new Option<string>("--out", "-o") { Description = "Where to write the entity vectors (format by extension: .txt word2vec text, .bin, .vec, .npy, .safetensors).", Required = true };
        var p = new Option<double>("--p") { Description = "Return parameter: a step back is weighted 1/p.", DefaultValueFactory = _ => 1 };
        var q = new Option<double>("--q") { Description = "In-out parameter: a step away from the previous node's neighbourhood is weighted 1/q (p = q = 1: DeepWalk).", DefaultValueFactory = _ => 1 };
        var walkLength = new Option<int>("--walk-length") { Description = "Nodes per walk.", DefaultValueFactory = _ => 80 };
        var walks = new Option<int>("--walks") { Description = "Walks from every node.", DefaultValueFactory = _ => 10 };
        var dims = new Option<int>("--dims") { Description = "Vector size.", DefaultValueFactory = _ => 128 };
        var window = new Option<int>("--window") { Description = "Skip-gram context window.", DefaultValueFactory = _ => 10 };
        var epochs = new Option<int>("--epochs") { Description = "Passes of word2vec over the walks.", DefaultValueFactory = _ => 1 };
        var negative = new Option<int>("--negative") { Description = "Negative samples of word2vec.", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads") { Description = "Worker threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var seed = new Option<ulong>("--seed") { Description = "Random seed (walks repeat exactly for any thread count).", DefaultValueFactory = _ => 1 };
        var evaluate = new Option<bool>("--evaluate") { Description = "With a folder: also rank valid.txt's edges among all nodes by z_u·z_v (filtered), the way `kg sage` does, so the two compare." };
        var cmd = new Command("node2vec", "node2vec / DeepWalk entity vectors: biased random walks over the graph of the triples, trained with skip-gram word2vec.\n\nExamples:\n  embedsharp kg node2vec ../shared/data/kg/umls --out umls-n2v.txt\n  embedsharp kg node2vec train.txt --p 0.5 --q 2 --dims 64 --out n2v.npy\n  embedsharp neighbors umls-n2v.txt alga")
        {
            input, output, p, q, walkLength, walks, dims, window, epochs, negative, threads, seed, evaluate,
        };
        cmd.SetAction((r, ct) => Task.FromResult(Run(console, r.GetValue(input)!, r.GetValue(output)!, new WalkOptions
        {
            P = r.GetValue(p), Q = r.GetValue(q), WalkLength = r.GetValue(walkLength), WalksPerNode = r.GetValue(walks), Threads = r.GetValue(threads), Seed = r.GetValue(seed),
        }, new Word2VecOptions
        {
            Dims = r.GetValue(dims), Window = r.GetValue(window), Epochs = r.GetValue(epochs), Negative = r.GetValue(negative), Threads = r.GetValue(threads), Seed = r.GetValue(seed),
            MinCount = 1, Sample = 0, Architecture = Word2VecArchitecture.SkipGram,
        }, ct, r.GetValue(evaluate))));
        return cmd;
    }

    public static int Run(IConsole console, string input, string output, WalkOptions walkOptions, Word2VecOptions w2v, CancellationToken ct, bool evaluate = false)
    {
        if (walkOptions.WalkLength < 2 || walkOptions.WalksPerNode < 1 || walkOptions.Threads < 1 || !(walkOptions.P > 0) || !(walkOptions.Q > 0) || w2v.Dims < 1 || w2v.Window < 1 || w2v.Epochs < 1)
            throw new ArgumentOutOfRangeException(nameof(walkOptions), $"[{Op}] --walk-length must be ≥ 2, --walks, --dims, --window, --epochs and --threads ≥ 1, --p and --q > 0");
        string path = Directory.Exists(input) ? Path.Combine(input, "train.txt") : input;
        OutputPaths.Prepare(output);
        var format = FormatRegistry.Default.ForWriting(output);
        if (evaluate && !Directory.Exists(input))
            throw new ArgumentException($"[{Op}] --evaluate needs a folder with train.txt and valid.txt, not a file");
        KnowledgeGraph kg;
        GraphSplits? splits = null;
        if (evaluate)
        {
            // Every split's entities are numbered (unseen ones are isolated nodes), so valid edges can be ranked.
            splits = GraphSplits.Load(Op, input);
            kg = splits.Kg;
        }
        else
        {
            using var reader = KgModelFile.Open(Op, path).Reader;
            kg = KnowledgeGraph.Read(new TripleSource(path, reader));
        }
        var r = new Renderer(console, json: false);
        var graph = WalkGraph.FromTriples(kg.Entities.Count, kg.Train);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var all = new RandomWalker(graph).Walks(walkOptions, ct);
        r.Line($"{path}: {kg.Entities.Count:N0} nodes, {kg.Train.Length:N0} edges; {all.Length:N0} walks of ≤ {walkOptions.WalkLength} nodes (p = {walkOptions.P.ToString(CultureInfo.InvariantCulture)}, q = {walkOptions.Q.ToString(CultureInfo.InvariantCulture)}) in {clock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
        // Walks become sentences of decimal node ids, so entity names with spaces cannot split a token.
        var corpus = TextCorpus.FromLines(all.Select(w => string.Join(' ', w.Select(v => v.ToString(CultureInfo.InvariantCulture)))));
        using var trained = r.Progress("word2vec", report => Word2VecTrainer.Train(corpus, w2v with { Progress = new SyncProgress(p => report(p.Fraction)) }, ct));
        var tokens = trained.Vocabulary.Tokens.ToArray();
        var names = tokens.Select(t => kg.Entities[int.Parse(t, CultureInfo.InvariantCulture)]).ToArray();
        using var e = new WordEmbeddings(names, trained.Vectors, trained.Vocabulary.Counts.ToArray(), ownsTable: false);
        format.Write(output, e);
        r.Line($"{(trained.Summary.Cancelled ? "stopped early (Ctrl-C); " : "")}{names.Length:N0} entity vectors of {w2v.Dims} dims in {clock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
        r.Line($"wrote {Path.GetFullPath(output)}");
        if (splits is not null)
        {
            // Rows by entity id; a node no walk reached keeps a zero row.
            int n = kg.Entities.Count, d = w2v.Dims;
            var z = new float[(long)n * d];
            var row = new float[d];
            for (int i = 0; i < tokens.Length; i++)
            {
                trained.Vectors.ReadRow(i, row);
                row.CopyTo(z.AsSpan(int.Parse(tokens[i], CultureInfo.InvariantCulture) * d));
            }
            var (every, fresh) = splits.Evaluate(z, d, ct);
            string Fmt(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
            foreach (var (label, m) in new[] { ("all valid edges", every), ("valid edges whose pair is not a training edge", fresh) })
                r.Line($"{label} ranked among all nodes (filtered, both ends): MRR {Fmt(m.Mrr)}, MR {m.MeanRank.ToString("0.00", CultureInfo.InvariantCulture)}, Hits@1 {Fmt(m.HitsAt1)}, Hits@3 {Fmt(m.HitsAt3)}, Hits@10 {Fmt(m.HitsAt10)} ({m.Triples:N0} edges)");
        }
        return EmbedSharpCli.Ok;
    }
}
