using System.CommandLine;
using System.Globalization;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp similarity FILE W1 W2</c>: cosine similarity of two words.</summary>
internal static class SimilarityCommand
{
    public static Command Create(IConsole console)
    {
        var file = CommonOptions.File();
        var w1 = new Argument<string>("word1") { Description = "First word." };
        var w2 = new Argument<string>("word2") { Description = "Second word." };
        var json = CommonOptions.Json();
        var cmd = new Command("similarity", "Cosine similarity of two words (fastText models build unknown words from subwords).\n\nExample:\n  embedsharp similarity vectors.txt cat dog")
        {
            file, w1, w2, json,
        };
        cmd.SetAction(r => Run(console, r.GetValue(file)!, r.GetValue(w1)!, r.GetValue(w2)!, r.GetValue(json)));
        return cmd;
    }

    public static int Run(IConsole console, string path, string word1, string word2, bool json)
    {
        using var vectors = VectorFile.Open("similarity", path);
        var a = new float[vectors.Dims];
        var b = new float[vectors.Dims];
        foreach (var (w, v) in new[] { (word1, a), (word2, b) })
        {
            if (!vectors.TryGetWordVector(w, v))
                throw new ArgumentException($"[similarity] '{w}' is not in the vocabulary of {path} and the format has no subwords to build it from");
        }
        double na = Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot<float>(a, a));
        double nb = Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot<float>(b, b));
        double cos = na == 0 || nb == 0 ? 0 : System.Numerics.Tensors.TensorPrimitives.Dot<float>(a, b) / (na * nb);
        var r = new Renderer(console, json);
        if (json)
            r.JsonLine(new Dictionary<string, object?> { ["word1"] = word1, ["word2"] = word2, ["cosine"] = cos });
        else
            console.Out.WriteLine($"{word1} {word2} {cos.ToString("0.0000", CultureInfo.InvariantCulture)}");
        return EmbedSharpCli.Ok;
    }
}
