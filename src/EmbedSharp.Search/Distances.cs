using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Search;

/// <summary>
/// Distance kernels of the approximate indexes on raw pointers: Vector256 with four accumulators
/// (32 floats per step), a Vector128 loop and a scalar tail; plain references beside them.
/// </summary>
/// <remarks>
/// Lanes: element i goes to accumulator <c>(i / 8) mod 4</c>, lane <c>i mod 8</c>; the accumulators are
/// added pairwise and summed horizontally at the end, then the last <c>n mod 8</c> elements one by one.
/// Results differ from the sequential references by float rounding only.
/// </remarks>
internal static unsafe class Distances
{
    /// <summary>
    /// Dot product: with AVX-512 and a multiple of 16 dims, <see cref="DotWide"/> (128 dims fully unrolled);
    /// otherwise core's unrolled Vector256 streaming-scan kernel (<c>SearchKernels.DotUnrolled</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* x, float* y, int n) =>
        Vector512.IsHardwareAccelerated && (n & 15) == 0 && n > 0 ? DotWide(x, y, n) : SearchKernels.DotUnrolled(x, y, n);

    /// <summary>
    /// Vector512 dot product of a positive multiple of 16 floats: four accumulators over 64 floats a step
    /// (128 dims — the common embedding width — as two straight-line steps), then single 16-float steps.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static float DotWide(float* x, float* y, int n)
    {
        Vector512<float> a0, a1, a2, a3;
        if (n == 128)
        {
            a0 = Vector512.Load(x) * Vector512.Load(y);
            a1 = Vector512.Load(x + 16) * Vector512.Load(y + 16);
            a2 = Vector512.Load(x + 32) * Vector512.Load(y + 32);
            a3 = Vector512.Load(x + 48) * Vector512.Load(y + 48);
            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(x + 64), Vector512.Load(y + 64), a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Load(x + 80), Vector512.Load(y + 80), a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Load(x + 96), Vector512.Load(y + 96), a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Load(x + 112), Vector512.Load(y + 112), a3);
            return Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        a0 = a1 = a2 = a3 = Vector512<float>.Zero;
        int i = 0;
        for (; i <= n - 64; i += 64)
        {
            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(x + i), Vector512.Load(y + i), a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Load(x + i + 16), Vector512.Load(y + i + 16), a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Load(x + i + 32), Vector512.Load(y + i + 32), a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Load(x + i + 48), Vector512.Load(y + i + 48), a3);
        }
        for (; i < n; i += 16)
            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(x + i), Vector512.Load(y + i), a0);
        return Vector512.Sum((a0 + a1) + (a2 + a3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static float SquaredL2(float* x, float* y, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 32; i += 32)
            {
                var d0 = Vector256.Load(x + i) - Vector256.Load(y + i);
                var d1 = Vector256.Load(x + i + 8) - Vector256.Load(y + i + 8);
                var d2 = Vector256.Load(x + i + 16) - Vector256.Load(y + i + 16);
                var d3 = Vector256.Load(x + i + 24) - Vector256.Load(y + i + 24);
                a0 = Vector256.FusedMultiplyAdd(d0, d0, a0);
                a1 = Vector256.FusedMultiplyAdd(d1, d1, a1);
                a2 = Vector256.FusedMultiplyAdd(d2, d2, a2);
                a3 = Vector256.FusedMultiplyAdd(d3, d3, a3);
            }
            for (; i <= n - 8; i += 8)
            {
                var d = Vector256.Load(x + i) - Vector256.Load(y + i);
                a0 = Vector256.FusedMultiplyAdd(d, d, a0);
            }
            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        else if (Vector128.IsHardwareAccelerated && n >= 4)
        {
            Vector128<float> a0 = default;
            for (; i <= n - 4; i += 4)
            {
                var d = Vector128.Load(x + i) - Vector128.Load(y + i);
                a0 += d * d;
            }
            sum = Vector128.Sum(a0);
        }
        for (; i < n; i++)
        {
            float d = x[i] - y[i];
            sum += d * d;
        }
        return sum;
    }

    public static float DotReference(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        float s = 0;
        for (int i = 0; i < x.Length; i++)
            s += x[i] * y[i];
        return s;
    }

    public static float SquaredL2Reference(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        float s = 0;
        for (int i = 0; i < x.Length; i++)
            s += (x[i] - y[i]) * (x[i] - y[i]);
        return s;
    }

    /// <summary>Scales <paramref name="v"/> to unit length in place (a zero vector stays zero).</summary>
    public static void Normalize(Span<float> v)
    {
        double s = 0;
        foreach (float x in v)
            s += (double)x * x;
        if (s <= 0)
            return;
        double inv = 1 / Math.Sqrt(s);
        for (int i = 0; i < v.Length; i++)
            v[i] = (float)(v[i] * inv);
    }

    /// <summary>Index of the first NaN or infinity, or −1.</summary>
    public static int FirstNonFinite(ReadOnlySpan<float> v)
    {
        for (int i = 0; i < v.Length; i++)
        {
            if (!float.IsFinite(v[i]))
                return i;
        }
        return -1;
    }
}
