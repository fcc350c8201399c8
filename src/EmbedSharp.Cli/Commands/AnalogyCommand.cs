using System.CommandLine;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Search;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp analogy FILE A B C</c>: A is to B as C is to ?</summary>
internal static class AnalogyCommand
{
    public static Command Create(IConsole console)
    {
        var file = CommonOptions.File();
        var a = new Argument<string>("a") { Description = "A in 'A is to B as C is to ?'." };
        var b = new Argument<string>("b") { Description = "B." };
        var c = new Argument<string>("c") { Description = "C." };
        var top = CommonOptions.Top(5);
        var json = CommonOptions.Json();
        var limit = CommonOptions.Limit();
        var mul = new Option<bool>("--cosmul") { Description = "Use 3CosMul (Levy & Goldberg) instead of 3CosAdd." };
        var cmd = new Command("analogy", "Solve 'A is to B as C is to ?' (3CosAdd: argmax cos(x, B − A + C), the inputs excluded).\n\nExamples:\n  embedsharp analogy vectors.txt man king woman\n  embedsharp analogy vectors.txt paris france rome --cosmul")
        {
            file, a, b, c, top, json, limit, mul,
        };
        cmd.SetAction(r => Run(console, r.GetValue(file)!, r.GetValue(a)!, r.GetValue(b)!, r.GetValue(c)!, r.GetValue(top), r.GetValue(json), r.GetValue(limit), r.GetValue(mul)));
        return cmd;
    }

    public static int Run(IConsole console, string path, string a, string b, string c, int top, bool json, long? limit, bool cosmul)
    {
        CommonOptions.CheckTop("analogy", top);
        using var vectors = VectorFile.Open("analogy", path, limit: limit);
        var keyed = vectors.Keyed("analogy");
        foreach (string w in new[] { a, b, c })
        {
            if (!keyed.Contains(w))
                throw new ArgumentException($"[analogy] '{w}' is not in the vocabulary of {path} ({keyed.Count:N0} words)");
        }
        var result = keyed.Analogy(a, b, c, top, cosmul ? AnalogyMethod.Mul : AnalogyMethod.Add);
        NeighborsCommand.Print(console, json, result);
        return EmbedSharpCli.Ok;
    }
}
