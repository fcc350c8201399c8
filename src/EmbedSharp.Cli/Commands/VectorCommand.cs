using System.CommandLine;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;

namespace EmbedSharp.Cli.Commands;

/// <summary>
/// <c>embedsharp vector FILE [WORDS…]</c>: each word and its vector on one line, exactly as
/// <c>fasttext print-word-vectors</c> prints them; words from standard input when none are given.
/// </summary>
internal static class VectorCommand
{
    public static Command Create(IConsole console)
    {
        var file = CommonOptions.File();
        var words = new Argument<string[]>("words") { Description = "Words to print (default: read whitespace-separated words from standard input).", Arity = ArgumentArity.ZeroOrMore };
        var format = CommonOptions.Format();
        var cmd = new Command("vector", "Print word vectors, one word per line, in fasttext print-word-vectors format.\n\nUnknown words get fastText's subword vector from a .bin/.ftz model, and zeros from formats without subwords.\n\nExamples:\n  embedsharp vector vectors.bin king queen\n  echo 'unseenword' | embedsharp vector model.bin")
        {
            file, words, format,
        };
        cmd.SetAction(r => Run(console, r.GetValue(file)!, r.GetValue(words) ?? [], r.GetValue(format)));
        return cmd;
    }

    public static int Run(IConsole console, string path, string[] words, string? format)
    {
        using var vectors = VectorFile.Open("vector", path, format);
        var v = new float[vectors.Dims];
        IEnumerable<string> source = words.Length > 0 ? words : ReadWords(console.In);
        foreach (string word in source)
        {
            if (!vectors.TryGetWordVector(word, v))
                Array.Clear(v);
            console.Out.WriteLine(FastTextText.VectorLine(word, v));
        }
        return EmbedSharpCli.Ok;
    }

    private static IEnumerable<string> ReadWords(TextReader input)
    {
        string? line;
        while ((line = input.ReadLine()) is not null)
        {
            foreach (string w in line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                yield return w;
        }
    }
}
