using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Graphs.Data;
using EmbedSharp.Graphs.Evaluation;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp kg evaluate MODEL --test FILE [--filter FILES...]</c>: filtered (or raw) link-prediction metrics.</summary>
internal static class KgEvaluateCommand
{
    private const string Op = "kg evaluate";

    public static Command Create(IConsole console)
    {
        var modelPath = new Argument<string>("model") { Description = "A model written by `embedsharp kg train` (.safetensors)." };
        var test = new Option<string>("--test") { Description = "Triples to rank (head<TAB>relation<TAB>tail), naming only entities and relations the model knows.", Required = true };
        var filter = new Option<string[]>("--filter") { Description = "Files of known true triples to leave out of the ranking (usually train.txt valid.txt); the test file is always part of the filter.", AllowMultipleArgumentsPerToken = true };
        var raw = new Option<bool>("--raw") { Description = "Raw ranks: no filtering at all." };
        var slice = new Option<int>("--slice") { Description = "Queries scored at once (memory: slice × entities floats).", DefaultValueFactory = _ => 256 };
        var json = CommonOptions.Json();
        var cmd = new Command("evaluate", "Rank the true head and tail of every test triple among all entities: MRR, MR, Hits@1/3/10 (ties ranked realistically, as PyKEEN does).\n\nExamples:\n  embedsharp kg evaluate umls.safetensors --test data/umls/test.txt --filter data/umls/train.txt data/umls/valid.txt\n  embedsharp kg evaluate umls.safetensors --test data/umls/test.txt --raw --json")
        {
            modelPath, test, filter, raw, slice, json,
        };
        cmd.SetAction(r => Run(console, r.GetValue(modelPath)!, r.GetValue(test)!, r.GetValue(filter) ?? [], r.GetValue(raw), r.GetValue(slice), r.GetValue(json)));
        return cmd;
    }

    public static int Run(IConsole console, string modelPath, string testPath, string[] filterPaths, bool raw, int slice, bool json)
    {
        if (slice < 1)
            throw new ArgumentOutOfRangeException(nameof(slice), $"[{Op}] --slice must be ≥ 1");
        if (raw && filterPaths.Length > 0)
            throw new ArgumentException($"[{Op}] --raw and --filter contradict each other; give one");
        var (model, entities, relations, _) = KgModelFile.Load(Op, modelPath);
        using (model)
        {
            Triple[] Read(string path)
            {
                using var source = KgModelFile.Open(Op, path).Reader;
                return KnowledgeGraph.ReadAgainst(new TripleSource(path, source), entities, relations);
            }
            var test = Read(testPath);
            FilterIndex? filter = raw ? null : FilterIndex.Build(model.NumEntities, [test, .. filterPaths.Select(Read)]);
            var r = new Renderer(console, json);
            var clock = Stopwatch.StartNew();
            var m = r.Progress("ranking", report => LinkPrediction.Evaluate(model, test, filter, new EvaluationOptions { SliceSize = slice, Progress = (done, total) => report((double)done / total) }));
            double seconds = clock.Elapsed.TotalSeconds;
            if (json)
            {
                r.JsonLine(new Dictionary<string, object?>
                {
                    ["mrr"] = m.Mrr, ["hits_at_1"] = m.HitsAt1, ["hits_at_3"] = m.HitsAt3, ["hits_at_10"] = m.HitsAt10, ["mr"] = m.MeanRank,
                    ["triples"] = m.Triples, ["queries"] = m.Queries, ["filtered"] = !raw, ["seconds"] = seconds, ["queries_per_second"] = seconds > 0 ? m.Queries / seconds : 0,
                    ["model"] = model.Name, ["entities"] = model.NumEntities,
                });
                return EmbedSharpCli.Ok;
            }
            string Fmt(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
            r.Line($"{model.Name}, {model.NumEntities:N0} entities: {m.Triples:N0} triples, {m.Queries:N0} queries ({(raw ? "raw" : "filtered")}, realistic ties), {seconds.ToString("0.00", CultureInfo.InvariantCulture)} s");
            r.Table(["MRR", "MR", "Hits@1", "Hits@3", "Hits@10"], [[Fmt(m.Mrr), m.MeanRank.ToString("0.00", CultureInfo.InvariantCulture), Fmt(m.HitsAt1), Fmt(m.HitsAt3), Fmt(m.HitsAt10)]]);
            return EmbedSharpCli.Ok;
        }
    }
}
