using EmbedSharp.Diagnostics;

namespace EmbedSharp.Quantization;

/// <summary>
/// MLX quantization for the floating-point modes (mxfp4, nvfp4, mxfp8), per group of one row
/// (spec §7.2 CPU, §7.3 GPU). There is no bias; scales are bytes.
/// </summary>
/// <remarks>
/// <para><b>CPU</b> (MLX's composed ops, in the input dtype T): <c>s = T(amax / M)</c> with M = 6 (fp4) or 448 (fp8).
/// mx modes: <c>e = s == 0 ? 0 : rint(T(log2 s))</c>, scale byte <c>e + 127</c>, element <c>y = T(w / T(2^e))</c>;
/// nvfp4: scale byte <c>E4M3(s · enc)</c> with <c>enc = 2688 / global_scale</c> (or 1), element
/// <c>y = T(w / T(dec(byte))) · enc</c> in float32. FP4 codes are the first minimum of <c>|y − LUT_k|</c>
/// (ties go to the smaller magnitude; −0.25 ≤ y &lt; 0 gives code 0); FP8 codes are <see cref="FloatFormats.EncodeE4M3"/>.</para>
/// <para><b>GPU</b> (Metal, float32): <c>x = amax / M · enc</c>; scale byte E8M0 (round half away from zero,
/// clamped) or E4M3 of x; <c>m = dec == 0 ? 0 : enc / dec</c>; code = E2M1 (threshold table, half to even)
/// or E4M3 of <c>w · m</c>.</para>
/// </remarks>
internal static class FpQuantizer
{
    internal static void QuantizeRow<T, TRound>(ReadOnlySpan<T> row, QuantizationMode mode, int groupSize, float? globalScale,
        Span<uint> packed, Span<byte> scales, int rowIndex)
        where T : unmanaged
        where TRound : struct, IBackendRounding
    {
        int bits = mode == QuantizationMode.Mxfp8 ? 8 : 4;
        float maxValue = bits == 4 ? 6f : 448f;
        float enc = globalScale is float gsc ? 448f * 6f / gsc : 1f;
        ReadOnlySpan<float> lut = FloatFormats.E2M1Values;
        int groups = row.Length / groupSize;
        for (int g = 0; g < groups; g++)
        {
            ReadOnlySpan<T> group = row.Slice(g * groupSize, groupSize);
            float amax = 0f;
            for (int i = 0; i < group.Length; i++)
            {
                float v = Fp.ToSingle(group[i]);
                if (!float.IsFinite(v))
                    ThrowHelper.Argument("quantize", "w", $"w[{rowIndex}, {g * groupSize + i}] = {v} is not finite; only finite values can be quantized (MLX leaves NaN and infinity undefined)");
                amax = MathF.Max(amax, MathF.Abs(v));
            }
            long first = (long)g * groupSize;
            if (TRound.IsGpu)
            {
                float x = amax / maxValue;
                if (globalScale is not null)
                    x *= enc;
                byte scaleByte;
                float dec;
                if (mode == QuantizationMode.Nvfp4)
                {
                    scaleByte = FloatFormats.EncodeE4M3(x);
                    dec = FloatFormats.DecodeE4M3(scaleByte);
                }
                else
                {
                    scaleByte = FloatFormats.EncodeE8M0Gpu(x);
                    dec = FloatFormats.DecodeE8M0(scaleByte);
                }
                scales[g] = scaleByte;
                float m = dec == 0f ? 0f : enc / dec;
                for (int i = 0; i < group.Length; i++)
                {
                    float y = Fp.ToSingle(group[i]) * m;
                    uint code = bits == 4 ? FloatFormats.EncodeE2M1Gpu(y) : FloatFormats.EncodeE4M3(y);
                    BitPacking.WriteCode(packed, first + i, bits, code);
                }
                continue;
            }

            float s = Fp.Round<T>(amax / maxValue);
            if (mode == QuantizationMode.Nvfp4)
            {
                byte scaleByte = FloatFormats.EncodeE4M3(s * enc);
                scales[g] = scaleByte;
                float decT = Fp.Round<T>(FloatFormats.DecodeE4M3(scaleByte));
                for (int i = 0; i < group.Length; i++)
                {
                    // T(w / T(dec)) widened, times enc in float32; distances in float32.
                    float y = Fp.Round<T>(Fp.ToSingle(group[i]) / decT) * enc;
                    BitPacking.WriteCode(packed, first + i, 4, (uint)ArgMinDistance(y, lut, static d => d));
                }
            }
            else
            {
                int e = s == 0f ? 0 : (int)MathF.Round(Fp.Round<T>(MathF.Log2(s)), MidpointRounding.ToEven);
                // MLX adds 127 and casts to uint8; exponents outside [−127, 128] (amax ≲ 2.5e-38) wrap there too.
                scales[g] = unchecked((byte)(e + 127));
                float p = Fp.Round<T>(FloatFormats.Pow2(e));
                for (int i = 0; i < group.Length; i++)
                {
                    float y = Fp.Round<T>(Fp.ToSingle(group[i]) / p);
                    uint code = bits == 4
                        ? (uint)ArgMinDistance(y, lut, static d => Fp.Round<T>(d))
                        : FloatFormats.EncodeE4M3(y);
                    BitPacking.WriteCode(packed, first + i, bits, code);
                }
            }
        }
    }

    /// <summary>
    /// MLX's <c>argmin |y − LUT_k|</c>: a strict <c>&lt;</c> scan that keeps the first minimum, so ties
    /// go to the lower index (the smaller magnitude) and NaN or infinite distances give index 0.
    /// </summary>
    private static int ArgMinDistance(float y, ReadOnlySpan<float> lut, Func<float, float> roundDifference)
    {
        int best = 0;
        float bestDistance = MathF.Abs(roundDifference(y - lut[0]));
        for (int k = 1; k < lut.Length; k++)
        {
            float d = MathF.Abs(roundDifference(y - lut[k]));
            if (d < bestDistance)
            {
                best = k;
                bestDistance = d;
            }
        }
        return best;
    }
}

/// <summary>Dequantization kernels for the fp modes: <c>ŵ = element(code) · scale</c>.</summary>
internal static class FpDequantizer
{
    private static readonly float[] s_e4m3 = BuildE4M3();

    private static float[] BuildE4M3()
    {
        var table = new float[256];
        for (int c = 0; c < 256; c++)
            table[c] = FloatFormats.DecodeE4M3((byte)c);
        return table;
    }

    /// <summary>Decoded E4M3 values for all 256 bytes.</summary>
    internal static ReadOnlySpan<float> E4M3Table => s_e4m3;

    /// <summary>
    /// Dequantizes one row to float32, which is exact and what MLX returns with <c>dtype=float32</c> on
    /// either backend: <c>scale = dec(byte) · (global_scale / 2688)</c>, <c>ŵ = element · scale</c>.
    /// </summary>
    internal static void DequantizeRow(ReadOnlySpan<uint> packedRow, ReadOnlySpan<byte> scales, QuantizationMode mode, int groupSize,
        float? globalScale, Span<float> destination)
    {
        float inv = globalScale is float g ? g / (448f * 6f) : 1f;
        ReadOnlySpan<float> elements = mode == QuantizationMode.Mxfp8 ? s_e4m3 : FloatFormats.E2M1Values;
        ReadOnlySpan<byte> bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(packedRow);
        for (int grp = 0; grp < scales.Length; grp++)
        {
            float scale = ScaleValue(mode, scales[grp]);
            if (globalScale is not null)
                scale *= inv;
            Span<float> dst = destination.Slice(grp * groupSize, groupSize);
            int first = grp * groupSize;
            if (mode == QuantizationMode.Mxfp8)
            {
                ReadOnlySpan<byte> codes = bytes.Slice(first, groupSize);
                for (int i = 0; i < dst.Length; i++)
                    dst[i] = elements[codes[i]] * scale;
            }
            else
            {
                ReadOnlySpan<byte> codes = bytes.Slice(first >> 1, groupSize >> 1);
                for (int i = 0; i < codes.Length; i++)
                {
                    int v = codes[i];
                    dst[2 * i] = elements[v & 15] * scale;
                    dst[2 * i + 1] = elements[v >> 4] * scale;
                }
            }
        }
    }

    internal static float ScaleValue(QuantizationMode mode, byte scale) =>
        mode == QuantizationMode.Nvfp4 ? FloatFormats.DecodeE4M3(scale) : FloatFormats.DecodeE8M0(scale);

    internal static float ElementValue(QuantizationMode mode, uint code) =>
        mode == QuantizationMode.Mxfp8 ? s_e4m3[(int)code] : FloatFormats.DecodeE2M1((int)code);
}
