using System.CommandLine;
using System.Globalization;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Search;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp neighbors FILE WORD</c>: nearest words by cosine similarity.</summary>
internal static class NeighborsCommand
{
    public static Command Create(IConsole console)
    {
        var file = CommonOptions.File();
        var word = new Argument<string>("word") { Description = "The query word." };
        var top = CommonOptions.Top();
        var json = CommonOptions.Json();
        var limit = CommonOptions.Limit();
        var cmd = new Command("neighbors", "Nearest neighbours of a word by cosine similarity (gensim's most_similar).\n\nExamples:\n  embedsharp neighbors vectors.txt france --top 5\n  embedsharp neighbors model.bin unseenword   (fastText: the query gets its subword vector)")
        {
            file, word, top, json, limit,
        };
        cmd.SetAction(r => Run(console, r.GetValue(file)!, r.GetValue(word)!, r.GetValue(top), r.GetValue(json), r.GetValue(limit)));
        return cmd;
    }

    public static int Run(IConsole console, string path, string word, int top, bool json, long? limit)
    {
        CommonOptions.CheckTop("neighbors", top);
        using var vectors = VectorFile.Open("neighbors", path, limit: limit);
        WordSimilarity[] result = vectors.MostSimilar("neighbors", word, top, out _);
        Print(console, json, result);
        return EmbedSharpCli.Ok;
    }

    internal static void Print(IConsole console, bool json, IReadOnlyList<WordSimilarity> result)
    {
        var r = new Renderer(console, json);
        if (json)
        {
            foreach (var s in result)
                r.JsonLine(new Dictionary<string, object?> { ["word"] = s.Word, ["similarity"] = (double)s.Similarity });
            return;
        }
        r.Table(["rank", "word", "cosine"], result.Select((s, i) => (IReadOnlyList<string>)[
            (i + 1).ToString(CultureInfo.InvariantCulture), s.Word, s.Similarity.ToString("0.0000", CultureInfo.InvariantCulture)]));
    }
}
