using System.Text.Json;
using EmbedSharp.Numerics;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;
using Xunit.Abstractions;
using static EmbedSharp.Tests.Conformance.SparseErrorCases;

namespace EmbedSharp.Tests.Conformance;

/// <summary>
/// Every case of <c>torch_embedding_bag.json</c>: forward output, weight after (max-norm), dense and
/// coalesced weight gradients, per-sample-weight gradients and max argmax rows. <c>torch_quirk</c>
/// cases are compared with <c>reference_semantics</c>; <c>torch_undefined</c> cases are either
/// rejected (reported as such) or compared with <c>reference_semantics</c>.
/// </summary>
public sealed class EmbeddingBagConformanceTests(ITestOutputHelper output)
{
    private const string File = "torch_embedding_bag.json";

    [Fact]
    public void EveryCaseMatches()
    {
        using JsonDocument doc = ConformanceFiles.Load(File);
        Tolerance tol = Tolerance.FromMeta(doc);
        var report = new ConformanceReport(File, output);
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            string status = c.GetProperty("status").GetString()!;
            if (status == "torch_undefined")
            {
                RunUndefined(report, name, c, tol);
                continue;
            }
            report.Run(name, () => RunCase(c, tol, status));
        }
        report.Finish();
    }

    /// <summary>The <c>bag_*</c> cases of <c>torch_errors.json</c>, each mapped to our API.</summary>
    [Fact]
    public void ErrorCasesMatch()
    {
        static EmbeddingBag Bag(PoolingMode mode = PoolingMode.Sum, int? padding = null)
        {
            var bag = new EmbeddingBag(5, 3, new EmbeddingBagOptions { Mode = mode, PaddingIdx = padding, Seed = 3 });
            bag.Weight.CopyFrom(Enumerable.Range(0, 15).Select(x => (float)x).ToArray());
            return bag;
        }
        static void Fwd(PoolingMode mode, int[] ids, int[] offsets, float[]? psw = null)
        {
            using var bag = Bag(mode);
            bag.Forward(ids, offsets, psw);
        }
        Type bagType = typeof(EmbeddingBag);
        Type[] intIds = [typeof(ReadOnlySpan<int>), typeof(int[]), typeof(int[,])];
        var scenarios = new Dictionary<string, ErrorScenario>
        {
            ["bag_offsets_first_not_zero"] = new Rejects(() => Fwd(PoolingMode.Sum, [1, 2, 3, 4], [1, 2])),
            ["bag_offsets_last_too_large"] = new Rejects(() => Fwd(PoolingMode.Sum, [1, 2, 3, 4], [0, 6])),
            ["bag_offsets_decreasing"] = new Rejects(() => Fwd(PoolingMode.Sum, [1, 2, 3, 4], [0, 3, 2])),
            ["bag_index_out_of_range_sum"] = new Rejects(() => Fwd(PoolingMode.Sum, [1, 5], [0])),
            ["bag_index_out_of_range_max"] = new Rejects(() => Fwd(PoolingMode.Max, [1, 5], [0])),
            ["bag_negative_index"] = new Rejects(() => Fwd(PoolingMode.Sum, [1, -1], [0])),
            ["bag_float_indices"] = new Accepts(() => ParametersTyped(bagType, "indices", intIds),
                "indices are int spans/arrays: float ids do not compile"),
            ["bag_float_offsets"] = new Accepts(() => ParametersTyped(bagType, "offsets", typeof(ReadOnlySpan<int>), typeof(int[])),
                "offsets are int spans/arrays: float offsets do not compile"),
            ["bag_per_sample_weights_mean"] = new Rejects(() => Fwd(PoolingMode.Mean, [1, 2], [0], [1f, 2f])),
            ["bag_per_sample_weights_max"] = new Rejects(() => Fwd(PoolingMode.Max, [1, 2], [0], [1f, 2f])),
            ["bag_per_sample_weights_shape"] = new Rejects(() => Fwd(PoolingMode.Sum, [1, 2], [0], [1f, 2f, 3f])),
            ["bag_max_scale_grad_by_freq"] = new Rejects(() => _ = new EmbeddingBag(5, 3, new EmbeddingBagOptions { Mode = PoolingMode.Max, ScaleGradByFreq = true })),
            ["bag_max_sparse"] = new Accepts(MaxGradientIsSparseAndExact,
                "every backward returns a coalesced SparseGradient; in max mode it equals the dense max gradient"),
            ["bag_bad_mode"] = new Rejects(() => _ = new EmbeddingBag(5, 3, new EmbeddingBagOptions { Mode = (PoolingMode)7 })),
            ["bag_3d_input"] = new Rejects(() =>
            {
                using var bag = Bag();
                bag.Forward(new int[8], 2, 2, default, new float[6]); // a [2, 2, 2] tensor flattened: not [2, 2]
            }),
            ["bag_2d_input_with_offsets"] = new Accepts(() => TwoDOverloadsTakeNoOffsets(bagType),
                "the 2-D overloads take (batchSize, bagLength) and have no offsets parameter"),
            ["bag_1d_input_without_offsets"] = new Rejects(() => Fwd(PoolingMode.Sum, [1, 2], [])),
            ["bag_2d_offsets"] = new Accepts(() => ParametersTyped(bagType, "offsets", typeof(ReadOnlySpan<int>), typeof(int[])),
                "offsets are 1-D by type"),
            ["bag_padding_idx_too_large"] = new Rejects(() => Bag(padding: 5)),
            ["bag_padding_idx_too_negative"] = new Rejects(() => Bag(padding: -6)),
            ["bag_module_padding_idx_too_large"] = new Rejects(() => _ = new EmbeddingBag(5, 3, new EmbeddingBagOptions { PaddingIdx = 5 })),
            ["bag_psw_dtype_mismatch"] = new Accepts(() => ParametersTyped(bagType, "perSampleWeights",
                typeof(ReadOnlySpan<float>), typeof(float[]), typeof(float[,])), "perSampleWeights are float32 by type, the compute type of every table"),
            ["bag_mixed_index_offset_dtypes_ok"] = new Accepts(() =>
            {
                using var bag = Bag();
                float[] result = bag.Forward([0, 1], [0]);
                return result.AsSpan().SequenceEqual([3f, 5f, 7f]) ? null : $"result [{string.Join(",", result)}], expected [3,5,7]";
            }, "int ids and offsets"),
        };
        Run(output, "bag", n => n.StartsWith("bag_", StringComparison.Ordinal), scenarios);
    }

    private static string? MaxGradientIsSparseAndExact()
    {
        using var bag = new EmbeddingBag(5, 3, new EmbeddingBagOptions { Mode = PoolingMode.Max, Seed = 3 });
        float[] w = [0, 5, 2, 3, 1, 4, 6, 0, 0, 1, 1, 1, 2, 2, 9];
        bag.Weight.CopyFrom(w);
        int[] ids = [0, 1, 2, 3, 4, 0];
        int[] offsets = [0, 3];
        float[] g = [1, 2, 3, 4, 5, 6];
        SparseGradient grad = bag.Backward(ids, offsets, g);
        // Brute force: each (bag, dim) gradient goes to the first position holding the maximum.
        float[] expected = new float[15];
        for (int b = 0; b < 2; b++)
            for (int d = 0; d < 3; d++)
            {
                int best = -1;
                for (int j = offsets[b]; j < (b == 0 ? 3 : 6); j++)
                    if (best < 0 || w[ids[j] * 3 + d] > w[ids[best] * 3 + d])
                        best = j;
                expected[ids[best] * 3 + d] += g[b * 3 + d];
            }
        return grad.ToDense().AsSpan().SequenceEqual(expected) ? null : "max gradient differs from the brute-force one";
    }

    private static string? TwoDOverloadsTakeNoOffsets(Type type)
    {
        var twoD = type.GetMethods().Where(m => m.GetParameters().Any(p => p.Name == "bagLength")).ToArray();
        if (twoD.Length == 0)
            return "no 2-D overload found";
        return twoD.Any(m => m.GetParameters().Any(p => p.Name == "offsets")) ? "a 2-D overload takes offsets" : null;
    }

    private static void RunUndefined(ConformanceReport report, string name, JsonElement c, Tolerance tol)
    {
        try
        {
            string? failure = RunCase(c, tol, "torch_undefined");
            report.Record(name, failure);
        }
        catch (ArgumentException ex)
        {
            report.Rejected(name, ex.Message);
        }
    }

    /// <summary>Runs one case; returns null on success or the first mismatch.</summary>
    internal static string? RunCase(JsonElement c, Tolerance tol, string status)
    {
        JsonElement p = c.GetProperty("params");
        JsonElement inputs = c.GetProperty("inputs");
        JsonTensor weight = JsonTensor.Parse(inputs.GetProperty("weight"));
        int v = (int)weight.Shape[0], dims = (int)weight.Shape[1];
        JsonTensor indices = JsonTensor.Parse(inputs.GetProperty("indices"));
        JsonTensor gradOut = JsonTensor.Parse(inputs.GetProperty("grad_output"));
        float[]? psw = inputs.TryGetProperty("per_sample_weights", out var pe) && pe.ValueKind != JsonValueKind.Null ? JsonTensor.Parse(pe).Floats() : null;
        int[]? offsets = inputs.GetProperty("offsets").ValueKind == JsonValueKind.Null ? null : JsonTensor.Parse(inputs.GetProperty("offsets")).Ints();

        var options = new EmbeddingBagOptions
        {
            Mode = ParseMode(p.GetProperty("mode").GetString()!),
            PaddingIdx = p.GetProperty("padding_idx").ValueKind == JsonValueKind.Null ? null : p.GetProperty("padding_idx").GetInt32(),
            MaxNorm = p.GetProperty("max_norm").ValueKind == JsonValueKind.Null ? null : p.GetProperty("max_norm").GetDouble(),
            NormType = ParseNumber(p.GetProperty("norm_type")),
            ScaleGradByFreq = p.GetProperty("scale_grad_by_freq").GetBoolean(),
            IncludeLastOffset = p.GetProperty("include_last_offset").GetBoolean(),
            Seed = 1,
        };
        using var bag = new EmbeddingBag(v, dims, options);
        bag.Weight.CopyFrom(weight.Floats());

        int[] ids = indices.Ints();
        bool twoD = indices.Shape.Length == 2;
        int batch = twoD ? (int)indices.Shape[0] : bag.BagCount(offsets!.Length);
        int bagLength = twoD ? (int)indices.Shape[1] : 0;
        var outValues = new float[batch * dims];
        if (twoD)
            bag.Forward(ids, batch, bagLength, psw, outValues);
        else
            bag.Forward(ids, offsets, psw, outValues);
        float[] weightAfterForward = bag.Weight.ToArray();
        var gradPsw = psw is null ? null : new float[psw.Length];
        SparseGradient grad = twoD
            ? bag.Backward(ids, batch, bagLength, gradOut.Floats(), psw, gradPsw)
            : bag.Backward(ids, offsets, gradOut.Floats(), psw, gradPsw);

        JsonElement expected = status == "required" ? c.GetProperty("expected") : c.GetProperty("reference_semantics");
        string? f = tol.Compare(outValues, JsonTensor.Parse(expected.GetProperty("output")).Data, "output")
            ?? tol.Compare(grad.ToDense(), JsonTensor.Parse(expected.GetProperty("grad_weight")).Data, "grad_weight");
        if (f is not null)
            return f;
        if (gradPsw is not null && expected.TryGetProperty("grad_per_sample_weights", out var gp) && gp.ValueKind != JsonValueKind.Null)
            f = tol.Compare(gradPsw, JsonTensor.Parse(gp).Data, "grad_per_sample_weights");
        if (f is not null || status != "required" && status != "torch_quirk")
            return f;

        JsonElement full = c.GetProperty("expected");
        f = tol.Compare(weightAfterForward, JsonTensor.Parse(full.GetProperty("weight_after")).Data, "weight_after");
        if (f is null && full.TryGetProperty("grad_weight_sparse", out var gs) && gs.ValueKind != JsonValueKind.Null)
        {
            int[] rows = JsonTensor.Parse(gs.GetProperty("coalesced_indices")).Ints();
            if (!rows.AsSpan().SequenceEqual(grad.Rows))
                return $"coalesced rows [{string.Join(",", grad.Rows.ToArray())}], expected [{string.Join(",", rows)}]";
            f = tol.Compare(grad.Values, JsonTensor.Parse(gs.GetProperty("coalesced_values")).Data, "coalesced_values");
        }
        if (f is null && full.TryGetProperty("max_indices_torch", out var mi) && mi.ValueKind != JsonValueKind.Null)
            f = CompareMaxRows(bag, ids, offsets, batch, bagLength, JsonTensor.Parse(mi).Ints());
        return f;
    }

    /// <summary>The row our max pooling picked per (bag, dim), compared with torch's for non-empty bags.</summary>
    private static string? CompareMaxRows(EmbeddingBag bag, int[] ids, int[]? offsets, int batch, int bagLength, int[] torchRows)
    {
        int dims = bag.Dims;
        int[] starts = offsets is null ? Enumerable.Range(0, batch).Select(b => b * bagLength).ToArray() : offsets[..batch];
        var pooled = new float[batch * dims];
        var source = new int[batch * dims];
        float[] table = bag.Weight.ToArray();
        Kernels.PoolBags<MaxPooling, SpanRows>(new SpanRows(table, dims), ids, starts, ids.Length, default, bag.PaddingIdx ?? -1, pooled, source);
        for (int k = 0; k < source.Length; k++)
        {
            if (source[k] < 0)
                continue; // empty or all-padding bag: torch's value is meaningless there
            if (ids[source[k]] != torchRows[k])
                return $"max row at [{k / dims}, {k % dims}] is {ids[source[k]]}, torch picked {torchRows[k]}";
        }
        return null;
    }

    internal static PoolingMode ParseMode(string mode) => mode switch
    {
        "sum" => PoolingMode.Sum,
        "mean" => PoolingMode.Mean,
        "max" => PoolingMode.Max,
        _ => throw new InvalidDataException("unknown mode " + mode),
    };

    private static double ParseNumber(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? e.GetString() switch { "inf" => double.PositiveInfinity, "-inf" => double.NegativeInfinity, var s => double.Parse(s!, System.Globalization.CultureInfo.InvariantCulture) }
        : e.GetDouble();
}
