using EmbedSharp.Numerics;

namespace EmbedSharp.Tests.Numerics;

/// <summary>
/// The blocked GEMM and the streaming GEMV against the double-precision reference, over every
/// reduction length 0..256, odd batch and output sizes (partial register tiles), several cache
/// blocks, 16-bit storage and 1 vs 2 threads. ci reruns these with SIMD off.
/// </summary>
public sealed unsafe class GemmTests
{
    private static readonly int[] BatchSizes = [1, 2, 5, 6, 7, 13];
    private static readonly int[] OutputSizes = [1, 3, 15, 17, 33, 70];

    [Fact]
    public void Gemm_MatchesReference_ForEveryReductionLength()
    {
        var rng = new SeededRandom(7);
        for (int k = 0; k <= 256; k++)
        {
            int m = BatchSizes[k % BatchSizes.Length];
            int n = OutputSizes[(k / BatchSizes.Length) % OutputSizes.Length];
            CheckGemm<float>(rng, m, n, k, threads: 1);
        }
    }

    [Theory]
    [InlineData(100, 300, 600, 1)] // several reduction blocks, row blocks and column chunks
    [InlineData(100, 300, 600, 2)]
    [InlineData(97, 131, 257, 2)]
    [InlineData(1, 129, 9, 2)]
    public void Gemm_MatchesReference_AcrossCacheBlocksAndThreads(int m, int n, int k, int threads)
    {
        var rng = new SeededRandom((ulong)(m * 31 + n * 7 + k));
        CheckGemm<float>(rng, m, n, k, threads);
    }

    [Theory]
    [InlineData(7, 33, 67)]
    [InlineData(13, 70, 256)]
    [InlineData(2, 5, 1100)] // a row longer than the widening buffer
    public void Gemm_WidensSixteenBitStorage(int m, int n, int k)
    {
        var rng = new SeededRandom((ulong)k);
        CheckGemm<Half>(rng, m, n, k, threads: 2);
        CheckGemm<BFloat16>(rng, m, n, k, threads: 2);
    }

    [Fact]
    public void Gemm_ResultDoesNotDependOnThreadCount()
    {
        var rng = new SeededRandom(3);
        int m = 37, n = 600, k = 300;
        float[] a = Floats(rng, m * k), b = Floats(rng, n * k);
        float[] one = Run(a, m, k, b, n, 1), two = Run(a, m, k, b, n, 2);
        Assert.Equal(one, two);
    }

    [Fact]
    public void Gemv_MatchesReference_ForEveryLength()
    {
        var rng = new SeededRandom(11);
        for (int k = 0; k <= 256; k++)
        {
            int n = OutputSizes[k % OutputSizes.Length] + k % 5;
            CheckGemv<float>(rng, n, k, 1);
        }
        CheckGemv<float>(rng, 5000, 300, 2);
        CheckGemv<Half>(rng, 131, 67, 2);
        CheckGemv<BFloat16>(rng, 131, 200, 1);
    }

    [Fact]
    public void NaNPropagates()
    {
        float[] a = [1f, float.NaN, 2f, 3f];
        float[] b = [1f, 1f, 1f, 1f, 2f, 2f];
        var c = new float[2 * 3];
        fixed (float* ap = a, bp = b, cp = c)
            Gemm.MultiplyTransposed(ap, 2, 2, bp, 3, cp, 3, 1);
        Assert.True(float.IsNaN(c[0]) && float.IsNaN(c[2]));
        Assert.Equal(5f, c[3]);
        Assert.Equal(10f, c[5]);
    }

    [Fact]
    public void Multiply_MatchesReference_OnAwkwardSizes_BothLayoutsOfA()
    {
        var rng = new SeededRandom(17);
        int[] sizes = [0, 1, 2, 7, 13, 33];
        foreach (int m in sizes)
            foreach (int n in sizes)
                foreach (int k in new[] { 0, 1, 7, 31 })
                    foreach (bool transposeA in new[] { false, true })
                        CheckMultiply(rng, m, n, k, transposeA, padding: (m + n + k) % 3, threads: 1);
    }

    [Theory]
    [InlineData(100, 300, 600, false, 2)] // several reduction blocks, row blocks and column blocks
    [InlineData(100, 300, 600, true, 2)]
    [InlineData(97, 131, 257, true, 1)]
    [InlineData(203, 5, 1031, false, 2)] // a long reduction into a narrow result (G · W)
    [InlineData(1031, 70, 9, true, 2)] // many rows from a short reduction (Gᵀ · X)
    public void Multiply_MatchesReference_AcrossCacheBlocksAndThreads(int m, int n, int k, bool transposeA, int threads)
    {
        var rng = new SeededRandom((ulong)(m * 31 + n * 7 + k));
        CheckMultiply(rng, m, n, k, transposeA, padding: 3, threads);
    }

    [Fact]
    public void Multiply_ResultDoesNotDependOnThreadCount()
    {
        var rng = new SeededRandom(5);
        int m = 301, n = 150, k = 600;
        float[] a = Floats(rng, m * k), b = Floats(rng, k * n);
        float[] one = new float[m * n], two = new float[m * n];
        fixed (float* ap = a, bp = b, c1 = one, c2 = two)
        {
            Gemm.Multiply(ap, true, m, bp, n, m, k, n, c1, n, 1);
            Gemm.Multiply(ap, true, m, bp, n, m, k, n, c2, n, 2);
        }
        Assert.Equal(one, two);
    }

    [Fact]
    public void Multiply_PropagatesNaN()
    {
        float[] a = [1f, float.NaN, 2f, 3f]; // 2 × 2
        float[] b = [1f, 2f, 1f, 2f]; // 2 × 2
        var c = new float[4];
        fixed (float* ap = a, bp = b, cp = c)
            Gemm.Multiply(ap, false, 2, bp, 2, 2, 2, 2, cp, 2, 1);
        Assert.True(float.IsNaN(c[0]) && float.IsNaN(c[1]));
        Assert.Equal([5f, 10f], c[2..]);
    }

    /// <summary>C (m × n, row stride n + padding) = op(A) · B (k × n, row stride n + padding) against the double reference; padding is never written.</summary>
    private static void CheckMultiply(SeededRandom rng, int m, int n, int k, bool transposeA, int padding, int threads)
    {
        int lda = (transposeA ? m : k) + padding, ldb = n + padding, ldc = n + padding;
        float[] a = Floats(rng, (transposeA ? k : m) * lda + 1), b = Floats(rng, k * ldb + 1);
        var fast = new float[m * ldc + 3];
        fast.AsSpan().Fill(-7f);
        fixed (float* ap = a, bp = b, cp = fast)
            Gemm.Multiply(ap, transposeA, lda, bp, ldb, m, k, n, cp, ldc, threads);
        var slow = new float[m * ldc];
        Gemm.MultiplyReference(a, transposeA, lda, b, ldb, m, k, n, slow, ldc);
        string what = $"multiply m={m} n={n} k={k} transposeA={transposeA} threads={threads}";
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < ldc; j++)
            {
                if (j >= n)
                {
                    Assert.True(fast[i * ldc + j] == -7f, $"{what}: padding C[{i},{j}] was written");
                    continue;
                }
                double magnitude = 0;
                for (int p = 0; p < k; p++)
                    magnitude += Math.Abs((double)(transposeA ? a[p * lda + i] : a[i * lda + p]) * b[p * ldb + j]);
                double err = Math.Abs(fast[i * ldc + j] - slow[i * ldc + j]);
                Assert.True(err <= magnitude * (k + 2) * 1.2e-7 + 1e-30, $"{what}: C[{i},{j}] = {fast[i * ldc + j]}, reference {slow[i * ldc + j]}");
            }
        }
        Assert.Equal([-7f, -7f, -7f], fast[^3..]);
    }

    private static void CheckGemm<T>(SeededRandom rng, int m, int n, int k, int threads) where T : unmanaged
    {
        float[] a = Floats(rng, m * k);
        T[] b = Storage<T>(Floats(rng, n * k));
        var fast = new float[m * n + 3];
        fast.AsSpan().Fill(-7f);
        fixed (float* ap = a, cp = fast)
        fixed (T* bp = b)
            Gemm.MultiplyTransposed(ap, m, k, bp, n, cp, n, threads);
        var slow = new float[m * n];
        Gemm.MultiplyTransposedReference<T>(a, m, k, b, n, slow);
        Compare(a, m, k, Widen(b), n, slow, fast, $"gemm {typeof(T).Name} m={m} n={n} k={k} threads={threads}");
        Assert.Equal([-7f, -7f, -7f], fast[^3..]); // nothing written past m × n
    }

    private static void CheckGemv<T>(SeededRandom rng, int n, int k, int threads) where T : unmanaged
    {
        float[] x = Floats(rng, k);
        T[] b = Storage<T>(Floats(rng, n * k));
        var fast = new float[n + 2];
        fast.AsSpan().Fill(-7f);
        fixed (float* xp = x, yp = fast)
        fixed (T* bp = b)
            Gemv.MultiplyVector(bp, n, k, xp, yp, threads);
        var slow = new float[n];
        Gemm.MultiplyTransposedReference<T>(x, 1, k, b, n, slow);
        Compare(x, 1, k, Widen(b), n, slow, fast, $"gemv {typeof(T).Name} n={n} k={k}");
        Assert.Equal([-7f, -7f], fast[^2..]);
    }

    /// <summary>|fast − exact| ≤ (k + 2)·2⁻²³ · Σ|a||b| per element: the bound of float32 accumulation in any order.</summary>
    private static void Compare(float[] a, int m, int k, float[] b, int n, float[] slow, float[] fast, string what)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double magnitude = 0;
                for (int p = 0; p < k; p++)
                    magnitude += Math.Abs((double)a[i * k + p] * b[j * k + p]);
                double err = Math.Abs(fast[i * n + j] - slow[i * n + j]);
                Assert.True(err <= magnitude * (k + 2) * 1.2e-7 + 1e-30, $"{what}: C[{i},{j}] = {fast[i * n + j]}, reference {slow[i * n + j]}");
            }
        }
    }

    private static float[] Run(float[] a, int m, int k, float[] b, int n, int threads)
    {
        var c = new float[m * n];
        fixed (float* ap = a, bp = b, cp = c)
            Gemm.MultiplyTransposed(ap, m, k, bp, n, cp, n, threads);
        return c;
    }

    private static float[] Floats(SeededRandom rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++)
            x[i] = (float)rng.NextNormal();
        return x;
    }

    private static T[] Storage<T>(float[] values) where T : unmanaged
    {
        var result = new T[values.Length];
        Kernels.NarrowRow<T>(values, result);
        return result;
    }

    private static float[] Widen<T>(T[] values) where T : unmanaged
    {
        var result = new float[values.Length];
        Kernels.WidenRow<T>(values, result);
        return result;
    }
}
