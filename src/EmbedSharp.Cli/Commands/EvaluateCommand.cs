using System.CommandLine;
using System.Globalization;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp evaluate FILE --analogies A --pairs P…</c>: gensim's word-analogy and word-pair evaluations.</summary>
internal static class EvaluateCommand
{
    public static Command Create(IConsole console)
    {
        var file = CommonOptions.File();
        var analogies = new Option<string[]>("--analogies") { Description = "Analogy files in the Google format (': section' lines, then 'a b c d').", AllowMultipleArgumentsPerToken = true };
        var pairs = new Option<string[]>("--pairs") { Description = "Word-pair files: 'w1<TAB>w2<TAB>score' per line ('#' comments).", AllowMultipleArgumentsPerToken = true };
        var restrict = new Option<int>("--restrict-vocab") { Description = "Only the first N words take part, as gensim's restrict_vocab.", DefaultValueFactory = _ => 300_000 };
        var json = CommonOptions.Json();
        var cmd = new Command("evaluate", "Evaluate vectors on word analogies (accuracy) and word-pair similarity (Pearson, Spearman), exactly as gensim reports them.\n\nExample:\n  embedsharp evaluate vectors.txt --analogies questions-words.txt --pairs EN-WS-353-ALL.txt EN-MEN-TR-3k.txt")
        {
            file, analogies, pairs, restrict, json,
        };
        cmd.SetAction(r => Run(console, r.GetValue(file)!, r.GetValue(analogies) ?? [], r.GetValue(pairs) ?? [], r.GetValue(restrict), r.GetValue(json)));
        return cmd;
    }

    public static int Run(IConsole console, string path, string[] analogies, string[] pairs, int restrictVocab, bool json)
    {
        if (analogies.Length == 0 && pairs.Length == 0)
            throw new ArgumentException("[evaluate] give at least one --analogies or --pairs file");
        if (restrictVocab < 1)
            throw new ArgumentOutOfRangeException(nameof(restrictVocab), restrictVocab, "[evaluate] --restrict-vocab must be ≥ 1");
        foreach (string f in analogies.Concat(pairs))
        {
            if (!File.Exists(f))
                throw new FileNotFoundException($"[evaluate] no such file: {f}", f);
        }
        using var vectors = VectorFile.Open("evaluate", path);
        var keyed = vectors.Keyed("evaluate");
        var r = new Renderer(console, json);
        var ci = CultureInfo.InvariantCulture;
        var rows = new List<IReadOnlyList<string>>();
        foreach (string f in analogies)
        {
            using var s = File.OpenRead(f);
            var e = keyed.EvaluateWordAnalogies(s, restrictVocab);
            int answered = e.Questions - e.OutOfVocabulary;
            if (json)
                r.JsonLine(new Dictionary<string, object?> { ["file"] = f, ["task"] = "analogy", ["accuracy"] = e.Score, ["questions"] = e.Questions, ["oov_ratio"] = e.OovRatio });
            rows.Add([Path.GetFileName(f), "analogy accuracy", e.Score.ToString("0.0000", ci), $"{answered:N0} of {e.Questions:N0}", e.OovRatio.ToString("0.0", ci) + " %"]);
        }
        foreach (string f in pairs)
        {
            using var s = File.OpenRead(f);
            var e = keyed.EvaluateWordPairs(s, '\t', restrictVocab);
            if (json)
                r.JsonLine(new Dictionary<string, object?> { ["file"] = f, ["task"] = "pairs", ["pearson"] = e.Pearson, ["spearman"] = e.Spearman, ["pairs"] = e.Pairs, ["oov_ratio"] = e.OovRatio });
            rows.Add([Path.GetFileName(f), "Spearman ρ (Pearson r)", $"{e.Spearman.ToString("0.0000", ci)} ({e.Pearson.ToString("0.0000", ci)})", $"{e.Pairs:N0} of {e.Pairs + e.OutOfVocabulary:N0}", e.OovRatio.ToString("0.0", ci) + " %"]);
        }
        if (!json)
            r.Table(["file", "measure", "score", "covered", "OOV"], rows);
        return EmbedSharpCli.Ok;
    }
}
