using System.CommandLine;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Numerics;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp plot FILE WORDS… --out map.png</c>: a 2-D PCA map of chosen words.</summary>
internal static class PlotCommand
{
    public static Command Create(IConsole console)
    {
        var file = CommonOptions.File();
        var words = new Argument<string[]>("words") { Description = "Words to place (default: the --top most frequent).", Arity = ArgumentArity.ZeroOrMore };
        var output = new Option<string>("--out", "-o") { Description = "Picture to write: .png or .svg.", DefaultValueFactory = _ => "map.png" };
        var top = CommonOptions.Top(50);
        var cmd = new Command("plot", "Draw a 2-D map (principal components) of word vectors to PNG or SVG.\n\nExamples:\n  embedsharp plot vectors.txt king queen man woman paris france --out royals.png\n  embedsharp plot vectors.txt --top 100 --out frequent.svg")
        {
            file, words, output, top,
        };
        cmd.SetAction(r => Run(console, r.GetValue(file)!, r.GetValue(words) ?? [], r.GetValue(output)!, r.GetValue(top)));
        return cmd;
    }

    public static int Run(IConsole console, string path, string[] words, string output, int top)
    {
        CommonOptions.CheckTop("plot", top);
        using var vectors = VectorFile.Open("plot", path);
        string[] chosen = words.Length > 0 ? words : vectors.Keyed("plot").Words.Take(top).ToArray();
        if (chosen.Length < 2)
            throw new ArgumentException("[plot] a map needs at least 2 words");
        int d = vectors.Dims;
        var data = new float[chosen.Length * d];
        var missing = new List<string>();
        for (int i = 0; i < chosen.Length; i++)
        {
            if (!vectors.TryGetWordVector(chosen[i], data.AsSpan(i * d, d)))
                missing.Add(chosen[i]);
        }
        if (missing.Count > 0)
            throw new ArgumentException($"[plot] not in the vocabulary of {path}: {string.Join(", ", missing)}");
        var xy = new float[chosen.Length * 2];
        Kernels.Pca(data, chosen.Length, d, Math.Min(2, d), xy);
        Plots.Map(output, $"{Path.GetFileName(path)}: {chosen.Length} words, first two principal components", xy, chosen);
        console.Out.WriteLine($"wrote {Path.GetFullPath(output)}");
        return EmbedSharpCli.Ok;
    }
}
