using System.CommandLine;
using System.Diagnostics;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Formats;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp convert IN OUT</c>: any vector format into any other, streaming rows where it can.</summary>
internal static class ConvertCommand
{
    public static Command Create(IConsole console)
    {
        var input = new Argument<string>("input") { Description = "The vector file to read (format detected)." };
        var output = new Argument<string>("output") { Description = "The file to write (format from --to or the extension: .bin word2vec binary, .txt word2vec text, .vec fastText, .npy, .safetensors)." };
        var to = new Option<string?>("--to") { Description = $"Output format ({VectorFile.FormatNames})." };
        var limit = CommonOptions.Limit();
        var json = CommonOptions.Json();
        var cmd = new Command("convert", "Convert vectors between formats: word2vec text/binary, GloVe, fastText .vec/.bin, NumPy .npy (+ .vocab), safetensors (+ .vocab).\n\nExamples:\n  embedsharp convert vectors.txt vectors.safetensors\n  embedsharp convert model.bin vectors.npy --limit 100000\n  embedsharp convert glove.txt out.bin --to word2vec-binary")
        {
            input, output, to, limit, json,
        };
        cmd.SetAction(r => Run(console, r.GetValue(input)!, r.GetValue(output)!, r.GetValue(to), r.GetValue(limit), r.GetValue(json)));
        return cmd;
    }

    public static int Run(IConsole console, string input, string output, string? to, long? limit, bool json)
    {
        if (!File.Exists(input))
            throw new FileNotFoundException($"[convert] no such file: {input}", input);
        if (limit is < 0)
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "[convert] --limit must be ≥ 0");
        OutputPaths.Prepare(output);
        EmbeddingFormat? outFormat = to is null ? null : VectorFile.FormatByName("convert", to);
        var sw = Stopwatch.StartNew();
        var result = FormatConverter.Convert(input, output, outFormat, options: new ReadOptions { Limit = limit });
        var r = new Renderer(console, json);
        if (json)
        {
            r.JsonLine(new Dictionary<string, object?>
            {
                ["input"] = input, ["input_format"] = result.InputFormat, ["output"] = output, ["output_format"] = result.OutputFormat,
                ["num_embeddings"] = result.NumEmbeddings, ["dims"] = result.Dims, ["streamed"] = result.Streamed, ["seconds"] = sw.Elapsed.TotalSeconds,
            });
        }
        else
        {
            r.Line($"converted {result.NumEmbeddings:N0} × {result.Dims} from {result.InputFormat} to {result.OutputFormat} in {sw.Elapsed.TotalSeconds:0.00} s{(result.Streamed ? " (streamed)" : "")}");
            r.Line($"wrote {Path.GetFullPath(output)}");
        }
        return EmbedSharpCli.Ok;
    }
}
