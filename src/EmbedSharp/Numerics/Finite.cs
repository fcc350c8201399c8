using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Numerics;

public static partial class Kernels
{
    /// <summary>
    /// Index of the first element of <paramref name="x"/> that is NaN or ±∞, or -1 when all are finite.
    /// </summary>
    /// <remarks>
    /// SIMD: <c>v − v</c> is 0 for every finite lane and NaN otherwise, so one compare per vector finds
    /// any non-finite lane; the exact index is then found in scalar code within that vector.
    /// </remarks>
    internal static int FirstNonFinite(ReadOnlySpan<float> x)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count)
        {
            ref float r = ref MemoryMarshal.GetReference(x);
            // Four vectors per test: v − v has all-zero bits for finite lanes, so OR-ing the four
            // differences is zero exactly when all 32 lanes are finite.
            for (; i <= x.Length - 4 * Vector256<float>.Count; i += 4 * Vector256<float>.Count)
            {
                var a = Vector256.LoadUnsafe(ref r, (nuint)i);
                var b = Vector256.LoadUnsafe(ref r, (nuint)(i + 8));
                var c = Vector256.LoadUnsafe(ref r, (nuint)(i + 16));
                var d = Vector256.LoadUnsafe(ref r, (nuint)(i + 24));
                var any = (a - a).AsUInt32() | (b - b).AsUInt32() | (c - c).AsUInt32() | (d - d).AsUInt32();
                if (any != Vector256<uint>.Zero)
                    break;
            }
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.LoadUnsafe(ref r, (nuint)i);
                if (!Vector256.EqualsAll(v - v, Vector256<float>.Zero))
                    break;
            }
        }
        for (; i < x.Length; i++)
        {
            if (!float.IsFinite(x[i]))
                return i;
        }
        return -1;
    }

    /// <summary>Plain reference for <see cref="FirstNonFinite"/>.</summary>
    internal static int FirstNonFiniteReference(ReadOnlySpan<float> x)
    {
        for (int i = 0; i < x.Length; i++)
        {
            if (!float.IsFinite(x[i]))
                return i;
        }
        return -1;
    }

    /// <summary>
    /// The largest |x| of <paramref name="x"/> (0 when empty), or +∞ when any element is NaN or ±∞:
    /// one pass that both checks a gradient and bounds it.
    /// </summary>
    /// <remarks>
    /// A long span is read from memory; one line 8 KiB ahead is prefetched per line read, which took
    /// the optimizer's guard pass over a 32 MiB gradient about a tenth faster on one core than the
    /// hardware prefetcher alone (sparse SGD step 8.1–8.9 → 9.1–9.9 M rows/s).
    /// </remarks>
    internal static float MaxAbsIfFinite(ReadOnlySpan<float> x)
    {
        int i = 0;
        float max = 0;
        if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count)
        {
            ref float r = ref MemoryMarshal.GetReference(x);
            // v − v is 0 in finite lanes and NaN otherwise; OR-ed over the span it is zero exactly
            // when every element is finite. |v| is then an ordinary number in every lane.
            // MaxNative (one vmaxps), not Max: Max follows IEEE 754 maximum (NaN propagates, −0 < +0),
            // which without AVX-512 costs a compare and blends per call, and made this pass compute-bound
            // on AVX2 (1.7 ms against 0.7 over a 32 MiB gradient). Neither case can arise here: a NaN lane
            // is caught by `bad`, and |v| is never −0.
            Vector256<uint> bad = Vector256<uint>.Zero;
            Vector256<float> m0 = Vector256<float>.Zero, m1 = Vector256<float>.Zero;
            for (; i <= x.Length - 2 * Vector256<float>.Count; i += 2 * Vector256<float>.Count)
            {
                if (System.Runtime.Intrinsics.X86.Sse.IsSupported && i + MaxAbsPrefetchAhead < x.Length)
                    unsafe { System.Runtime.Intrinsics.X86.Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref r, i + MaxAbsPrefetchAhead))); }
                var a = Vector256.LoadUnsafe(ref r, (nuint)i);
                var b = Vector256.LoadUnsafe(ref r, (nuint)(i + 8));
                bad |= (a - a).AsUInt32() | (b - b).AsUInt32();
                m0 = Vector256.MaxNative(m0, Vector256.Abs(a));
                m1 = Vector256.MaxNative(m1, Vector256.Abs(b));
            }
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var a = Vector256.LoadUnsafe(ref r, (nuint)i);
                bad |= (a - a).AsUInt32();
                m0 = Vector256.MaxNative(m0, Vector256.Abs(a));
            }
            if (bad != Vector256<uint>.Zero)
                return float.PositiveInfinity;
            max = Vector256.Max(m0, m1) is var m ? MathF.Max(MathF.Max(MathF.Max(m[0], m[1]), MathF.Max(m[2], m[3])), MathF.Max(MathF.Max(m[4], m[5]), MathF.Max(m[6], m[7]))) : 0;
        }
        for (; i < x.Length; i++)
        {
            float v = x[i];
            if (!float.IsFinite(v))
                return float.PositiveInfinity;
            max = MathF.Max(max, MathF.Abs(v));
        }
        return max;
    }

    /// <summary>Floats ahead of the read position that <see cref="MaxAbsIfFinite"/> prefetches (8 KiB).</summary>
    private const int MaxAbsPrefetchAhead = 2048;

    /// <summary>Plain reference for <see cref="MaxAbsIfFinite"/>.</summary>
    internal static float MaxAbsIfFiniteReference(ReadOnlySpan<float> x)
    {
        float max = 0;
        foreach (float v in x)
        {
            if (!float.IsFinite(v))
                return float.PositiveInfinity;
            max = Math.Max(max, Math.Abs(v));
        }
        return max;
    }
}
