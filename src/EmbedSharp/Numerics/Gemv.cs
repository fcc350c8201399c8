using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Numerics;

/// <summary>
/// Matrix–vector product with a row-major matrix, <c>y[j] = Σ_p x[p] · b[j, p]</c> (one query
/// against an embedding table: decoding with a tied head). Memory-bound: every element of the table
/// is read once, so the kernel is written to stream it at the machine's read bandwidth.
/// </summary>
/// <remarks>
/// Four rows are dotted with x at once (four independent accumulators, one per row; x stays in L1),
/// reading the four rows front to back so the hardware prefetcher sees four sequential streams.
/// Vector512, then Vector256, then Vector128 lanes; the last <c>k mod lanes</c> elements of each row are
/// added in scalar code after the lanes are summed. 16-bit storage is widened one block of 64 rows at
/// a time into an L1-sized scratch and dotted from there. Rows are split across threads in chunks
/// claimed dynamically; each y[j] is computed by one thread in a fixed order.
/// </remarks>
internal static unsafe class Gemv
{
    private const int RowsPerChunk = 1024;
    private const int WidenBlock = 64;

    /// <summary>Multiply-adds below which the product stays on one thread.</summary>
    internal const long ParallelThreshold = 1 << 20;

    public static void MultiplyVector<T>(T* b, int n, int k, float* x, float* y, int threads) where T : unmanaged
    {
        if (n <= 0)
            return;
        if (k == 0)
        {
            new Span<float>(y, n).Clear();
            return;
        }
        if ((long)n * k < ParallelThreshold)
            threads = 1;
        nint bAddress = (nint)b, xAddress = (nint)x, yAddress = (nint)y;
        ParallelWork.For(n, RowsPerChunk, threads,
            () => typeof(T) == typeof(float) ? null : new float[WidenBlock * k],
            (scratch, first, last) => Rows((T*)bAddress, k, (float*)xAddress, (float*)yAddress, first, last, scratch),
            _ => { });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<T>(T* b, int k, float* x, float* y, int first, int last, float[]? scratch) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            DotRows((float*)b + (nint)first * k, k, x, y + first, last - first);
            return;
        }
        fixed (float* s = scratch)
        {
            for (int j0 = first; j0 < last; j0 += WidenBlock)
            {
                int count = Math.Min(WidenBlock, last - j0);
                for (int r = 0; r < count; r++)
                    Kernels.WidenRow(new ReadOnlySpan<T>(b + (nint)(j0 + r) * k, k), new Span<float>(s + r * k, k));
                DotRows(s, k, x, y + j0, count);
            }
        }
    }

    /// <summary>y[r] = rows[r] · x for <paramref name="count"/> contiguous rows of length k.</summary>
    private static void DotRows(float* rows, int k, float* x, float* y, int count)
    {
        int r = 0;
        for (; r + 4 <= count; r += 4)
        {
            float* b0 = rows + (nint)r * k;
            Dot4(b0, b0 + k, b0 + 2 * k, b0 + 3 * k, x, k, y + r);
        }
        for (; r < count; r++)
            y[r] = Dot(rows + (nint)r * k, x, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4(float* b0, float* b1, float* b2, float* b3, float* x, int k, float* y)
    {
        int p = 0;
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        if (Vector512.IsHardwareAccelerated && k >= 16)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; p <= k - 16; p += 16)
            {
                var xv = Vector512.Load(x + p);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(b0 + p), xv, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(b1 + p), xv, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(b2 + p), xv, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(b3 + p), xv, a3);
            }
            s0 = Vector512.Sum(a0);
            s1 = Vector512.Sum(a1);
            s2 = Vector512.Sum(a2);
            s3 = Vector512.Sum(a3);
        }
        else if (Vector256.IsHardwareAccelerated && k >= 8)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; p <= k - 8; p += 8)
            {
                var xv = Vector256.Load(x + p);
                a0 = MultiplyAdd(Vector256.Load(b0 + p), xv, a0);
                a1 = MultiplyAdd(Vector256.Load(b1 + p), xv, a1);
                a2 = MultiplyAdd(Vector256.Load(b2 + p), xv, a2);
                a3 = MultiplyAdd(Vector256.Load(b3 + p), xv, a3);
            }
            s0 = Vector256.Sum(a0);
            s1 = Vector256.Sum(a1);
            s2 = Vector256.Sum(a2);
            s3 = Vector256.Sum(a3);
        }
        else if (Vector128.IsHardwareAccelerated && k >= 4)
        {
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; p <= k - 4; p += 4)
            {
                var xv = Vector128.Load(x + p);
                a0 += Vector128.Load(b0 + p) * xv;
                a1 += Vector128.Load(b1 + p) * xv;
                a2 += Vector128.Load(b2 + p) * xv;
                a3 += Vector128.Load(b3 + p) * xv;
            }
            s0 = Vector128.Sum(a0);
            s1 = Vector128.Sum(a1);
            s2 = Vector128.Sum(a2);
            s3 = Vector128.Sum(a3);
        }
        for (; p < k; p++)
        {
            float xp = x[p];
            s0 += b0[p] * xp;
            s1 += b1[p] * xp;
            s2 += b2[p] * xp;
            s3 += b3[p] * xp;
        }
        y[0] = s0;
        y[1] = s1;
        y[2] = s2;
        y[3] = s3;
    }

    private static float Dot(float* b, float* x, int k)
    {
        float s = 0f;
        int p = 0;
        if (Vector256.IsHardwareAccelerated && k >= 8)
        {
            Vector256<float> a = default;
            for (; p <= k - 8; p += 8)
                a = MultiplyAdd(Vector256.Load(b + p), Vector256.Load(x + p), a);
            s = Vector256.Sum(a);
        }
        else if (Vector128.IsHardwareAccelerated && k >= 4)
        {
            Vector128<float> a = default;
            for (; p <= k - 4; p += 4)
                a += Vector128.Load(b + p) * Vector128.Load(x + p);
            s = Vector128.Sum(a);
        }
        for (; p < k; p++)
            s += b[p] * x[p];
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        System.Runtime.Intrinsics.X86.Fma.IsSupported ? System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a, b, c) : a * b + c;
}
