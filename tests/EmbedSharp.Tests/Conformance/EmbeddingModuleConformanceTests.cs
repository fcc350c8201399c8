using System.Numerics.Tensors;
using System.Reflection;
using System.Text.Json;
using EmbedSharp.Initializers;
using Xunit.Abstractions;

namespace EmbedSharp.Tests.Conformance;

/// <summary>
/// Every case of <c>torch_module.json</c>, and the Embedding cases of <c>torch_errors.json</c>
/// (names starting <c>embedding_</c>, <c>module_</c>, <c>from_pretrained_</c>, <c>max_norm_</c>; the
/// bag and optimizer cases run with those layers' conformance tests).
/// </summary>
public sealed class EmbeddingModuleConformanceTests(ITestOutputHelper output)
{
    private static readonly float[] Arange15 = Enumerable.Range(0, 15).Select(i => (float)i).ToArray();

    [Fact]
    public void TorchModule_AllCases()
    {
        const string file = "torch_module.json";
        using JsonDocument doc = ConformanceFiles.Load(file);
        var tol = Tolerance.FromMeta(doc);
        var report = new ConformanceReport(file, output);
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            report.Run(name, () => name switch
            {
                "from_pretrained_freeze_true" or "from_pretrained_freeze_false" => FromPretrainedFreeze(c, tol),
                "from_pretrained_padding_idx_not_zeroed" => PaddingNotZeroed(c),
                "from_pretrained_max_norm_mutates_argument" => MaxNormCopies(c),
                "default_init_normal_0_1" => DefaultInit(c),
                "module_defaults" => Defaults(c),
                _ => $"no runner for case '{name}'",
            });
        }
        report.Finish();
    }

    private static string? FromPretrainedFreeze(JsonElement c, Tolerance tol)
    {
        var w = JsonTensor.Parse(c.GetProperty("inputs").GetProperty("embeddings"));
        var e = c.GetProperty("expected");
        bool freeze = !e.GetProperty("weight_requires_grad").GetBoolean();
        float[] arg = w.Floats();
        using var emb = Embedding.FromPretrained(arg, (int)w.Shape[0], (int)w.Shape[1], freeze);
        if (emb.Frozen != freeze)
            return $"Frozen = {emb.Frozen}, expected {freeze}";
        if (emb.NumEmbeddings != e.GetProperty("num_embeddings").GetInt32() || emb.Dims != e.GetProperty("embedding_dim").GetInt32())
            return "shape differs";
        if (emb.PaddingIdx is not null || emb.MaxNorm is not null || emb.NormType != e.GetProperty("norm_type").GetDouble() || emb.ScaleGradByFreq)
            return "recorded options differ from the defaults torch records";
        long[] ids = JsonTensor.Parse(c.GetProperty("inputs").GetProperty("indices")).Longs();
        var outp = new float[ids.Length * emb.Dims];
        emb.Forward(ids, outp);
        // Deliberate difference: torch wraps the argument (shares storage); EmbedSharp copies it.
        arg[0] += 1;
        if (emb.Weight.ToArray()[0] == arg[0])
            return "the layer shares storage with the argument; EmbedSharp documents a copy";
        if (freeze)
        {
            try
            {
                emb.Backward(ids.Select(x => (int)x).ToArray(), new float[outp.Length]);
                return "Backward on a frozen layer did not throw";
            }
            catch (InvalidOperationException)
            {
            }
        }
        return tol.Compare(outp, JsonTensor.Parse(e.GetProperty("output")).Data, "output");
    }

    private static string? PaddingNotZeroed(JsonElement c)
    {
        var w = JsonTensor.Parse(c.GetProperty("inputs").GetProperty("embeddings"));
        int pad = c.GetProperty("inputs").GetProperty("padding_idx").GetInt32();
        using var emb = Embedding.FromPretrained(w.Floats(), (int)w.Shape[0], (int)w.Shape[1], freeze: false, new EmbeddingOptions { PaddingIdx = pad });
        var row = new float[emb.Dims];
        emb.Weight.ReadRow(pad, row);
        var want = JsonTensor.Parse(c.GetProperty("expected").GetProperty("weight_row_2")).Floats();
        if (!row.SequenceEqual(want))
            return "padding row was changed by FromPretrained";
        var grad = emb.Backward([pad, pad], new float[2 * emb.Dims].Select(_ => 1f).ToArray());
        return grad.Count == 0 ? null : "padding row received a gradient";
    }

    private static string? MaxNormCopies(JsonElement c)
    {
        var inputs = c.GetProperty("inputs");
        var w = JsonTensor.Parse(inputs.GetProperty("embeddings"));
        float[] arg = w.Floats();
        float[] original = (float[])arg.Clone();
        using var emb = Embedding.FromPretrained(arg, (int)w.Shape[0], (int)w.Shape[1], freeze: true,
            new EmbeddingOptions { MaxNorm = (float)inputs.GetProperty("max_norm").GetDouble() });
        long[] ids = JsonTensor.Parse(inputs.GetProperty("indices")).Longs();
        emb.Forward(ids, new float[ids.Length * emb.Dims]);
        // torch rewrites the caller's tensor; EmbedSharp rewrites only its own copy, with the same values.
        if (!arg.SequenceEqual(original))
            return "the caller's array was modified";
        var want = JsonTensor.Parse(c.GetProperty("expected").GetProperty("argument_tensor_after_forward")).Data;
        // The module file's tolerance is 0, except max-norm results which may differ by about 1 ulp.
        return new Tolerance(1e-6, 1e-7).Compare(emb.Weight.ToArray(), want, "layer weight after forward");
    }

    private static string? DefaultInit(JsonElement c)
    {
        var e = c.GetProperty("expected");
        using var emb = new Embedding(1000, 64, new EmbeddingOptions { Seed = 20261123 });
        if (emb.Initializer != Initializer.TorchDefault)
            return "default initializer is not N(0, 1)";
        float[] w = emb.Weight.ToArray();
        double mean = w.Average(x => (double)x);
        double std = Math.Sqrt(w.Sum(x => (x - mean) * (x - mean)) / (w.Length - 1));
        double below1 = w.Count(x => Math.Abs(x) < 1) / (double)w.Length;
        double below2 = w.Count(x => Math.Abs(x) < 2) / (double)w.Length;
        // Same-size draw: mean ± 4σ/√n, std ± 2 %, fractions ± 1 % of torch's sample.
        if (Math.Abs(mean) > 4 / Math.Sqrt(w.Length)) return $"mean {mean}";
        if (Math.Abs(std - e.GetProperty("sample_std").GetDouble()) > 0.02) return $"std {std}";
        if (Math.Abs(below1 - e.GetProperty("fraction_abs_below_1").GetDouble()) > 0.01) return $"fraction |x|<1 {below1}";
        if (Math.Abs(below2 - e.GetProperty("fraction_abs_below_2").GetDouble()) > 0.01) return $"fraction |x|<2 {below2}";
        if (w.Min() > -3 || w.Max() < 3) return "sample range too narrow for N(0, 1)";

        using var padded = new Embedding(10, 4, new EmbeddingOptions { PaddingIdx = 0 });
        if (padded.Weight.ToArray().Take(4).Any(x => x != 0)) return "padding row not zero after init";
        using var neg = new Embedding(10, 4, new EmbeddingOptions { PaddingIdx = -1 });
        if (neg.PaddingIdx != e.GetProperty("negative_padding_idx_stored_as").GetInt32()) return $"negative padding stored as {neg.PaddingIdx}";
        if (neg.Weight.ToArray().Skip(36).Any(x => x != 0)) return "negative padding row not zero after init";
        return null;
    }

    private static string? Defaults(JsonElement c)
    {
        var e = c.GetProperty("expected");
        using var emb = new Embedding(3, 2);
        if (emb.PaddingIdx is not null || emb.MaxNorm is not null || emb.ScaleGradByFreq || emb.Frozen)
            return "defaults differ";
        return emb.NormType == e.GetProperty("norm_type").GetDouble() ? null : $"NormType {emb.NormType}";
    }

    [Fact]
    public void TorchErrors_EmbeddingCases()
    {
        const string file = "torch_errors.json";
        using JsonDocument doc = ConformanceFiles.Load(file);
        var tol = Tolerance.FromMeta(doc);
        var report = new ConformanceReport(file + " (embedding cases)", output);
        string[] prefixes = ["embedding_", "module_", "from_pretrained_", "max_norm_"];
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            if (!prefixes.Any(name.StartsWith))
                continue;
            report.Run(name, () => ErrorCase(name, c, tol));
        }
        report.Finish();
    }

    private static Embedding Make(EmbeddingOptions? o = null) => Embedding.FromPretrained(Arange15, 5, 3, freeze: false, o);

    private static string? Expect<TException>(Action action, params string[] mustMention) where TException : Exception
    {
        try
        {
            action();
        }
        catch (TException ex)
        {
            string? missing = mustMention.FirstOrDefault(m => !ex.Message.Contains(m, StringComparison.Ordinal));
            if (!ex.Message.StartsWith('['))
                return $"message does not name the operation: {ex.Message}";
            return missing is null ? null : $"message '{ex.Message}' does not mention '{missing}'";
        }
        catch (Exception ex)
        {
            return $"threw {ex.GetType().Name} ({ex.Message}), expected {typeof(TException).Name}";
        }
        return $"did not throw; expected {typeof(TException).Name}";
    }

    private static string? ErrorCase(string name, JsonElement c, Tolerance tol)
    {
        var sink = new float[64];
        switch (name)
        {
            case "embedding_index_out_of_range":
                { using var e = Make(); return Expect<ArgumentOutOfRangeException>(() => e.Forward(new[] { 0, 5 }, sink), "indices[1] = 5", "0..4"); }
            case "embedding_index_far_out_of_range":
                { using var e = Make(); return Expect<ArgumentOutOfRangeException>(() => e.Forward(new long[] { 1000 }, sink), "indices[0] = 1000", "0..4"); }
            case "embedding_negative_index":
                { using var e = Make(); return Expect<ArgumentOutOfRangeException>(() => e.Forward(new[] { 1, -1 }, sink), "indices[1] = -1"); }
            case "embedding_float_indices":
                return NoForwardOverloadFor<float>();
            case "embedding_int16_indices":
                return NoForwardOverloadFor<short>();
            case "embedding_bool_indices":
                return NoForwardOverloadFor<bool>();
            case "embedding_padding_idx_too_large":
            case "module_padding_idx_too_large":
                return Expect<ArgumentOutOfRangeException>(() => new Embedding(5, 3, new EmbeddingOptions { PaddingIdx = 5 }), "PaddingIdx = 5", "-5..4");
            case "embedding_padding_idx_too_negative":
                return Expect<ArgumentOutOfRangeException>(() => Make(new EmbeddingOptions { PaddingIdx = -6 }), "PaddingIdx = -6", "-5..4");
            case "module_negative_num_embeddings":
                return Expect<ArgumentOutOfRangeException>(() => new Embedding(-1, 3), "numEmbeddings");
            case "embedding_weight_1d":
            case "from_pretrained_1d":
            case "max_norm_weight_1d":
                return Expect<ArgumentException>(() => Embedding.FromPretrained(Tensor.Create(Arange15, [15]).AsReadOnlyTensorSpan(),
                    options: name == "max_norm_weight_1d" ? new EmbeddingOptions { MaxNorm = 1 } : null), "2-D");
            case "embedding_weight_3d":
                return Expect<ArgumentException>(() => Embedding.FromPretrained(Tensor.Create(Arange15.Take(12).ToArray(), [2, 2, 3]).AsReadOnlyTensorSpan()), "2-D");
            case "embedding_sparse_with_scale_grad_by_freq":
                return SparseWithScaleGradByFreq();
            case "max_norm_zero_accepted":
                return Expect<ArgumentOutOfRangeException>(() => Make(new EmbeddingOptions { MaxNorm = 0 }), "MaxNorm", "> 0");
            case "max_norm_negative_accepted":
                return Expect<ArgumentOutOfRangeException>(() => Make(new EmbeddingOptions { MaxNorm = -1 }), "MaxNorm", "> 0");
            case "max_norm_norm_type_0_accepted":
                return Expect<ArgumentOutOfRangeException>(() => Make(new EmbeddingOptions { MaxNorm = 1, NormType = 0 }), "NormType", "> 0");
            case "max_norm_norm_type_negative_accepted":
                return Expect<ArgumentOutOfRangeException>(() => Make(new EmbeddingOptions { MaxNorm = 1, NormType = -1 }), "NormType", "> 0");
            case "max_norm_out_of_range_mutates_first":
            case "max_norm_negative_index_wraps_in_renorm":
                {
                    // torch renormalises some rows and then fails; we validate first and leave the weight as it was.
                    using var e = Make(new EmbeddingOptions { MaxNorm = 1 });
                    int[] ids = name == "max_norm_out_of_range_mutates_first" ? [1, 7] : [1, -1];
                    string? err = Expect<ArgumentOutOfRangeException>(() => e.Forward(ids, sink), $"indices[1] = {ids[1]}");
                    if (err is not null)
                        return err;
                    return tol.Compare(e.Weight.ToArray(), JsonTensor.Parse(c.GetProperty("weight_before")).Data, "weight after the rejected call");
                }
            case "embedding_empty_index_ok":
                {
                    using var e = Make();
                    var t = e.Forward(Tensor.Create(Array.Empty<long>(), [0]));
                    return t.Lengths.SequenceEqual(new nint[] { 0, 3 }) ? null : "empty lookup shape";
                }
            case "embedding_int32_ok":
                {
                    using var e = Make();
                    var t = e.Forward(Tensor.Create(new[] { 0, 4 }, [2]));
                    var got = new float[t.FlattenedLength];
                    t.FlattenTo(got);
                    return got.SequenceEqual(new float[] { 0, 1, 2, 12, 13, 14 }) ? null : "int32 lookup values";
                }
            case "module_zero_dim_ok":
                {
                    using var e = new Embedding(5, 0);
                    var t = e.Forward(Tensor.Create(new[] { 1, 2 }, [2]));
                    return t.Lengths.SequenceEqual(new nint[] { 2, 0 }) ? null : "zero-dim lookup shape";
                }
            default:
                return $"no runner for case '{name}'";
        }
    }

    private static string? NoForwardOverloadFor<T>()
    {
        // The index element type is part of the signature: only int and long compile.
        var accepted = typeof(Embedding).GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.Name == nameof(Embedding.Forward))
            .SelectMany(m => m.GetParameters().Take(1))
            .Select(p => p.ParameterType.IsGenericType ? p.ParameterType.GetGenericArguments()[0] : p.ParameterType)
            .Distinct().ToArray();
        if (accepted.Contains(typeof(T)))
            return $"Forward accepts {typeof(T).Name} indices";
        return accepted.All(t => t == typeof(int) || t == typeof(long)) ? null : $"Forward accepts [{string.Join(", ", accepted.Select(t => t.Name))}]";
    }

    private static string? SparseWithScaleGradByFreq()
    {
        // torch cannot combine the two (it fails in backward). Our gradient is always sparse and
        // supports frequency scaling: check it equals the dense computation instead of rejecting.
        using var e = Embedding.FromPretrained(Arange15, 5, 3, freeze: false, new EmbeddingOptions { ScaleGradByFreq = true });
        int[] ids = [1, 3, 1, 1];
        float[] g = Enumerable.Range(0, 12).Select(i => (float)(i + 1)).ToArray();
        var dense = new float[15];
        e.BackwardDense(ids, g, dense);
        float[] sparse = e.Backward(ids, g).ToDense();
        // Row 1: (g0 + g2 + g3) / 3; row 3: g1.
        float[] want = [0, 0, 0, (1 + 7 + 10) / 3f, (2 + 8 + 11) / 3f, (3 + 9 + 12) / 3f, 0, 0, 0, 4, 5, 6, 0, 0, 0];
        return new Tolerance(1e-6, 1e-6).Compare(sparse, want.Select(x => (double)x).ToArray(), "sparse")
            ?? new Tolerance(1e-6, 1e-6).Compare(dense, want.Select(x => (double)x).ToArray(), "dense");
    }
}
