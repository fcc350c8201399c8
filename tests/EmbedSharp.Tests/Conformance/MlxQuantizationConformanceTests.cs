using System.Text.Json;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;
using Xunit.Abstractions;

namespace EmbedSharp.Tests.Conformance;

/// <summary>
/// Runs every <c>mlx_quant_*.json</c> vectors file: packed words, codes, scales, biases and dequantized
/// values of both MLX backends, compared bit for bit; the argument-validation cases with MLX's messages;
/// and the summary index.
/// </summary>
public sealed class MlxQuantizationConformanceTests(ITestOutputHelper output)
{
    public static TheoryData<string> VectorFiles()
    {
        var data = new TheoryData<string>();
        foreach (string f in ConformanceFiles.List("mlx_quant_*_b*_gs*.json"))
            data.Add(f);
        return data;
    }

    [Fact]
    public void Every_vector_file_is_covered()
    {
        // All mlx_quant_ files are either vector files (run below), the errors file or the index.
        string[] all = ConformanceFiles.List("mlx_quant_*.json");
        string[] vectors = ConformanceFiles.List("mlx_quant_*_b*_gs*.json");
        Assert.Equal(all.Length, vectors.Length + 2);
        Assert.Contains("mlx_quant_errors.json", all);
        Assert.Contains("mlx_quant_index.json", all);
        Assert.NotEmpty(vectors);
    }

    [Theory]
    [MemberData(nameof(VectorFiles))]
    public void Vectors_match_bit_for_bit(string file)
    {
        using var doc = ConformanceFiles.Load(file);
        var root = doc.RootElement;
        var report = new ConformanceReport(file, output);
        var mode = QuantizationModes.Parse(root.GetProperty("mode").GetString()!);
        int bits = root.GetProperty("bits").GetInt32();
        int groupSize = root.GetProperty("group_size").GetInt32();
        DType dtype = ParseDType(root.GetProperty("dtype").GetString()!);
        float? globalScale = root.TryGetProperty("global_scale", out var gsEl) && gsEl.ValueKind == JsonValueKind.Number
            ? (float)gsEl.GetDouble() : null;
        string[] rowKinds = root.GetProperty("row_kinds").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var input = FloatArray.Parse(root.GetProperty("input"));
        int rows = (int)input.Shape[0], dims = (int)input.Shape[1];
        using var table = new EmbeddingTable(rows, dims, dtype);
        for (int r = 0; r < rows; r++)
            table.WriteRow(r, input.Values.AsSpan(r * dims, dims));
        report.Record("input is exact in dtype", CompareBits(table.ToArray(), input, "input"));

        var tables = new Dictionary<QuantizationBackend, QuantizedTable>();
        foreach (var backend in new[] { QuantizationBackend.Cpu, QuantizationBackend.Gpu })
        {
            string name = backend == QuantizationBackend.Cpu ? "cpu" : "gpu";
            var section = root.GetProperty(name);
            QuantizedTable? q = null;
            report.Run($"{name}: quantize", () =>
            {
                q = QuantizedTable.Quantize(table, groupSize, bits, mode, globalScale, backend);
                return null;
            });
            if (q is null)
                continue;
            tables[backend] = q;
            uint[] wq = IntArray(section.GetProperty("wq")).Select(v => (uint)v).ToArray();
            long[] codes = IntArray(section.GetProperty("codes"));
            int words = q.WordsPerRow, groups = q.GroupsPerRow;
            var codeRow = new byte[dims];
            for (int r = 0; r < rows; r++)
            {
                string rc = $"{name} row {r} ({rowKinds[r]})";
                int row = r;
                report.Run($"{rc}: wq", () => FirstDifference(q.GetWeightRow(row).ToArray(), wq.AsSpan(row * words, words).ToArray(), "wq"));
                report.Run($"{rc}: codes", () =>
                {
                    q.GetCodes(row, codeRow);
                    return FirstDifference(codeRow.Select(c => (long)c).ToArray(), codes.AsSpan(row * dims, dims).ToArray(), "codes");
                });
            }
            if (mode == QuantizationMode.Affine)
            {
                var scales = FloatArray.Parse(section.GetProperty("scales"));
                var biases = FloatArray.Parse(section.GetProperty("biases"));
                report.Run($"{name}: scales", () => FirstDifference(RawBits(q.Scales, dtype), scales.Bits, "scales"));
                report.Run($"{name}: biases", () => FirstDifference(RawBits(q.Biases, dtype), biases.Bits, "biases"));
                // Dequantize the file's own arrays, so a quantizer bug cannot hide a dequantizer bug.
                var parts = QuantizedTable.FromParts(rows, dims, groupSize, bits, mode, dtype, wq,
                    ToRaw(scales, dtype), ToRaw(biases, dtype));
                foreach (var (field, fused) in new[] { ("dequant", false), ("dequant_fused", true) })
                {
                    var expected = FloatArray.Parse(section.GetProperty(field));
                    report.Run($"{name}: {field}", () =>
                    {
                        parts.FusedDequantize = fused;
                        using var deq = parts.Dequantize(null, backend);
                        if (deq.DType != ParseDType(expected.DType))
                            return $"dtype {deq.DType}, expected {expected.DType}";
                        return CompareBits(deq.ToArray(), expected, field)
                            ?? CompareBits(LookupAll(parts), expected, field + " via DequantizeRow");
                    });
                }
            }
            else
            {
                long[] scalesU8 = IntArray(section.GetProperty("scales_u8"));
                report.Run($"{name}: scales_u8", () => FirstDifference(q.Scales.ToArray().Select(b => (long)b).ToArray(), scalesU8, "scales_u8"));
                var parts = QuantizedTable.FromParts(rows, dims, groupSize, bits, mode, dtype, wq,
                    scalesU8.Select(v => (byte)v).ToArray(), default, globalScale);
                foreach (var (field, outType) in new[] { ("dequant_bf16", (DType?)null), ("dequant_f32", DType.Float32) })
                {
                    var expected = FloatArray.Parse(section.GetProperty(field));
                    report.Run($"{name}: {field}", () =>
                    {
                        using var deq = parts.Dequantize(outType, backend);
                        if (deq.DType != ParseDType(expected.DType))
                            return $"dtype {deq.DType}, expected {expected.DType}";
                        string? diff = CompareBits(deq.ToArray(), expected, field);
                        // The float32 fast path (lookups) must give MLX's float32 result on either backend.
                        if (diff is null && outType == DType.Float32)
                            diff = CompareBits(LookupAll(parts), expected, field + " via DequantizeRow");
                        return diff;
                    });
                }
            }
        }

        if (tables.Count == 2)
        {
            report.Run("cpu_gpu_differing_groups", () =>
            {
                var expected = root.GetProperty("cpu_gpu_differing_groups").EnumerateArray()
                    .Select(e => (e.GetProperty("row").GetInt32(), e.GetProperty("group").GetInt32())).ToList();
                var actual = DifferingGroups(tables[QuantizationBackend.Cpu], tables[QuantizationBackend.Gpu]);
                bool identical = root.GetProperty("cpu_gpu_identical").GetBoolean();
                if (identical != (actual.Count == 0))
                    return $"cpu_gpu_identical {actual.Count == 0}, expected {identical}";
                return actual.SequenceEqual(expected) ? null : $"differing groups [{string.Join(" ", actual)}], expected [{string.Join(" ", expected)}]";
            });
        }
        report.Finish();
    }

    [Fact]
    public void Index_summarises_the_vector_files()
    {
        const string file = "mlx_quant_index.json";
        using var doc = ConformanceFiles.Load(file);
        var report = new ConformanceReport(file, output);
        foreach (var entry in doc.RootElement.GetProperty("files").EnumerateArray())
        {
            string name = entry.GetProperty("file").GetString()!;
            report.Run(name, () =>
            {
                using var vectors = ConformanceFiles.Load(name);
                var root = vectors.RootElement;
                foreach (string key in new[] { "mode", "dtype" })
                {
                    if (root.GetProperty(key).GetString() != entry.GetProperty(key).GetString())
                        return $"{key} differs from the file";
                }
                foreach (string key in new[] { "bits", "group_size" })
                {
                    if (root.GetProperty(key).GetInt32() != entry.GetProperty(key).GetInt32())
                        return $"{key} differs from the file";
                }
                int n = entry.GetProperty("n_differing_groups").GetInt32();
                int inFile = root.GetProperty("cpu_gpu_differing_groups").GetArrayLength();
                return n == inFile ? null : $"n_differing_groups {n}, the file lists {inFile}";
            });
        }
        report.Finish();
    }

    [Fact]
    public void Errors_match_mlx_messages()
    {
        const string file = "mlx_quant_errors.json";
        using var doc = ConformanceFiles.Load(file);
        var report = new ConformanceReport(file, output);
        int i = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string op = c.GetProperty("op").GetString()!;
            var args = c.GetProperty("args");
            string? expectedError = c.GetProperty("error").ValueKind == JsonValueKind.Null ? null : c.GetProperty("error").GetString();
            string? message = c.TryGetProperty("message", out var m) ? m.GetString() : null;
            report.Run($"#{i++} {op} {args.GetRawText()}", () => op switch
            {
                "quantize" => CheckQuantizeCase(args, expectedError, message),
                "dequantize" => CheckDequantizeCase(args, expectedError, message),
                _ => $"unknown op {op}",
            });
        }
        report.Finish();
    }

    private static string? CheckQuantizeCase(JsonElement args, string? error, string? message)
    {
        long[] shape = args.TryGetProperty("shape", out var s) ? s.EnumerateArray().Select(e => e.GetInt64()).ToArray() : [4, 256];
        string dtype = Str(args, "dtype") ?? "float32";
        string mode = Str(args, "mode") ?? "affine";
        int? gs = Int(args, "group_size"), bits = Int(args, "bits");
        float? global = args.TryGetProperty("global_scale", out var g) ? (float)g.GetDouble() : null;
        string? outcome = Outcome(() => QuantizationArguments.ValidateQuantize(dtype, shape, mode, gs, bits, global is null ? null : [], "float32"));
        string? diff = CompareOutcome(outcome, error, message);
        if (diff is not null)
            return "validator: " + diff;
        // The typed entry point must behave the same when the call can be expressed with it.
        if (dtype == "float32" && shape.Length == 2 && QuantizationModes.TryParse(mode, out var qmode))
        {
            var data = new float[shape[0] * shape[1]];
            var rng = new SeededRandom(7);
            for (int k = 0; k < data.Length; k++)
                data[k] = (float)rng.NextNormal();
            outcome = Outcome(() => QuantizedTable.Quantize<float>(data, (int)shape[0], (int)shape[1], gs, bits, qmode, global));
            diff = CompareOutcome(outcome, error, message);
            if (diff is not null)
                return "QuantizedTable.Quantize: " + diff;
        }
        return null;
    }

    private static string? CheckDequantizeCase(JsonElement args, string? error, string? message)
    {
        string mode = Str(args, "mode") ?? "affine";
        bool affine = mode == "affine";
        var (defGs, defBits) = QuantizationModes.TryParse(mode, out var qm) ? QuantizationModes.Defaults(qm) : (64, 4);
        int? gs = Int(args, "group_size"), bits = Int(args, "bits");
        long[] wShape = args.TryGetProperty("w_shape", out var ws) ? ws.EnumerateArray().Select(e => e.GetInt64()).ToArray() : [4, 256 * defBits / 32];
        long[] sShape = args.TryGetProperty("scales_shape", out var ss) ? ss.EnumerateArray().Select(e => e.GetInt64()).ToArray() : [4, 256 / defGs];
        string wDType = Str(args, "w_dtype") ?? "uint32";
        string scalesDType = Str(args, "scales_dtype") ?? (affine ? "float32" : "uint8");
        bool biasesGiven = args.TryGetProperty("biases", out var b) ? b.ValueKind != JsonValueKind.Null : affine;
        string? outDType = Str(args, "out_dtype");
        float? global = args.TryGetProperty("global_scale", out var g) ? (float)g.GetDouble() : null;
        string? outcome = Outcome(() => QuantizationArguments.ValidateDequantize(wDType, wShape, scalesDType, sShape,
            biasesGiven ? scalesDType : null, sShape, mode, gs, bits, global is null ? null : [], "float32", outDType));
        return CompareOutcome(outcome, error, message);
    }

    private static string? Outcome(Action call)
    {
        try
        {
            call();
            return null;
        }
        catch (QuantizationArgumentException ex)
        {
            return ex.Message;
        }
    }

    private static string? CompareOutcome(string? actualMessage, string? expectedError, string? expectedMessage)
    {
        if (expectedError is null)
            return actualMessage is null ? null : $"rejected with \"{actualMessage}\" but MLX accepts it";
        if (actualMessage is null)
            return $"accepted but MLX raises {expectedError}: {expectedMessage}";
        // A message the vectors file shortened with "..." is compared up to the ellipsis.
        bool ok = expectedMessage!.EndsWith("...", StringComparison.Ordinal)
            ? actualMessage.StartsWith(expectedMessage[..^3], StringComparison.Ordinal)
            : actualMessage == expectedMessage;
        return ok ? null : $"message \"{actualMessage}\", expected \"{expectedMessage}\"";
    }

    private static List<(int, int)> DifferingGroups(QuantizedTable cpu, QuantizedTable gpu)
    {
        var list = new List<(int, int)>();
        var a = new byte[cpu.Dims];
        var b = new byte[gpu.Dims];
        int size = cpu.ScaleElementSize;
        for (int r = 0; r < cpu.NumEmbeddings; r++)
        {
            cpu.GetCodes(r, a);
            gpu.GetCodes(r, b);
            for (int g = 0; g < cpu.GroupsPerRow; g++)
            {
                int at = (r * cpu.GroupsPerRow + g) * size;
                bool differs = !cpu.Scales.Slice(at, size).SequenceEqual(gpu.Scales.Slice(at, size))
                    || !cpu.Biases.IsEmpty && !cpu.Biases.Slice(at, size).SequenceEqual(gpu.Biases.Slice(at, size))
                    || !a.AsSpan(g * cpu.GroupSize, cpu.GroupSize).SequenceEqual(b.AsSpan(g * cpu.GroupSize, cpu.GroupSize));
                if (differs)
                    list.Add((r, g));
            }
        }
        return list;
    }

    private static float[] LookupAll(QuantizedTable q)
    {
        var all = new float[q.NumEmbeddings * q.Dims];
        q.Gather(Enumerable.Range(0, q.NumEmbeddings).ToArray(), all);
        return all;
    }

    internal static DType ParseDType(string name) => name switch
    {
        "float32" => DType.Float32,
        "float16" => DType.Float16,
        "bfloat16" => DType.BFloat16,
        _ => throw new InvalidDataException($"unknown dtype {name}"),
    };

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    private static long[] IntArray(JsonElement e) => e.GetProperty("values").EnumerateArray().Select(v => v.GetInt64()).ToArray();

    internal static long BitsOf(float value, DType dtype) => dtype switch
    {
        DType.Float32 => BitConverter.SingleToUInt32Bits(value),
        DType.Float16 => BitConverter.HalfToUInt16Bits((Half)value),
        _ => BFloat16.RoundToBits(value),
    };

    private static long[] RawBits(ReadOnlySpan<byte> raw, DType dtype)
    {
        int size = dtype.SizeInBytes();
        var result = new long[raw.Length / size];
        for (int i = 0; i < result.Length; i++)
            result[i] = size == 4 ? BitConverter.ToUInt32(raw.Slice(i * 4, 4)) : BitConverter.ToUInt16(raw.Slice(i * 2, 2));
        return result;
    }

    private static byte[] ToRaw(FloatArray a, DType dtype)
    {
        int size = dtype.SizeInBytes();
        var raw = new byte[a.Bits.Length * size];
        for (int i = 0; i < a.Bits.Length; i++)
        {
            if (size == 4)
                BitConverter.TryWriteBytes(raw.AsSpan(i * 4), (uint)a.Bits[i]);
            else
                BitConverter.TryWriteBytes(raw.AsSpan(i * 2), (ushort)a.Bits[i]);
        }
        return raw;
    }

    private static string? CompareBits(float[] actual, FloatArray expected, string what)
    {
        DType dtype = ParseDType(expected.DType);
        if (actual.Length != expected.Bits.Length)
            return $"{what}: {actual.Length} values, expected {expected.Bits.Length}";
        for (int i = 0; i < actual.Length; i++)
        {
            long bits = BitsOf(actual[i], dtype);
            if (bits != expected.Bits[i])
                return $"{what}[{i}]: {actual[i]:R} (bits 0x{bits:X}), expected {expected.Values[i]:R} (bits 0x{expected.Bits[i]:X})";
        }
        return null;
    }

    private static string? FirstDifference(long[] actual, long[] expected, string what)
    {
        if (actual.Length != expected.Length)
            return $"{what}: {actual.Length} values, expected {expected.Length}";
        for (int i = 0; i < actual.Length; i++)
        {
            if (actual[i] != expected[i])
                return $"{what}[{i}] = {actual[i]}, expected {expected[i]}";
        }
        return null;
    }

    private static string? FirstDifference(uint[] actual, uint[] expected, string what) =>
        FirstDifference(actual.Select(v => (long)v).ToArray(), expected.Select(v => (long)v).ToArray(), what);

    /// <summary>A float array of an MLX vectors file: <c>{"dtype", "shape", "values", "bits"}</c>.</summary>
    private sealed record FloatArray(string DType, long[] Shape, float[] Values, long[] Bits)
    {
        public static FloatArray Parse(JsonElement e) => new(
            e.GetProperty("dtype").GetString()!,
            e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray(),
            e.GetProperty("values").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray(),
            e.GetProperty("bits").EnumerateArray().Select(v => v.GetInt64()).ToArray());
    }
}
