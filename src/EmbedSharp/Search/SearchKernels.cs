using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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

    /// <summary>Whether <see cref="DotRows"/> runs here for rows of <paramref name="dims"/> floats (AVX, a multiple of 8 dims).</summary>
    public static bool SupportsDotRows(int dims) => Avx.IsSupported && Fma.IsSupported && dims % 8 == 0 && dims > 0;

    /// <summary>
    /// <c>dst[i] = rows[i] · q</c> for <paramref name="count"/> consecutive rows of <paramref name="dims"/> floats (see
    /// <see cref="SupportsDotRows"/>): the streaming scan's tile kernel. Eight rows at a time, each with two
    /// accumulators (element <c>i</c> in accumulator <c>(i / 8) mod 2</c>), the eight lane vectors summed across
    /// lanes together (a horizontal-add tree) and stored as one vector; rows a few kilobytes ahead are prefetched so
    /// the read stream runs on across page boundaries. Differs from <see cref="DotReference"/> by rounding order only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void DotRows(float* rows, int dims, float* q, int count, float* dst)
    {
        int r = 0;
        nint stride = dims;
        nint ahead = Math.Max(16, 4096 / (dims * 4)) * stride; // about 4 KiB ahead
        for (; r <= count - 8; r += 8, rows += 8 * stride)
        {
            // The prefetch may point past the last row: prefetch never faults.
            byte* next = (byte*)(rows + ahead);
            for (nint b = 0; b < 8 * stride * 4; b += 64)
                Sse.Prefetch0(next + b);
            var f0 = RowLanes(rows, q, dims);
            var f1 = RowLanes(rows + stride, q, dims);
            var f2 = RowLanes(rows + 2 * stride, q, dims);
            var f3 = RowLanes(rows + 3 * stride, q, dims);
            var f4 = RowLanes(rows + 4 * stride, q, dims);
            var f5 = RowLanes(rows + 5 * stride, q, dims);
            var f6 = RowLanes(rows + 6 * stride, q, dims);
            var f7 = RowLanes(rows + 7 * stride, q, dims);
            var q0 = Avx.HorizontalAdd(Avx.HorizontalAdd(f0, f1), Avx.HorizontalAdd(f2, f3));
            var q1 = Avx.HorizontalAdd(Avx.HorizontalAdd(f4, f5), Avx.HorizontalAdd(f6, f7));
            (Avx.Permute2x128(q0, q1, 0x20) + Avx.Permute2x128(q0, q1, 0x31)).Store(dst + r);
        }
        for (; r < count; r++, rows += stride)
            dst[r] = Vector256.Sum(RowLanes(rows, q, dims));
    }

    /// <summary>One row's products with q folded into eight lanes (two accumulators, added at the end).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> RowLanes(float* row, float* q, int dims)
    {
        Vector256<float> a0 = default, a1 = default;
        int i = 0;
        for (; i <= dims - 16; i += 16)
        {
            a0 = Fma.MultiplyAdd(Vector256.Load(row + i), Vector256.Load(q + i), a0);
            a1 = Fma.MultiplyAdd(Vector256.Load(row + i + 8), Vector256.Load(q + i + 8), a1);
        }
        if (i < dims)
            a0 = Fma.MultiplyAdd(Vector256.Load(row + i), Vector256.Load(q + i), a0);
        return a0 + a1;
    }
}
