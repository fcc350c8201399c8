using System.CommandLine;
using EmbedSharp.Cli.Io;

namespace EmbedSharp.Cli.Commands;

/// <summary>Options and arguments several commands share, so they read the same everywhere.</summary>
internal static class CommonOptions
{
    public static Argument<string> File(string description = "A vector file: word2vec (text or binary), GloVe, fastText (.vec, .bin, .ftz), .npy or .safetensors; the format is detected.") =>
        new("file") { Description = description };

    public static Option<string?> Format() =>
        new("--format") { Description = $"Check the input is this format instead of trusting detection ({VectorFile.FormatNames})." };

    public static Option<long?> Limit() =>
        new("--limit") { Description = "Read only the first N words (the most frequent, in word2vec and fastText files)." };

    public static Option<bool> Json() =>
        new("--json") { Description = "Print JSON (one object per line) instead of a table." };

    public static Option<int> Top(int defaultValue = 10) =>
        new("--top") { Description = "How many results to print.", DefaultValueFactory = _ => defaultValue };

    public static void CheckTop(string op, int top)
    {
        if (top < 1)
            throw new ArgumentOutOfRangeException(nameof(top), top, $"[{op}] --top must be ≥ 1");
    }
}
