using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Search;

/// <summary>
/// Dot product and squared Euclidean distance over float spans: a Vector256 loop with a
/// Vector128 and a scalar fallback, and plain scalar references beside them.
/// </summary>
/// <remarks>
/// Lanes: element <c>i</c> goes to lane <c>i mod W</c> of one accumulator (W = 8 or 4); the
/// accumulator is summed horizontally at the end and the last <c>n mod W</c> elements are added
/// one by one. Results differ from the sequential references only by float rounding order.
/// </remarks>
internal static class SearchKernels
{
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int n = Math.Min(x.Length, y.Length);
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var acc = Vector256<float>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                acc += Vector256.LoadUnsafe(ref px, (nuint)i) * Vector256.LoadUnsafe(ref py, (nuint)i);
            sum = Vector256.Sum(acc);
        }
        else if (Vector128.IsHardwareAccelerated && n >= Vector128<float>.Count)
        {
            var acc = Vector128<float>.Zero;
            for (; i <= n - Vector128<float>.Count; i += Vector128<float>.Count)
                acc += Vector128.LoadUnsafe(ref px, (nuint)i) * Vector128.LoadUnsafe(ref py, (nuint)i);
            sum = Vector128.Sum(acc);
        }
        for (; i < n; i++)
            sum += Unsafe.Add(ref px, i) * Unsafe.Add(ref py, i);
        return sum;
    }

    /// <summary>
    /// The dot products of one row with four queries, the row read once: element <c>i</c> of the result is
    /// <c>row · q_i</c>. Lanes as <see cref="Dot"/>'s, so each equals <see cref="Dot"/> of the same pair
    /// up to rounding order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector128<float> DotFour(float* row, float* q0, float* q1, float* q2, float* q3, int n)
    {
        int i = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var r = Vector256.Load(row + i);
                a0 += r * Vector256.Load(q0 + i);
                a1 += r * Vector256.Load(q1 + i);
                a2 += r * Vector256.Load(q2 + i);
                a3 += r * Vector256.Load(q3 + i);
            }
            s0 = Vector256.Sum(a0);
            s1 = Vector256.Sum(a1);
            s2 = Vector256.Sum(a2);
            s3 = Vector256.Sum(a3);
        }
        else if (Vector128.IsHardwareAccelerated && n >= Vector128<float>.Count)
        {
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - Vector128<float>.Count; i += Vector128<float>.Count)
            {
                var r = Vector128.Load(row + i);
                a0 += r * Vector128.Load(q0 + i);
                a1 += r * Vector128.Load(q1 + i);
                a2 += r * Vector128.Load(q2 + i);
                a3 += r * Vector128.Load(q3 + i);
            }
            s0 = Vector128.Sum(a0);
            s1 = Vector128.Sum(a1);
            s2 = Vector128.Sum(a2);
            s3 = Vector128.Sum(a3);
        }
        for (; i < n; i++)
        {
            float r = row[i];
            s0 += r * q0[i];
            s1 += r * q1[i];
            s2 += r * q2[i];
            s3 += r * q3[i];
        }
        return Vector128.Create(s0, s1, s2, s3);
    }

    public static float DotReference(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        float sum = 0;
        for (int i = 0; i < x.Length; i++)
            sum += x[i] * y[i];
        return sum;
    }

    public static float SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int n = Math.Min(x.Length, y.Length);
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var acc = Vector256<float>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var d = Vector256.LoadUnsafe(ref px, (nuint)i) - Vector256.LoadUnsafe(ref py, (nuint)i);
                acc += d * d;
            }
            sum = Vector256.Sum(acc);
        }
        else if (Vector128.IsHardwareAccelerated && n >= Vector128<float>.Count)
        {
            var acc = Vector128<float>.Zero;
            for (; i <= n - Vector128<float>.Count; i += Vector128<float>.Count)
            {
                var d = Vector128.LoadUnsafe(ref px, (nuint)i) - Vector128.LoadUnsafe(ref py, (nuint)i);
                acc += d * d;
            }
            sum = Vector128.Sum(acc);
        }
        for (; i < n; i++)
        {
            float d = Unsafe.Add(ref px, i) - Unsafe.Add(ref py, i);
            sum += d * d;
        }
        return sum;
    }

    public static float SquaredDistanceReference(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        float sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float d = x[i] - y[i];
            sum += d * d;
        }
        return sum;
    }

    /// <summary>Euclidean norm, accumulated in double.</summary>
    public static double Norm(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (float v in x)
            s += (double)v * v;
        return Math.Sqrt(s);
    }

    /// <summary>
    /// <c>Σ codes[i] · x[i]</c> over unsigned 8-bit codes: 16 codes per step widened byte → uint16 → uint32
    /// → float32 into two Vector256 lanes of 8, fused multiply-add into two accumulators; the last
    /// <c>n mod 16</c> one by one.
    /// </summary>
    public static unsafe float DotBytes(byte* codes, float* x, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= 16)
        {
            Vector256<float> a0 = default, a1 = default;
            for (; i <= n - 16; i += 16)
            {
                Vector128<byte> b = Vector128.Load(codes + i);
                Vector256<ushort> w = Vector256.Create(Vector128.WidenLower(b), Vector128.WidenUpper(b));
                a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Vector256.WidenLower(w).AsInt32()), Vector256.Load(x + i), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Vector256.WidenUpper(w).AsInt32()), Vector256.Load(x + i + 8), a1);
            }
            sum = Vector256.Sum(a0 + a1);
        }
        for (; i < n; i++)
            sum += codes[i] * x[i];
        return sum;
    }

    public static float DotBytesReference(ReadOnlySpan<byte> codes, ReadOnlySpan<float> x)
    {
        float sum = 0;
        for (int i = 0; i < codes.Length; i++)
            sum += codes[i] * x[i];
        return sum;
    }

    /// <summary>
    /// <see cref="Dot"/> with four Vector256 accumulators (32 floats per step), so consecutive fused
    /// multiply-adds do not wait on each other: the streaming scan's kernel. Element i goes to
    /// accumulator <c>(i / 8) mod 4</c>; a Vector256 loop takes the next multiples of 8, then the
    /// scalar tail. Differs from <see cref="DotReference"/> by rounding order only.
    /// </summary>
    public static unsafe float DotUnrolled(float* x, float* y, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 32; i += 32)
            {
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 8), Vector256.Load(y + i + 8), a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 16), Vector256.Load(y + i + 16), a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 24), Vector256.Load(y + i + 24), a3);
            }
            for (; i <= n - 8; i += 8)
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), a0);
            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        else if (Vector128.IsHardwareAccelerated && n >= 4)
        {
            Vector128<float> a0 = default, a1 = default;
            for (; i <= n - 8; i += 8)
            {
                a0 += Vector128.Load(x + i) * Vector128.Load(y + i);
                a1 += Vector128.Load(x + i + 4) * Vector128.Load(y + i + 4);
            }
            for (; i <= n - 4; i += 4)
                a0 += Vector128.Load(x + i) * Vector128.Load(y + i);
            sum = Vector128.Sum(a0 + a1);
        }
        for (; i < n; i++)
            sum += x[i] * y[i];
        return sum;
    }
}
