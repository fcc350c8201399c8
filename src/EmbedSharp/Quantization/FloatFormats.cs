using System.Runtime.CompilerServices;
using EmbedSharp.Numerics;

namespace EmbedSharp.Quantization;

/// <summary>
/// The small float formats of the fp modes, bit for bit as MLX encodes and decodes them:
/// FP4 E2M1 elements, FP8 E4M3 elements and scales, and E8M0 power-of-two scales.
/// </summary>
/// <remarks>
/// <para>E2M1 code → value: 0..7 = +0, 0.5, 1, 1.5, 2, 3, 4, 6; 8..15 = the same negated (8 is −0).</para>
/// <para>E4M3 ("fn", bias 7): <c>e = (c &gt;&gt; 3) &amp; 15</c>, <c>m = c &amp; 7</c>; value <c>m·2^−9</c> when e = 0,
/// else <c>(1 + m/8)·2^(e−7)</c>; bit 7 is the sign. MLX decodes through half precision without a NaN
/// case, so 0x7F decodes to 480. Encoding rounds to nearest, ties to even, and saturates at 448 for
/// |x| ≥ 464, infinities and NaN (which keeps its sign bit).</para>
/// <para>E8M0: value <c>2^(c − 127)</c>; c = 0 decodes to 2^−127 and c = 255 to +∞.</para>
/// </remarks>
public static class FloatFormats
{
    private static readonly float[] s_e2m1 =
        [0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f, -0f, -0.5f, -1f, -1.5f, -2f, -3f, -4f, -6f];

    /// <summary>The 16 E2M1 values in code order (MLX's lookup table).</summary>
    public static ReadOnlySpan<float> E2M1Values => s_e2m1;

    /// <summary>Decodes an E2M1 code (low 4 bits of <paramref name="code"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DecodeE2M1(int code) => s_e2m1[code & 15];

    /// <summary>Decodes an E4M3 byte as MLX does (0x7F → 480, no NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DecodeE4M3(byte code)
    {
        int e = (code >> 3) & 15, m = code & 7;
        float magnitude = e == 0 ? m * (1f / 512f) : (8 + m) * Pow2(e - 10);
        return (code & 0x80) != 0 ? -magnitude : magnitude;
    }

    /// <summary>Decodes an E8M0 byte: <c>2^(c − 127)</c>, with 0 → 2^−127 and 255 → +∞ (MLX's float conversion).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DecodeE8M0(byte code) =>
        BitConverter.UInt32BitsToSingle(code == 0 ? 0x0040_0000u : (uint)code << 23);

    /// <summary>
    /// Encodes a float as E4M3 the way MLX's <c>ToFP8</c> (CPU) and <c>fp8_e4m3</c> (Metal) do; the two agree.
    /// </summary>
    /// <remarks>
    /// Works on the float32 bits: |x| ≥ 464 (bits ≥ 543·2²¹, which includes ±∞ and NaN) saturates to 0x7E;
    /// |x| &lt; 2^−6 is snapped to the 2^−9 grid by adding 2^14 (the float whose bits are 141·2²³, whose ulp
    /// is 2^−9) and subtracting those bits again, which rounds ties to even; otherwise the exponent is rebiased from 127 to 7 and the 3-bit mantissa rounded to
    /// nearest even. The sign bit is copied last.
    /// </remarks>
    public static byte EncodeE4M3(float value)
    {
        const uint fp8Max = 543u << 21;
        const uint denormMask = 141u << 23;
        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint sign = bits & 0x8000_0000u;
        bits ^= sign;
        byte result;
        if (bits >= fp8Max)
        {
            result = 0x7E;
        }
        else if (bits < (121u << 23))
        {
            float sum = BitConverter.UInt32BitsToSingle(bits) + BitConverter.UInt32BitsToSingle(denormMask);
            result = (byte)(BitConverter.SingleToUInt32Bits(sum) - denormMask);
        }
        else
        {
            uint mantOdd = (bits >> 20) & 1;
            bits += unchecked((uint)((7 - 127) << 23)) + 0x7FFFFu;
            bits += mantOdd;
            result = (byte)(bits >> 20);
        }
        return (byte)(result | (byte)(sign >> 24));
    }

    /// <summary>
    /// Encodes a float as E2M1 with Metal's threshold table (round half to even, saturate at 6,
    /// sign from the sign bit so −0 and tiny negatives give code 8, NaN gives 7).
    /// </summary>
    public static byte EncodeE2M1Gpu(float value)
    {
        if (float.IsNaN(value))
            return 0x7;
        byte sign = float.IsNegative(value) ? (byte)0x8 : (byte)0;
        float x = MathF.Abs(value);
        byte code = x > 5f ? (byte)7 : x >= 3.5f ? (byte)6 : x > 2.5f ? (byte)5 : x >= 1.75f ? (byte)4
            : x > 1.25f ? (byte)3 : x >= 0.75f ? (byte)2 : x > 0.25f ? (byte)1 : (byte)0;
        return (byte)(code | sign);
    }

    /// <summary>
    /// Encodes a float as E8M0 as Metal's <c>fp8_e8m0</c> does: non-finite → 255, negative → 0, otherwise
    /// <c>round_half_away(log2 x)</c> clamped to [−127, 127] plus 127 (so 0 → 0).
    /// </summary>
    public static byte EncodeE8M0Gpu(float value)
    {
        if (!float.IsFinite(value))
            return 0xFF;
        if (value < 0f)
            return 0;
        if (value == 0f)
            return 0; // log2(0) = −∞, which the float→int conversion saturates; then clamped to −127.
        float le = MathF.Log2(value);
        int n = (int)MathF.Round(le, MidpointRounding.AwayFromZero);
        n = Math.Clamp(n, -127, 127);
        return (byte)(n + 127);
    }

    /// <summary>2^e as a float, exact for e in [−149, 127] (0 below, +∞ above).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Pow2(int e) => (float)Math.ScaleB(1.0, e);
}

/// <summary>
/// Rounding helpers for the three element types a quantized table may use. <c>T</c> is always
/// <see cref="float"/>, <see cref="Half"/> or <see cref="BFloat16"/>; the <c>typeof</c> tests fold away
/// when the JIT specialises a generic method.
/// </summary>
internal static class Fp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle<T>(T value) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Unsafe.As<T, float>(ref value);
        if (typeof(T) == typeof(Half))
            return (float)Unsafe.As<T, Half>(ref value);
        return BFloat16.BitsToSingle(Unsafe.As<T, BFloat16>(ref value).Bits);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T FromSingle<T>(float value) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Unsafe.As<float, T>(ref value);
        if (typeof(T) == typeof(Half))
        {
            Half h = (Half)value;
            return Unsafe.As<Half, T>(ref h);
        }
        BFloat16 b = BFloat16.FromBits(BFloat16.RoundToBits(value));
        return Unsafe.As<BFloat16, T>(ref b);
    }

    /// <summary>Rounds a float32 to the precision of <typeparamref name="T"/> (nearest, ties to even) and widens back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round<T>(float value) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return value;
        if (typeof(T) == typeof(Half))
            return (float)(Half)value;
        return BFloat16.BitsToSingle(BFloat16.RoundToBits(value));
    }

    /// <summary>
    /// Rounds a double once to <typeparamref name="T"/>. For the 16-bit types it rounds to float32 with
    /// round-to-odd first, which makes the second rounding exact (24 ≥ 2·11 + 2 bits).
    /// </summary>
    public static float RoundOnce<T>(double value) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return (float)value;
        return Round<T>(RoundToOdd(value));
    }

    /// <summary><c>T(q·s + b)</c> with a single rounding (what a fused multiply-add in T gives).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAddOnce<T>(float q, float s, float b) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return MathF.FusedMultiplyAdd(q, s, b);
        // q·s is exact in double (≤ 8 + 11 significant bits); the sum is exact unless the terms are
        // 34+ binades apart, where the smaller one cannot move a 16-bit result anyway.
        return RoundOnce<T>((double)q * s + b);
    }

    /// <summary>Largest finite value of <typeparamref name="T"/>, as a float.</summary>
    public static float MaxValue<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return float.MaxValue;
        if (typeof(T) == typeof(Half))
            return 65504f;
        return BFloat16.BitsToSingle(0x7F7F);
    }

    private static float RoundToOdd(double value)
    {
        float f = (float)value;
        if ((double)f == value || !float.IsFinite(f))
            return f;
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if ((bits & 1) != 0)
            return f;
        // f is the even neighbour; the odd one lies on the other side of value.
        return (double)f > value ? MathF.BitDecrement(f) : MathF.BitIncrement(f);
    }
}
