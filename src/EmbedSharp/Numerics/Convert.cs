using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Numerics;

/// <summary>
/// Element-type conversions between float32 and the 16-bit storage types. float16 goes through
/// <see cref="TensorPrimitives"/>; bfloat16 is a shift (widening, exact) or a round-to-nearest-even
/// of the upper half (narrowing), vectorised here with a scalar tail.
/// </summary>
public static partial class Kernels
{
    /// <summary>Widens float16 to float32 (exact).</summary>
    public static void Widen(ReadOnlySpan<Half> source, Span<float> destination)
    {
        Guard.MinLength("convert", destination.Length, source.Length, "one float per element");
        TensorPrimitives.ConvertToSingle(source, destination);
    }

    /// <summary>Rounds float32 to float16, to nearest with ties to even.</summary>
    public static void Narrow(ReadOnlySpan<float> source, Span<Half> destination)
    {
        Guard.MinLength("convert", destination.Length, source.Length, "one half per element");
        TensorPrimitives.ConvertToHalf(source, destination);
    }

    /// <summary>Widens bfloat16 to float32 (exact: a 16-bit shift).</summary>
    /// <remarks>Lanes: 16 ushorts are widened to two vectors of 8 uints and shifted left by 16.</remarks>
    public static void Widen(ReadOnlySpan<BFloat16> source, Span<float> destination)
    {
        Guard.MinLength("convert", destination.Length, source.Length, "one float per element");
        ReadOnlySpan<ushort> src = MemoryMarshal.Cast<BFloat16, ushort>(source);
        Span<uint> dst = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= src.Length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create<ushort>(src.Slice(i)));
                (lo << 16).CopyTo(dst.Slice(i));
                (hi << 16).CopyTo(dst.Slice(i + Vector256<uint>.Count));
            }
        }
        for (; i < src.Length; i++)
            dst[i] = (uint)src[i] << 16;
    }

    /// <summary>Rounds float32 to bfloat16, to nearest with ties to even; NaN stays a quiet NaN.</summary>
    /// <remarks>
    /// Per lane: <c>(u + 0x7FFF + ((u &gt;&gt; 16) &amp; 1)) &gt;&gt; 16</c>; NaN lanes take <c>(u &gt;&gt; 16) | 0x40</c>
    /// instead (selected with a mask). Two vectors of 8 uints narrow to one vector of 16 ushorts.
    /// </remarks>
    public static void Narrow(ReadOnlySpan<float> source, Span<BFloat16> destination)
    {
        Guard.MinLength("convert", destination.Length, source.Length, "one bfloat16 per element");
        ReadOnlySpan<uint> src = MemoryMarshal.Cast<float, uint>(source);
        Span<ushort> dst = MemoryMarshal.Cast<BFloat16, ushort>(destination);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= src.Length - 2 * Vector256<uint>.Count; i += 2 * Vector256<uint>.Count)
            {
                var lo = RoundBf16(Vector256.Create<uint>(src.Slice(i)));
                var hi = RoundBf16(Vector256.Create<uint>(src.Slice(i + Vector256<uint>.Count)));
                Vector256.Narrow(lo, hi).CopyTo(dst.Slice(i));
            }
        }
        for (; i < src.Length; i++)
            dst[i] = BFloat16.RoundToBits(BitConverter.UInt32BitsToSingle(src[i]));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> RoundBf16(Vector256<uint> u)
    {
        var lsb = (u >> 16) & Vector256<uint>.One;
        var rounded = (u + Vector256.Create(0x7FFFu) + lsb) >> 16;
        var nan = Vector256.GreaterThan(u & Vector256.Create(0x7FFF_FFFFu), Vector256.Create(0x7F80_0000u));
        var quiet = (u >> 16) | Vector256.Create(0x40u);
        return Vector256.ConditionalSelect(nan, quiet, rounded);
    }

    /// <summary>Scalar reference for <see cref="Narrow(ReadOnlySpan{float}, Span{BFloat16})"/>.</summary>
    internal static void NarrowReference(ReadOnlySpan<float> source, Span<BFloat16> destination)
    {
        for (int i = 0; i < source.Length; i++)
            destination[i] = BFloat16.FromBits(BFloat16.RoundToBits(source[i]));
    }

    /// <summary>Scalar reference for <see cref="Widen(ReadOnlySpan{BFloat16}, Span{float})"/>.</summary>
    internal static void WidenReference(ReadOnlySpan<BFloat16> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++)
            destination[i] = BFloat16.BitsToSingle(source[i].Bits);
    }
}
