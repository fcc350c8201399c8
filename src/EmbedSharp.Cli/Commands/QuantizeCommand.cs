using System.CommandLine;
using System.Globalization;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Formats.Mlx;
using EmbedSharp.Quantization;

namespace EmbedSharp.Cli.Commands;

/// <summary>
/// <c>embedsharp quantize IN OUTDIR</c>: quantize a table MLX's way and write an MLX checkpoint
/// (<c>model.safetensors</c> with <c>NAME.weight/.scales/.biases</c> + <c>config.json</c>).
/// </summary>
internal static class QuantizeCommand
{
    public static Command Create(IConsole console)
    {
        var input = new Argument<string>("input") { Description = "The vector file to quantize (any format we read)." };
        var output = new Argument<string>("output") { Description = "Directory for the MLX checkpoint (created; config.json is merged if present)." };
        var bits = new Option<int?>("--bits") { Description = "Bits per value: affine 2, 3, 4, 5, 6, 8; mxfp4/nvfp4 4; mxfp8 8 (default: the mode's)." };
        var groupSize = new Option<int?>("--group-size") { Description = "Values per scale: affine 32, 64, 128; mxfp4/mxfp8 32; nvfp4 16 (default: the mode's)." };
        var mode = new Option<string>("--mode") { Description = "affine, mxfp4, nvfp4 or mxfp8.", DefaultValueFactory = _ => "affine" };
        var name = new Option<string>("--name") { Description = "Layer path in the checkpoint.", DefaultValueFactory = _ => "embed_tokens" };
        var gpu = new Option<bool>("--gpu-rounding") { Description = "Round as MLX's Metal kernels do (Mac-made checkpoints) instead of MLX's CPU reference." };
        var json = CommonOptions.Json();
        var cmd = new Command("quantize", "Quantize vectors bit-compatibly with MLX (mx.quantize) and write an MLX checkpoint, with the size and reconstruction error.\n\nExamples:\n  embedsharp quantize vectors.txt out/q4 --bits 4 --group-size 64\n  embedsharp quantize vectors.safetensors out/fp4 --mode mxfp4")
        {
            input, output, bits, groupSize, mode, name, gpu, json,
        };
        cmd.SetAction(r => Run(console, r.GetValue(input)!, r.GetValue(output)!, r.GetValue(bits), r.GetValue(groupSize), r.GetValue(mode)!, r.GetValue(name)!, r.GetValue(gpu), r.GetValue(json)));
        return cmd;
    }

    public static int Run(IConsole console, string input, string output, int? bits, int? groupSize, string mode, string name, bool gpuRounding, bool json)
    {
        QuantizationMode m = QuantizationModes.Parse(mode);
        using var vectors = VectorFile.Open("quantize", input);
        var table = vectors.Embeddings.Table;
        var backend = gpuRounding ? QuantizationBackend.Gpu : QuantizationBackend.Cpu;
        var r = new Renderer(console, json);
        var q = r.Progress($"quantizing {table.NumEmbeddings:N0} × {table.Dims}", _ => QuantizedTable.Quantize(table, groupSize, bits, m, backend: backend));
        var report = QuantizationReport.Compare(table, q);
        new MlxCheckpointWriter().AddQuantized(name, q).Save(output);
        if (vectors.Embeddings.Words is { } words)
            File.WriteAllLines(Path.Combine(output, "vocab.txt"), words);
        var ci = CultureInfo.InvariantCulture;
        if (json)
        {
            r.JsonLine(new Dictionary<string, object?>
            {
                ["output"] = output, ["mode"] = m.ToMlxName(), ["bits"] = q.Bits, ["group_size"] = q.GroupSize,
                ["bytes_before"] = report.BytesBefore, ["bytes_after"] = report.BytesAfter, ["max_abs_error"] = report.MaxAbsError,
                ["rms_error"] = report.RmsError, ["mean_cosine"] = report.MeanCosine, ["min_cosine"] = report.MinCosine,
            });
            return EmbedSharpCli.Ok;
        }
        r.Table(["", "value"],
        [
            ["quantization", $"{m.ToMlxName()}, {q.Bits}-bit, group {q.GroupSize}{(gpuRounding ? ", GPU rounding" : "")}"],
            ["size", $"{report.BytesBefore:N0} → {report.BytesAfter:N0} bytes ({report.CompressionRatio.ToString("0.0", ci)}× smaller)"],
            ["max |w − ŵ|", report.MaxAbsError.ToString("G4", ci)],
            ["RMS error", report.RmsError.ToString("G4", ci)],
            ["row cosine", $"mean {report.MeanCosine.ToString("0.0000", ci)}, worst {report.MinCosine.ToString("0.0000", ci)}"],
        ]);
        r.Line($"wrote {Path.GetFullPath(output)} ({name}.weight/.scales{(m == QuantizationMode.Affine ? "/.biases" : "")}, config.json{(vectors.Embeddings.Words is null ? "" : ", vocab.txt")})");
        return EmbedSharpCli.Ok;
    }
}
