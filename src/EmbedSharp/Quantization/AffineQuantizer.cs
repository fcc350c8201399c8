using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Quantization;

/// <summary>Rounding and reduction behaviour of one MLX backend, as a type (STYLE habit 4).</summary>
internal interface IBackendRounding
{
    /// <summary>True for the Metal behaviour.</summary>
    static abstract bool IsGpu { get; }

    /// <summary>rint (CPU, half to even) or Metal <c>round</c> (half away from zero).</summary>
    static abstract float Round(float x);
}

internal readonly struct CpuRounding : IBackendRounding
{
    public static bool IsGpu => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float x) => MathF.Round(x, MidpointRounding.ToEven);
}

internal readonly struct GpuRounding : IBackendRounding
{
    public static bool IsGpu => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float x) => MathF.Round(x, MidpointRounding.AwayFromZero);
}

/// <summary>
/// MLX affine quantization of one row, group by group (spec §6.1 CPU, §6.2 GPU), all arithmetic in float32.
/// </summary>
/// <remarks>
/// Per group, with <c>n = 2^bits − 1</c> and <c>eps = 1e-7f</c>:
/// <code>
/// w_min, w_max   = min, max of the group      (GPU: the max starts at 0, so w_max ≥ 0)
/// mask           = |w_min| &gt; |w_max|
/// scale          = max((w_max − w_min) / n, eps), negated unless mask
/// edge           = mask ? w_min : w_max
/// q0             = round(edge / scale)
/// if q0 ≠ 0:       scale = edge / q0, bias = edge      else bias = 0
/// q_i            = clamp(round((w_i − bias) / scale), 0, n)
/// </code>
/// <c>round</c> is half-to-even on the CPU and half-away-from-zero on the GPU. The scale and bias are
/// stored rounded to the input dtype; the codes use their unrounded float32 values.
/// NaN or infinite inputs, and constant groups so large (|c| ≳ 3.4e31) that <c>edge / eps</c> overflows,
/// are undefined in MLX and rejected here.
/// </remarks>
internal static class AffineQuantizer
{
    internal const float Eps = 1e-7f;

    /// <summary>Quantizes one row. <paramref name="packed"/> must be cleared by the caller.</summary>
    internal static void QuantizeRow<T, TBits, TRound>(ReadOnlySpan<T> row, int groupSize, Span<uint> packed, Span<T> scales, Span<T> biases, int rowIndex)
        where T : unmanaged
        where TBits : struct, IBitWidth
        where TRound : struct, IBackendRounding
    {
        int b = TBits.Bits;
        float n = (1 << b) - 1;
        int groups = row.Length / groupSize;
        for (int g = 0; g < groups; g++)
        {
            ReadOnlySpan<T> group = row.Slice(g * groupSize, groupSize);
            float wMin, wMax;
            if (TRound.IsGpu)
            {
                wMin = Fp.MaxValue<T>();
                wMax = 0f;
            }
            else
            {
                wMin = float.PositiveInfinity;
                wMax = float.NegativeInfinity;
            }
            for (int i = 0; i < group.Length; i++)
            {
                float v = Fp.ToSingle(group[i]);
                if (!float.IsFinite(v))
                    ThrowNonFinite(rowIndex, g * groupSize + i, v);
                wMin = v < wMin ? v : wMin;
                wMax = v > wMax ? v : wMax;
            }
            var (scale, bias) = GroupParameters<TRound>(wMin, wMax, n, rowIndex, g);
            scales[g] = Fp.FromSingle<T>(scale);
            biases[g] = Fp.FromSingle<T>(bias);
            long first = (long)g * groupSize;
            for (int i = 0; i < group.Length; i++)
            {
                float q = TRound.Round((Fp.ToSingle(group[i]) - bias) / scale);
                q = q < 0f ? 0f : q > n ? n : q;
                BitPacking.WriteCode(packed, first + i, b, (uint)q);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float Scale, float Bias) GroupParameters<TRound>(float wMin, float wMax, float n, int row, int group)
        where TRound : struct, IBackendRounding
    {
        bool mask = MathF.Abs(wMin) > MathF.Abs(wMax);
        float scale = MathF.Max((wMax - wMin) / n, Eps);
        if (!mask)
            scale = -scale;
        float edge = mask ? wMin : wMax;
        float q0 = TRound.Round(edge / scale);
        float bias = 0f;
        if (q0 != 0f)
        {
            if (!float.IsFinite(q0))
                ThrowOverflow(row, group, edge);
            scale = edge / q0;
            bias = edge;
        }
        return (scale, bias);
    }

    /// <summary>
    /// Plain reference: the same algorithm with runtime bits and backend, written element by element
    /// without generics, for tests.
    /// </summary>
    internal static void QuantizeRowReference(ReadOnlySpan<float> row, int groupSize, int bits, bool gpu, float tMax,
        Func<float, float> roundToT, Span<byte> codes, Span<float> scales, Span<float> biases)
    {
        float n = (1 << bits) - 1;
        for (int g = 0; g < row.Length / groupSize; g++)
        {
            float wMin = gpu ? tMax : float.PositiveInfinity;
            float wMax = gpu ? 0f : float.NegativeInfinity;
            for (int i = 0; i < groupSize; i++)
            {
                wMin = Math.Min(wMin, row[g * groupSize + i]);
                wMax = Math.Max(wMax, row[g * groupSize + i]);
            }
            float Round(float x) => gpu ? MathF.Round(x, MidpointRounding.AwayFromZero) : MathF.Round(x);
            bool mask = Math.Abs(wMin) > Math.Abs(wMax);
            float scale = Math.Max((wMax - wMin) / n, Eps);
            scale = mask ? scale : -scale;
            float edge = mask ? wMin : wMax;
            float q0 = Round(edge / scale);
            float bias = q0 == 0f ? 0f : edge;
            if (q0 != 0f)
                scale = edge / q0;
            scales[g] = roundToT(scale);
            biases[g] = roundToT(bias);
            for (int i = 0; i < groupSize; i++)
                codes[g * groupSize + i] = (byte)Math.Clamp(Round((row[g * groupSize + i] - bias) / scale), 0f, n);
        }
    }

    private static void ThrowNonFinite(int row, int column, float value) =>
        ThrowHelper.Argument("quantize", "w", $"w[{row}, {column}] = {value} is not finite; only finite values can be quantized (MLX leaves NaN and infinity undefined)");

    private static void ThrowOverflow(int row, int group, float edge) =>
        ThrowHelper.Argument("quantize", "w", $"group {group} of row {row} is a constant {edge} too large for affine quantization (edge / 1e-7 overflows float32; |w| must stay below about 3.4e31)");
}

/// <summary>MLX affine dequantization kernels: <c>ŵ = q·s + b</c> per group.</summary>
/// <remarks>
/// MLX's CPU rounds twice in the scale dtype T, <c>T(T(q·s) + b)</c>; the <c>fused</c> flag selects one
/// rounding (<c>fused</c>), <c>T(q·s + b)</c>, as a fused multiply-add gives. For float32 scales both are computed with
/// vector multiply and add (or FMA) over the group; for float16/bfloat16 every step is rounded to T
/// (float32 arithmetic rounded to a 16-bit type is exact: 24 ≥ 2·11 + 2).
/// </remarks>
internal static class AffineDequantizer
{
    internal static void DequantizeRow<T, TBits>(ReadOnlySpan<uint> packedRow, ReadOnlySpan<T> scales, ReadOnlySpan<T> biases,
        int groupSize, bool fused, Span<float> destination)
        where T : unmanaged
        where TBits : struct, IBitWidth
    {
        int groups = scales.Length;
        for (int g = 0; g < groups; g++)
        {
            Span<float> dst = destination.Slice(g * groupSize, groupSize);
            BitPacking.UnpackToSingle<TBits>(packedRow, (long)g * groupSize, dst);
            float s = Fp.ToSingle(scales[g]), b = Fp.ToSingle(biases[g]);
            if (typeof(T) == typeof(float))
            {
                if (fused)
                {
                    for (int i = 0; i < dst.Length; i++)
                        dst[i] = MathF.FusedMultiplyAdd(dst[i], s, b);
                }
                else
                {
                    TensorPrimitives.Multiply(dst, s, dst);
                    TensorPrimitives.Add(dst, b, dst);
                }
            }
            else if (fused)
            {
                for (int i = 0; i < dst.Length; i++)
                    dst[i] = Fp.MultiplyAddOnce<T>(dst[i], s, b);
            }
            else
            {
                for (int i = 0; i < dst.Length; i++)
                    dst[i] = Fp.Round<T>(Fp.Round<T>(dst[i] * s) + b);
            }
        }
    }

    /// <summary>Element-by-element reference with runtime bits, through <see cref="BitPacking.ReadCode"/>.</summary>
    internal static void DequantizeRowReference(ReadOnlySpan<uint> packedRow, ReadOnlySpan<float> scales, ReadOnlySpan<float> biases,
        int groupSize, int bits, bool fused, Func<float, float> roundToT, Func<float, float, float, float> multiplyAddOnceToT, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            float q = BitPacking.ReadCode(packedRow, i, bits);
            float s = scales[i / groupSize], b = biases[i / groupSize];
            destination[i] = fused ? multiplyAddOnceToT(q, s, b) : roundToT(roundToT(q * s) + b);
        }
    }
}
