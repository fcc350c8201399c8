using System.Text.Json;
using EmbedSharp.Positional;
using Xunit.Abstractions;

namespace EmbedSharp.Tests.Conformance;

/// <summary>
/// Every case of <c>torch_positional.json</c>: the three sinusoidal layouts and RoPE in both
/// conventions, including partial rotary, base changes, linear interpolation, static and dynamic NTK,
/// the relative-position property and the convention permutation.
/// </summary>
public sealed class PositionalConformanceTests(ITestOutputHelper output)
{
    private const string File = "torch_positional.json";

    [Fact]
    public void Every_case_of_torch_positional_matches()
    {
        using JsonDocument doc = ConformanceFiles.Load(File);
        var tol = Tolerance.FromMeta(doc);
        var report = new ConformanceReport(File, output);
        JsonElement root = doc.RootElement;
        foreach (JsonElement c in root.GetProperty("sinusoidal").EnumerateArray())
            report.Run(c.GetProperty("name").GetString()!, () => Sinusoidal(c, tol));
        foreach (JsonElement c in root.GetProperty("rope").EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            report.Run(name, () => name switch
            {
                "rope_relative_property" => RelativeProperty(c),
                "rope_convention_permutation" => Permutation(c, tol),
                _ => RopeCase(c, tol),
            });
        }
        report.Finish();
    }

    private static string? Sinusoidal(JsonElement c, Tolerance tol)
    {
        SinusoidalLayout layout = c.GetProperty("variant").GetString() switch
        {
            "interleaved" => SinusoidalLayout.Interleaved,
            "concat_halves" => SinusoidalLayout.ConcatHalves,
            "concat_halves_t2t" => SinusoidalLayout.ConcatHalvesT2T,
            var v => throw new InvalidDataException($"unknown sinusoidal variant {v}"),
        };
        int d = c.GetProperty("d_model").GetInt32();
        double @base = c.GetProperty("base").GetDouble();
        int[] positions = c.GetProperty("positions").EnumerateArray().Select(p => p.GetInt32()).ToArray();
        JsonElement expected = c.GetProperty("expected");

        double[] freq = new double[d / 2];
        EmbedSharp.Positional.Sinusoidal.Frequencies(d, layout, freq, @base);
        var expFreq = JsonTensor.Parse(expected.GetProperty("frequencies"));
        string? f = tol.Compare(freq.Select(x => (float)x).ToArray(), expFreq.Data, "frequencies");
        if (f is not null)
            return f;

        var expPe = JsonTensor.Parse(expected.GetProperty("pe"));
        if (expPe.Shape[0] != positions.Length || expPe.Shape[1] != d)
            return $"pe shape [{string.Join(", ", expPe.Shape)}] does not match positions × d_model";
        float[] pe = new float[positions.Length * d];
        EmbedSharp.Positional.Sinusoidal.Encode(positions, d, layout, pe, @base);
        // Angles are formed in float64 here, so the file's tight tolerance holds at every position.
        return tol.Compare(pe, expPe.Data, "pe");
    }

    private static string? RopeCase(JsonElement c, Tolerance tol)
    {
        JsonElement p = c.GetProperty("params");
        double @base = p.GetProperty("base").GetDouble();
        int headDim = p.GetProperty("head_dim").GetInt32();
        int rotaryDim = p.GetProperty("rotary_dim").GetInt32();
        double divisor = p.GetProperty("position_scale_divisor").GetDouble();
        var x = JsonTensor.Parse(c.GetProperty("inputs").GetProperty("x"));
        int[] positions = c.GetProperty("inputs").GetProperty("positions").EnumerateArray().Select(e => checked((int)e.GetDouble())).ToArray();
        JsonElement expected = c.GetProperty("expected");

        // Build the layer from the *original* parameters, so the scaled bases are our own computation.
        string scaling = p.TryGetProperty("scaling", out var s) ? s.GetString()! : "none";
        var options = new RopeOptions { RotaryDim = rotaryDim };
        double checkBase = @base;
        switch (scaling)
        {
            case "none":
                options = options with { Base = @base };
                break;
            case "linear":
                options = options with { Base = @base, Scaling = RopeScaling.Linear, Factor = p.GetProperty("factor").GetDouble() };
                if (options.Factor != divisor)
                    return $"linear factor {options.Factor} differs from position_scale_divisor {divisor}";
                break;
            case "ntk_aware":
            {
                double original = p.GetProperty("original_base").GetDouble();
                double alpha = p.GetProperty("alpha").GetDouble();
                double scaled = Rope.NtkAwareBase(original, rotaryDim, alpha);
                if (Math.Abs(scaled - p.GetProperty("scaled_base").GetDouble()) > 1e-9 * scaled)
                    return $"NTK base {scaled:R}, expected {p.GetProperty("scaled_base").GetDouble():R}";
                options = options with { Base = original, Scaling = RopeScaling.NtkAware, Factor = alpha };
                break;
            }
            case "dynamic_ntk":
            {
                double original = p.GetProperty("original_base").GetDouble();
                double factor = p.GetProperty("factor").GetDouble();
                int l0 = p.GetProperty("max_position_embeddings").GetInt32();
                int seqLen = p.GetProperty("seq_len").GetInt32();
                double scaled = Rope.DynamicNtkBase(original, rotaryDim, factor, l0, seqLen);
                if (Math.Abs(scaled - p.GetProperty("scaled_base").GetDouble()) > 1e-9 * scaled)
                    return $"dynamic NTK base {scaled:R}, expected {p.GetProperty("scaled_base").GetDouble():R}";
                if (Rope.DynamicNtkBase(original, rotaryDim, factor, l0, l0) != original)
                    return "dynamic NTK changed the base at a length within the original context";
                if (seqLen != positions.Max() + 1)
                    return $"seq_len {seqLen} is not max(position) + 1; the layer derives the length from the positions";
                options = options with { Base = original, Scaling = RopeScaling.DynamicNtk, Factor = factor, OriginalMaxPositions = l0 };
                break;
            }
            default:
                return $"unknown scaling '{scaling}'";
        }

        // Pure functions: inverse frequencies and angles.
        double[] invFreq = new double[rotaryDim / 2];
        Rope.InverseFrequencies(rotaryDim, checkBase, invFreq);
        string? fail = tol.Compare(invFreq.Select(v => (float)v).ToArray(), JsonTensor.Parse(expected.GetProperty("inv_freq")).Data, "inv_freq");
        if (fail is not null)
            return fail;
        float[] angles = new float[positions.Length * invFreq.Length];
        for (int i = 0; i < positions.Length; i++)
            for (int j = 0; j < invFreq.Length; j++)
                angles[i * invFreq.Length + j] = (float)(positions[i] / divisor * invFreq[j]);
        fail = tol.Compare(angles, JsonTensor.Parse(expected.GetProperty("angles")).Data, "angles");
        if (fail is not null)
            return fail;

        foreach ((string key, RopeConvention conv) in new[] { ("rotate_half", RopeConvention.RotateHalf), ("interleaved", RopeConvention.Interleaved) })
        {
            var exp = JsonTensor.Parse(expected.GetProperty(key));
            // The layer (scaling applied inside).
            var layer = new RotaryEmbedding(headDim, options with { Convention = conv });
            float[] viaLayer = x.Floats();
            layer.Apply(viaLayer, positions);
            fail = tol.Compare(viaLayer, exp.Data, key + " (layer)");
            if (fail is not null)
                return fail;
            // The span function on effective positions, and its scalar reference.
            double[] eff = positions.Select(q => q / divisor).ToArray();
            float[] viaSpan = new float[viaLayer.Length];
            Rope.Apply(x.Floats(), headDim, eff, invFreq, conv, viaSpan);
            fail = tol.Compare(viaSpan, exp.Data, key + " (span)");
            if (fail is not null)
                return fail;
            float[] viaRef = new float[viaLayer.Length];
            Rope.ApplyReference(x.Floats(), headDim, eff, invFreq, conv, viaRef);
            fail = tol.Compare(viaRef, exp.Data, key + " (reference)");
            if (fail is not null)
                return fail;
        }
        return null;
    }

    private static string? RelativeProperty(JsonElement c)
    {
        JsonElement inputs = c.GetProperty("inputs");
        float[] q = JsonTensor.Parse(inputs.GetProperty("q")).Floats();
        float[] k = JsonTensor.Parse(inputs.GetProperty("k")).Floats();
        int[][] pairs = inputs.GetProperty("pairs_m_n").EnumerateArray().Select(a => a.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray();
        JsonElement expected = c.GetProperty("expected");
        foreach ((string key, RopeConvention conv) in new[] { ("dots_rotate_half", RopeConvention.RotateHalf), ("dots_interleaved", RopeConvention.Interleaved) })
        {
            double[] dots = expected.GetProperty(key).EnumerateArray().Select(e => e.GetDouble()).ToArray();
            if (dots.Length != pairs.Length)
                return $"{key} has {dots.Length} entries for {pairs.Length} pairs";
            var layer = new RotaryEmbedding(q.Length, new RopeOptions { Convention = conv });
            for (int i = 0; i < pairs.Length; i++)
            {
                float[] qr = (float[])q.Clone(), kr = (float[])k.Clone();
                layer.Apply(qr, [pairs[i][0]]);
                layer.Apply(kr, [pairs[i][1]]);
                double dot = 0;
                for (int j = 0; j < qr.Length; j++)
                    dot += (double)qr[j] * kr[j];
                if (Math.Abs(dot - dots[i]) > 1e-5 * Math.Max(1, Math.Abs(dots[i])))
                    return $"{key}[{i}] (m={pairs[i][0]}, n={pairs[i][1]}): {dot:R}, expected {dots[i]:R}";
            }
        }
        return null;
    }

    private static string? Permutation(JsonElement c, Tolerance tol)
    {
        JsonElement inputs = c.GetProperty("inputs");
        var x = JsonTensor.Parse(inputs.GetProperty("x"));
        int[] perm = inputs.GetProperty("perm").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int seq = (int)x.Shape[0], d = (int)x.Shape[1];
        if (perm.Length != d)
            return $"perm has {perm.Length} entries for head_dim {d}";
        JsonElement expected = c.GetProperty("expected");

        float[] inter = x.Floats();
        new RotaryEmbedding(d, new RopeOptions { Convention = RopeConvention.Interleaved }).Apply(inter, seq);
        string? fail = tol.Compare(inter, JsonTensor.Parse(expected.GetProperty("interleaved")).Data, "interleaved");
        if (fail is not null)
            return fail;

        float[] src = x.Floats();
        float[] permuted = new float[src.Length];
        for (int r = 0; r < seq; r++)
            for (int j = 0; j < d; j++)
                permuted[r * d + j] = src[r * d + perm[j]];
        new RotaryEmbedding(d).Apply(permuted, seq);
        fail = tol.Compare(permuted, JsonTensor.Parse(expected.GetProperty("rotate_half_of_permuted")).Data, "rotate_half_of_permuted");
        if (fail is not null)
            return fail;

        // Undo the permutation: the result must be the interleaved rotation.
        float[] unpermuted = new float[src.Length];
        for (int r = 0; r < seq; r++)
            for (int j = 0; j < d; j++)
                unpermuted[r * d + perm[j]] = permuted[r * d + j];
        return tol.Compare(unpermuted, inter.Select(v => (double)v).ToArray(), "unpermute(rotate_half(x[perm])) vs interleaved(x)");
    }
}
