using System.Numerics.Tensors;
using System.Text.Json;
using Xunit.Abstractions;

namespace EmbedSharp.Tests.Conformance;

/// <summary>Every case of <c>torch_embedding.json</c> (PyTorch 1.13 <c>F.embedding</c>).</summary>
public sealed class EmbeddingConformanceTests(ITestOutputHelper output)
{
    [Fact]
    public void TorchEmbedding_AllCases()
    {
        const string file = "torch_embedding.json";
        using JsonDocument doc = ConformanceFiles.Load(file);
        var tol = Tolerance.FromMeta(doc);
        var report = new ConformanceReport(file, output);
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            report.Run(name, () => name == "max_norm_twice_is_stable" ? RunTwice(c, tol) : RunCase(c, tol));
        }
        report.Finish();
    }

    private static EmbeddingOptions Options(JsonElement p) => new()
    {
        PaddingIdx = p.TryGetProperty("padding_idx", out var pi) && pi.ValueKind == JsonValueKind.Number ? pi.GetInt32() : null,
        MaxNorm = p.TryGetProperty("max_norm", out var mn) && mn.ValueKind == JsonValueKind.Number ? (float)mn.GetDouble() : null,
        NormType = p.GetProperty("norm_type") is { ValueKind: JsonValueKind.String } s
            ? (s.GetString() == "inf" ? double.PositiveInfinity : double.NegativeInfinity)
            : p.GetProperty("norm_type").GetDouble(),
        ScaleGradByFreq = p.TryGetProperty("scale_grad_by_freq", out var sg) && sg.GetBoolean(),
    };

    private static string? RunCase(JsonElement c, Tolerance tol)
    {
        JsonElement p = c.GetProperty("params"), inputs = c.GetProperty("inputs"), expected = c.GetProperty("expected");
        var weight = JsonTensor.Parse(inputs.GetProperty("weight"));
        var indices = JsonTensor.Parse(inputs.GetProperty("indices"));
        var gradOut = JsonTensor.Parse(inputs.GetProperty("grad_output"));
        int v = (int)weight.Shape[0], d = (int)weight.Shape[1];
        using var emb = Embedding.FromPretrained(weight.Floats(), v, d, freeze: false, Options(p));

        if (p.TryGetProperty("padding_idx_normalized", out var pn) && pn.ValueKind == JsonValueKind.Number && emb.PaddingIdx != pn.GetInt32())
            return $"PaddingIdx normalised to {emb.PaddingIdx}, expected {pn.GetInt32()}";

        // Forward through the tensor API (any rank; 0-d goes through the span API), int32 or int64 as the case gives.
        float[] outFlat;
        if (indices.Shape.Length == 0)
        {
            outFlat = new float[d];
            if (indices.DType == "int32")
                emb.Forward(indices.Ints(), outFlat);
            else
                emb.Forward(indices.Longs(), outFlat);
        }
        else
        {
            Tensor<float> t = indices.DType == "int32"
                ? emb.Forward(Tensor.Create(indices.Ints(), indices.Shape))
                : emb.Forward(Tensor.Create(indices.Longs(), indices.Shape));
            nint[] want = [.. indices.Shape, d];
            if (!t.Lengths.SequenceEqual(want))
                return $"output shape [{string.Join(",", t.Lengths.ToArray())}], expected [{string.Join(",", want)}]";
            outFlat = new float[t.FlattenedLength];
            t.FlattenTo(outFlat);
        }
        var exp = JsonTensor.Parse(expected.GetProperty("output"));
        if (tol.Compare(outFlat, exp.Data, "output") is string e1)
            return e1;
        if (tol.Compare(emb.Weight.ToArray(), JsonTensor.Parse(expected.GetProperty("weight_after")).Data, "weight_after") is string e2)
            return e2;

        // Dense gradient, both through the sparse result and the dense accumulate variant.
        int[] ids = indices.Ints();
        float[] g = gradOut.Floats();
        var expGrad = JsonTensor.Parse(expected.GetProperty("grad_weight")).Data;
        var sparse = emb.Backward(ids, g);
        if (tol.Compare(sparse.ToDense(), expGrad, "grad_weight (sparse → dense)") is string e3)
            return e3;
        var dense = new float[v * d];
        emb.BackwardDense(ids, g, dense);
        if (tol.Compare(dense, expGrad, "grad_weight (dense)") is string e4)
            return e4;

        if (expected.TryGetProperty("grad_weight_sparse", out var gs))
        {
            int[] rows = JsonTensor.Parse(gs.GetProperty("coalesced_indices")).Ints();
            if (!sparse.Rows.SequenceEqual(rows))
                return $"sparse rows [{string.Join(",", sparse.Rows.ToArray())}], expected [{string.Join(",", rows)}]";
            if (tol.Compare(sparse.Values, JsonTensor.Parse(gs.GetProperty("coalesced_values")).Data, "coalesced_values") is string e5)
                return e5;
        }
        if (expected.TryGetProperty("rows_changed_in_weight", out var rc))
        {
            float[] before = weight.Floats(), after = emb.Weight.ToArray();
            int[] changed = Enumerable.Range(0, v).Where(r => !before.AsSpan(r * d, d).SequenceEqual(after.AsSpan(r * d, d))).ToArray();
            int[] want = rc.EnumerateArray().Select(x => x.GetInt32()).ToArray();
            if (!changed.SequenceEqual(want))
                return $"rows changed [{string.Join(",", changed)}], expected [{string.Join(",", want)}]";
        }
        return null;
    }

    private static string? RunTwice(JsonElement c, Tolerance tol)
    {
        JsonElement p = c.GetProperty("params"), inputs = c.GetProperty("inputs"), expected = c.GetProperty("expected");
        var weight = JsonTensor.Parse(inputs.GetProperty("weight"));
        int v = (int)weight.Shape[0], d = (int)weight.Shape[1];
        using var emb = Embedding.FromPretrained(weight.Floats(), v, d, freeze: false, Options(p));
        long[] ids = JsonTensor.Parse(inputs.GetProperty("indices")).Longs();
        var sink = new float[ids.Length * d];
        emb.Forward(ids, sink);
        if (tol.Compare(emb.Weight.ToArray(), JsonTensor.Parse(expected.GetProperty("weight_after_first_call")).Data, "weight after first call") is string e1)
            return e1;
        emb.Forward(ids, sink);
        return tol.Compare(emb.Weight.ToArray(), JsonTensor.Parse(expected.GetProperty("weight_after_second_call")).Data, "weight after second call");
    }
}
