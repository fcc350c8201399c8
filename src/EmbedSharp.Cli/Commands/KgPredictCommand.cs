using System.CommandLine;
using System.Globalization;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Graphs.Data;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp kg predict MODEL HEAD RELATION</c>: the most plausible tails (or, with <c>--head</c>, heads).</summary>
internal static class KgPredictCommand
{
    private const string Op = "kg predict";

    public static Command Create(IConsole console)
    {
        var modelPath = new Argument<string>("model") { Description = "A model written by `embedsharp kg train`." };
        var entity = new Argument<string>("entity") { Description = "The known entity: the head (or, with --head, the tail)." };
        var relation = new Argument<string>("relation") { Description = "The relation." };
        var head = new Option<bool>("--head") { Description = "Predict heads of (?, RELATION, ENTITY) instead of tails of (ENTITY, RELATION, ?)." };
        var exclude = new Option<string[]>("--exclude-known") { Description = "Leave out answers already listed in these triple files (e.g. train.txt).", AllowMultipleArgumentsPerToken = true };
        var top = CommonOptions.Top();
        var json = CommonOptions.Json();
        var cmd = new Command("predict", "The most plausible answers of (ENTITY, RELATION, ?) by the model's score.\n\nExamples:\n  embedsharp kg predict umls.safetensors alga isa --top 5\n  embedsharp kg predict umls.safetensors entity isa --head --exclude-known data/umls/train.txt")
        {
            modelPath, entity, relation, head, exclude, top, json,
        };
        cmd.SetAction(r => Run(console, r.GetValue(modelPath)!, r.GetValue(entity)!, r.GetValue(relation)!, r.GetValue(head), r.GetValue(exclude) ?? [], r.GetValue(top), r.GetValue(json)));
        return cmd;
    }

    public static int Run(IConsole console, string modelPath, string entityName, string relationName, bool head, string[] excludePaths, int top, bool json)
    {
        CommonOptions.CheckTop(Op, top);
        var (model, entities, relations, _) = KgModelFile.Load(Op, modelPath);
        using (model)
        {
            if (!entities.TryGetId(entityName, out int anchor))
                throw new ArgumentException($"[{Op}] entity '{entityName}' is not in the model's {entities.Count:N0} entities");
            if (!relations.TryGetId(relationName, out int relation))
                throw new ArgumentException($"[{Op}] relation '{relationName}' is not in the model's relations ({string.Join(", ", relations.Names.Take(10))}{(relations.Count > 10 ? ", ..." : "")})");
            var side = head ? QuerySide.Head : QuerySide.Tail;
            var known = new List<int>();
            foreach (string path in excludePaths)
            {
                using var reader = KgModelFile.Open(Op, path).Reader;
                var triples = KnowledgeGraph.ReadAgainst(new TripleSource(path, reader), entities, relations);
                known.AddRange(FilterIndex.Build(model.NumEntities, triples).Answers(anchor, relation, side).ToArray());
            }
            var results = model.Predict(anchor, relation, side, top, known.Distinct().ToArray());
            var r = new Renderer(console, json);
            if (json)
            {
                foreach (var n in results)
                    r.JsonLine(new Dictionary<string, object?> { ["entity"] = entities[n.Index], ["score"] = (double)n.Score });
                return EmbedSharpCli.Ok;
            }
            r.Line(head ? $"(?, {relationName}, {entityName}):" : $"({entityName}, {relationName}, ?):");
            r.Table(["#", head ? "head" : "tail", "score"], results.Select((n, i) => (IReadOnlyList<string>)[(i + 1).ToString(CultureInfo.InvariantCulture), entities[n.Index], n.Score.ToString("0.0000", CultureInfo.InvariantCulture)]));
            return EmbedSharpCli.Ok;
        }
    }
}
