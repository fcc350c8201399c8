using System.CommandLine;
using System.Globalization;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Formats.Mlx;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp inspect PATH</c>: shape, dtype, norms, vocabulary sample — or the layers of an MLX checkpoint.</summary>
internal static class InspectCommand
{
    public static Command Create(IConsole console)
    {
        var path = new Argument<string>("path") { Description = "A vector file, or an MLX checkpoint directory (config.json + *.safetensors)." };
        var json = CommonOptions.Json();
        var cmd = new Command("inspect", "Describe a vector file (format, shape, dtype, row norms, first words) or an MLX checkpoint (tensors and their quantization).\n\nExamples:\n  embedsharp inspect vectors.bin\n  embedsharp inspect out/mlx-model")
        {
            path, json,
        };
        cmd.SetAction(r => Run(console, r.GetValue(path)!, r.GetValue(json)));
        return cmd;
    }

    public static int Run(IConsole console, string path, bool json)
    {
        var r = new Renderer(console, json);
        if (Directory.Exists(path))
            return InspectCheckpoint(r, path, json);
        using var vectors = VectorFile.Open("inspect", path);
        var table = vectors.Embeddings.Table;
        var norms = new double[table.NumEmbeddings];
        var row = new float[table.Dims];
        for (int i = 0; i < norms.Length; i++)
        {
            table.ReadRow(i, row);
            norms[i] = Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot<float>(row, row));
        }
        var words = vectors.Embeddings.Words;
        var sample = words?.Take(10).ToArray() ?? [];
        double mean = norms.Length == 0 ? 0 : norms.Average();
        double min = norms.Length == 0 ? 0 : norms.Min();
        double max = norms.Length == 0 ? 0 : norms.Max();
        if (json)
        {
            r.JsonLine(new Dictionary<string, object?>
            {
                ["path"] = path, ["format"] = vectors.Format.Name, ["num_embeddings"] = table.NumEmbeddings, ["dims"] = table.Dims,
                ["dtype"] = table.DType.ToString(), ["bytes"] = table.ByteLength, ["norm_min"] = min, ["norm_mean"] = mean, ["norm_max"] = max,
                ["has_words"] = words is not null, ["subwords"] = vectors.Model is not null, ["first_words"] = sample,
            });
            return EmbedSharpCli.Ok;
        }
        var ci = CultureInfo.InvariantCulture;
        var facts = new List<IReadOnlyList<string>>
        {
            new[] { "format", vectors.Format.Name },
            new[] { "shape", $"{table.NumEmbeddings:N0} × {table.Dims}" },
            new[] { "dtype", table.DType.ToString() },
            new[] { "bytes", $"{table.ByteLength:N0}" },
            new[] { "row L2 norm", $"min {min.ToString("0.###", ci)}, mean {mean.ToString("0.###", ci)}, max {max.ToString("0.###", ci)}" },
            new[] { "words", words is null ? "none (bare matrix)" : string.Join(" ", sample) + (words.Count > sample.Length ? " …" : "") },
        };
        if (vectors.Model is { } model)
            facts.Add(["subwords", $"fastText: minn {model.Args.Minn}, maxn {model.Args.Maxn}, bucket {model.Args.Bucket:N0}{(model.IsQuantized ? ", product-quantized" : "")}"]);
        r.Table(["property", "value"], facts);
        return EmbedSharpCli.Ok;
    }

    private static int InspectCheckpoint(Renderer r, string directory, bool json)
    {
        using var checkpoint = MlxCheckpoint.Open(directory);
        var rows = new List<IReadOnlyList<string>>();
        foreach (string name in checkpoint.TensorNames.Order(StringComparer.Ordinal))
        {
            var info = checkpoint.GetInfo(name);
            string layer = name.EndsWith(".weight", StringComparison.Ordinal) ? name[..^".weight".Length] : "";
            string quant = layer.Length > 0 && checkpoint.IsQuantized(layer) && checkpoint.Quantization?.For(layer) is { } q
                ? $"{q.Mode.ToString().ToLowerInvariant()} {q.Bits}-bit, group {q.GroupSize}" : "";
            if (json)
                r.JsonLine(new Dictionary<string, object?> { ["tensor"] = name, ["dtype"] = info.DType.ToString(), ["shape"] = string.Join("x", info.Shape), ["quantization"] = quant });
            else
                rows.Add([name, info.DType.ToString(), string.Join(" × ", info.Shape), quant]);
        }
        if (!json)
            r.Table(["tensor", "dtype", "shape", "quantization"], rows);
        return EmbedSharpCli.Ok;
    }
}
