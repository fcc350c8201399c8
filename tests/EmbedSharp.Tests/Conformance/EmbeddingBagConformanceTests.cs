using System.Text.Json;
using EmbedSharp.Numerics;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;
using Xunit.Abstractions;

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
