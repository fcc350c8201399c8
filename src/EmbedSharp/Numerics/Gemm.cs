using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Numerics;

/// <summary>
/// fp32 matrix product with a transposed right operand, <c>C = A · Bᵀ</c>: A is <c>m × k</c>, B is
/// <c>n × k</c> (both row-major with the reduction dimension contiguous, the layout of a batch of
/// vectors and of an embedding table), C is <c>m × n</c> row-major. This is the tied output head
/// (<c>x · Wᵀ</c>) and any <c>nn.Linear</c> with PyTorch's weight layout.
/// </summary>
/// <remarks>
/// <para>Register- and cache-blocked in the GotoBLAS/BLIS way. A is packed once into panels of
/// <c>MR</c> rows laid out k-major (<c>MR</c> values per k), B per chunk of output columns into panels
/// of <c>NR</c> rows, also k-major; 16-bit storage is widened to float32 while B is packed, so the
/// micro-kernel only ever sees float32. The micro-kernel keeps an <c>MR × NR</c> tile of C in
/// registers (NR/lanes vectors per row): per k it loads NR/lanes vectors of packed B and broadcasts
/// each of the MR values of packed A, one fused multiply-add per accumulator. Widths: Vector512
/// (6 × 32, 12 accumulators of the 32 registers), Vector256 (6 × 16, 12 of 16), Vector128 (6 × 8)
/// and a scalar 4 × 4 tile.</para>
/// <para>Blocking: the reduction is cut into blocks of at most <see cref="KC"/> so one packed B panel
/// (<c>KC × NR</c>) stays in L1 while the A panels of a block of <see cref="MC"/> rows stream through
/// it; the C block of <c>MC × NC</c> stays in L2 across the reduction blocks. Edge tiles (fewer than MR
/// rows or NR columns left) run the same micro-kernel on zero-padded panels into a scratch tile, of
/// which only the valid part is written.</para>
/// <para>Threads split the output columns into chunks of <see cref="NC"/> columns claimed dynamically
/// (<see cref="ParallelWork"/>); each chunk is computed entirely by one thread, so results do not
/// depend on the thread count. Summation order within an element is fixed (k ascending, one block of
/// <see cref="KC"/> after another); it differs from a plain loop only by float32 rounding. NaN and
/// infinities propagate as IEEE arithmetic says.</para>
/// </remarks>
// Size: ~650 lines because the packed, tiled GEMM (both operand layouts, C = A·Bᵀ and C = op(A)·B) and its plain
// references are one kernel family; the packing and micro-kernel are shared by every entry point.
internal static unsafe class Gemm
{
    /// <summary>Reduction block: one packed B panel (KC × NR floats) stays in L1.</summary>
    internal const int KC = 256;

    /// <summary>Rows of A per cache block: the C block (MC × NC) and the A block (MC × KC) stay in L2.</summary>
    internal const int MC = 96;

    /// <summary>Output columns per chunk (the unit of parallel work and of B packing).</summary>
    internal const int NC = 128;

    /// <summary>Multiply-adds below which the product stays on one thread.</summary>
    internal const long ParallelThreshold = 1 << 21;

    /// <summary>
    /// <c>c[i·ldc + j] = Σ_p a[i·k + p] · b[j·k + p]</c> for i &lt; m, j &lt; n, with <paramref name="threads"/> workers at most.
    /// </summary>
    public static void MultiplyTransposed<T>(float* a, int m, int k, T* b, int n, float* c, nint ldc, int threads)
        where T : unmanaged =>
        MultiplyTransposed(a, m, k, new DenseRows<T>(b, k), n, c, ldc, threads);

    /// <summary>As above with the rows of B supplied by <paramref name="b"/> (widened or dequantized on the fly).</summary>
    public static void MultiplyTransposed<TRows>(float* a, int m, int k, TRows b, int n, float* c, nint ldc, int threads)
        where TRows : struct, IRowSource
    {
        if (m <= 0 || n <= 0)
            return;
        if (k == 0)
        {
            for (int i = 0; i < m; i++)
                new Span<float>(c + i * ldc, n).Clear();
            return;
        }
        if ((long)m * n * k < ParallelThreshold)
            threads = 1;
        if (Vector512.IsHardwareAccelerated)
            Run<Kernel512, TRows>(a, m, k, b, n, c, ldc, threads);
        else if (Vector256.IsHardwareAccelerated)
            Run<Kernel256, TRows>(a, m, k, b, n, c, ldc, threads);
        else if (Vector128.IsHardwareAccelerated)
            Run<Kernel128, TRows>(a, m, k, b, n, c, ldc, threads);
        else
            Run<KernelScalar, TRows>(a, m, k, b, n, c, ldc, threads);
    }

    private static void Run<TKernel, TRows>(float* a, int m, int k, TRows b, int n, float* c, nint ldc, int threads)
        where TKernel : struct, IGemmKernel
        where TRows : struct, IRowSource
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        int kc = Math.Min(k, KC);
        int mPanels = (m + mr - 1) / mr;
        int mPad = mPanels * mr;
        int nc = Math.Max(nr, NC / nr * nr);
        int ncPanels = nc / nr;
        // Packed A: for each reduction block (p0, kb), mPanels panels of kb × MR floats.
        float* ap = (float*)NativeMemory.AlignedAlloc((nuint)mPad * (nuint)k * sizeof(float), 64);
        try
        {
            PackA(a, m, k, mr, mPad, kc, ap);
            nint apAddress = (nint)ap, cAddress = (nint)c;
            int chunks = (n + nc - 1) / nc;
            ParallelWork.For(chunks, 1, threads,
                // Per worker: the packed B of one chunk, then one row of scratch for widening/dequantizing.
                () => (nint)NativeMemory.AlignedAlloc(((nuint)ncPanels * (nuint)nr + 1) * (nuint)k * sizeof(float), 64),
                (bp, first, last) =>
                {
                    float* rowScratch = (float*)bp + (nint)ncPanels * nr * k;
                    for (int chunk = first; chunk < last; chunk++)
                        Chunk<TKernel, TRows>((float*)apAddress, m, mPad, k, kc, b, n, chunk * nc, nc, (float*)bp, rowScratch, (float*)cAddress, ldc);
                },
                bp => NativeMemory.AlignedFree((void*)bp));
        }
        finally
        {
            NativeMemory.AlignedFree(ap);
        }
    }

    /// <summary>Columns [j0, j0 + nc) of C: pack that slice of B for the whole reduction, then sweep A.</summary>
    private static void Chunk<TKernel, TRows>(float* ap, int m, int mPad, int k, int kc, TRows b, int n, int j0, int nc, float* bp, float* rowScratch, float* c, nint ldc)
        where TKernel : struct, IGemmKernel
        where TRows : struct, IRowSource
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        int cols = Math.Min(nc, n - j0);
        int nPanels = (cols + nr - 1) / nr;
        PackB(b, k, j0, cols, nr, nPanels, kc, bp, rowScratch);
        float* tile = stackalloc float[TKernel.MR * TKernel.NR];
        int mc = Math.Max(mr, MC / mr * mr);
        for (int i0 = 0; i0 < m; i0 += mc)
        {
            int iEnd = Math.Min(m, i0 + mc);
            for (int p0 = 0; p0 < k; p0 += kc)
            {
                int kb = Math.Min(kc, k - p0);
                bool accumulate = p0 > 0;
                float* apBlock = ap + (nint)p0 * mPad;
                float* bpBlock = bp + (nint)p0 * nPanels * nr;
                for (int jp = 0; jp < nPanels; jp++)
                {
                    float* bPanel = bpBlock + (nint)jp * kb * nr;
                    int j = j0 + jp * nr;
                    int nValid = Math.Min(nr, n - j);
                    for (int i = i0; i < iEnd; i += mr)
                    {
                        float* aPanel = apBlock + (nint)i * kb;
                        int mValid = Math.Min(mr, m - i);
                        float* cTile = c + i * ldc + j;
                        if (mValid == mr && nValid == nr)
                        {
                            TKernel.Run(kb, aPanel, bPanel, cTile, ldc, accumulate);
                            continue;
                        }
                        TKernel.Run(kb, aPanel, bPanel, tile, nr, false);
                        for (int r = 0; r < mValid; r++)
                        {
                            float* src = tile + r * nr;
                            float* dst = cTile + r * ldc;
                            if (accumulate)
                                for (int q = 0; q < nValid; q++)
                                    dst[q] += src[q];
                            else
                                for (int q = 0; q < nValid; q++)
                                    dst[q] = src[q];
                        }
                    }
                }
            }
        }
    }

    /// <summary>A (m × k) into [block p0][panel][p][MR], zero rows past m.</summary>
    private static void PackA(float* a, int m, int k, int mr, int mPad, int kc, float* ap)
    {
        for (int p0 = 0; p0 < k; p0 += kc)
        {
            int kb = Math.Min(kc, k - p0);
            float* block = ap + (nint)p0 * mPad;
            for (int i0 = 0; i0 < mPad; i0 += mr)
            {
                float* panel = block + (nint)i0 * kb;
                for (int r = 0; r < mr; r++)
                {
                    int i = i0 + r;
                    if (i < m)
                    {
                        float* src = a + (nint)i * k + p0;
                        for (int p = 0; p < kb; p++)
                            panel[p * mr + r] = src[p];
                    }
                    else
                    {
                        for (int p = 0; p < kb; p++)
                            panel[p * mr + r] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>B rows [j0, j0 + cols) into [block p0][panel][p][NR] as float32, zero rows past the end.</summary>
    private static void PackB<TRows>(TRows b, int k, int j0, int cols, int nr, int nPanels, int kc, float* bp, float* rowScratch)
        where TRows : struct, IRowSource
    {
        for (int local = 0; local < nPanels * nr; local++)
        {
            int jp = local / nr, r = local % nr;
            float* src = local < cols ? b.Row(j0 + local, rowScratch) : null;
            for (int p0 = 0; p0 < k; p0 += kc)
            {
                int kb = Math.Min(kc, k - p0);
                float* panel = bp + (nint)p0 * nPanels * nr + (nint)jp * kb * nr + r;
                if (src is null)
                {
                    for (int p = 0; p < kb; p++)
                        panel[p * nr] = 0f;
                }
                else
                {
                    float* s = src + p0;
                    for (int p = 0; p < kb; p++)
                        panel[p * nr] = s[p];
                }
            }
        }
    }

    /// <summary>
    /// <c>C = op(A) · B</c> with B stored <c>k × n</c> row-major (row stride <paramref name="ldb"/>), the layout of
    /// a table multiplied from the left (<c>G · W</c>) and of a batch of vectors in a weight gradient
    /// (<c>Gᵀ · X</c>). A is <c>m × k</c> row-major (<c>a[i·lda + p]</c>) or, when <paramref name="transposeA"/>,
    /// stored <c>k × m</c> (<c>a[p·lda + i]</c>); C is <c>m × n</c> with row stride <paramref name="ldc"/> and is overwritten.
    /// </summary>
    /// <remarks>
    /// Same micro-kernels and reduction blocks as the transposed product above, blocked for products
    /// whose reduction or row count is large: the work is cut into C tiles of <see cref="MC"/> × <see cref="NC"/>
    /// that workers claim dynamically, and each tile packs only the <c>MC × KC</c> slice of A and the
    /// <c>KC × NC</c> slice of B it is about to use (both stay in L2), reading A and B in their stored order.
    /// Each element of C is summed by one worker in a fixed order, so results do not depend on the thread count.
    /// </remarks>
    public static void Multiply(float* a, bool transposeA, nint lda, float* b, nint ldb, int m, int k, int n, float* c, nint ldc, int threads)
    {
        if (m <= 0 || n <= 0)
            return;
        if (k == 0)
        {
            for (int i = 0; i < m; i++)
                new Span<float>(c + i * ldc, n).Clear();
            return;
        }
        if ((long)m * n * k < ParallelThreshold)
            threads = 1;
        var operands = new Operands(a, transposeA, lda, b, ldb, m, k, n, c, ldc);
        if (Vector512.IsHardwareAccelerated)
            RunTiles<Kernel512>(operands, threads);
        else if (Vector256.IsHardwareAccelerated)
            RunTiles<Kernel256>(operands, threads);
        else if (Vector128.IsHardwareAccelerated)
            RunTiles<Kernel128>(operands, threads);
        else
            RunTiles<KernelScalar>(operands, threads);
    }

    /// <summary>The operands of <see cref="Multiply"/>, as addresses so workers can capture them.</summary>
    private readonly struct Operands(float* a, bool transposeA, nint lda, float* b, nint ldb, int m, int k, int n, float* c, nint ldc)
    {
        public readonly nint A = (nint)a, B = (nint)b, C = (nint)c, Lda = lda, Ldb = ldb, Ldc = ldc;
        public readonly bool TransposeA = transposeA;
        public readonly int M = m, K = k, N = n;
    }

    private static void RunTiles<TKernel>(Operands o, int threads)
        where TKernel : struct, IGemmKernel
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        int kc = Math.Min(o.K, KC);
        int mc = Math.Max(mr, MC / mr * mr);
        int nc = Math.Max(nr, NC / nr * nr);
        int rowBlocks = (o.M + mc - 1) / mc, colBlocks = (o.N + nc - 1) / nc;
        ParallelWork.For(rowBlocks * colBlocks, 1, threads,
            () => (nint)NativeMemory.AlignedAlloc((nuint)(mc + nc) * (nuint)kc * sizeof(float), 64),
            (buffer, first, last) =>
            {
                for (int t = first; t < last; t++)
                {
                    int i0 = t / colBlocks * mc, j0 = t % colBlocks * nc;
                    Tile<TKernel>(o, i0, Math.Min(mc, o.M - i0), j0, Math.Min(nc, o.N - j0), kc, (float*)buffer, (float*)buffer + (nint)mc * kc);
                }
            },
            buffer => NativeMemory.AlignedFree((void*)buffer));
    }

    /// <summary>Rows [i0, i0 + rows) × columns [j0, j0 + cols) of C, one reduction block at a time.</summary>
    private static void Tile<TKernel>(Operands o, int i0, int rows, int j0, int cols, int kc, float* ap, float* bp)
        where TKernel : struct, IGemmKernel
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        int mPanels = (rows + mr - 1) / mr, nPanels = (cols + nr - 1) / nr;
        float* tile = stackalloc float[TKernel.MR * TKernel.NR];
        float* c = (float*)o.C;
        for (int p0 = 0; p0 < o.K; p0 += kc)
        {
            int kb = Math.Min(kc, o.K - p0);
            bool accumulate = p0 > 0;
            PackStridedA((float*)o.A, o.TransposeA, o.Lda, i0, rows, p0, kb, mr, mPanels, ap);
            PackRowMajorB((float*)o.B, o.Ldb, j0, cols, p0, kb, nr, nPanels, bp);
            for (int jp = 0; jp < nPanels; jp++)
            {
                float* bPanel = bp + (nint)jp * kb * nr;
                int nValid = Math.Min(nr, cols - jp * nr);
                for (int ip = 0; ip < mPanels; ip++)
                {
                    float* aPanel = ap + (nint)ip * kb * mr;
                    int mValid = Math.Min(mr, rows - ip * mr);
                    float* cTile = c + (i0 + ip * mr) * o.Ldc + j0 + jp * nr;
                    if (mValid == mr && nValid == nr)
                    {
                        TKernel.Run(kb, aPanel, bPanel, cTile, o.Ldc, accumulate);
                        continue;
                    }
                    TKernel.Run(kb, aPanel, bPanel, tile, nr, false);
                    for (int r = 0; r < mValid; r++)
                    {
                        float* src = tile + r * nr;
                        float* dst = cTile + r * o.Ldc;
                        if (accumulate)
                            for (int q = 0; q < nValid; q++)
                                dst[q] += src[q];
                        else
                            for (int q = 0; q < nValid; q++)
                                dst[q] = src[q];
                    }
                }
            }
        }
    }

    /// <summary>Rows [i0, i0 + rows), reduction [p0, p0 + kb) of A into panels [panel][p][MR], zero rows past the end.</summary>
    private static void PackStridedA(float* a, bool transposed, nint lda, int i0, int rows, int p0, int kb, int mr, int mPanels, float* ap)
    {
        if (transposed)
        {
            // A[i, p] = a[p·lda + i]: each reduction step is a contiguous run of rows.
            for (int p = 0; p < kb; p++)
            {
                float* src = a + (p0 + p) * lda + i0;
                for (int ip = 0; ip < mPanels; ip++)
                {
                    float* dst = ap + (nint)ip * kb * mr + p * mr;
                    int valid = Math.Min(mr, rows - ip * mr);
                    for (int r = 0; r < valid; r++)
                        dst[r] = src[ip * mr + r];
                    for (int r = valid; r < mr; r++)
                        dst[r] = 0f;
                }
            }
            return;
        }
        for (int ip = 0; ip < mPanels; ip++)
        {
            float* panel = ap + (nint)ip * kb * mr;
            for (int r = 0; r < mr; r++)
            {
                int i = ip * mr + r;
                if (i < rows)
                {
                    float* src = a + (i0 + i) * lda + p0;
                    for (int p = 0; p < kb; p++)
                        panel[p * mr + r] = src[p];
                }
                else
                {
                    for (int p = 0; p < kb; p++)
                        panel[p * mr + r] = 0f;
                }
            }
        }
    }

    /// <summary>Reduction [p0, p0 + kb), columns [j0, j0 + cols) of a k × n row-major B into panels [panel][p][NR], zero columns past the end.</summary>
    private static void PackRowMajorB(float* b, nint ldb, int j0, int cols, int p0, int kb, int nr, int nPanels, float* bp)
    {
        for (int p = 0; p < kb; p++)
        {
            float* src = b + (p0 + p) * ldb + j0;
            for (int jp = 0; jp < nPanels; jp++)
            {
                float* dst = bp + (nint)jp * kb * nr + p * nr;
                int valid = Math.Min(nr, cols - jp * nr);
                new ReadOnlySpan<float>(src + jp * nr, valid).CopyTo(new Span<float>(dst, valid));
                if (valid < nr)
                    new Span<float>(dst + valid, nr - valid).Clear();
            }
        }
    }

    /// <summary>Plain reference of <see cref="Multiply"/>: one double-precision sum per output element.</summary>
    public static void MultiplyReference(ReadOnlySpan<float> a, bool transposeA, int lda, ReadOnlySpan<float> b, int ldb, int m, int k, int n, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double acc = 0;
                for (int p = 0; p < k; p++)
                    acc += (double)(transposeA ? a[p * lda + i] : a[i * lda + p]) * b[p * ldb + j];
                c[i * ldc + j] = (float)acc;
            }
        }
    }

    /// <summary>Plain reference: one double-precision dot per output element.</summary>
    public static void MultiplyTransposedReference<T>(ReadOnlySpan<float> a, int m, int k, ReadOnlySpan<T> b, int n, Span<float> c)
        where T : unmanaged
    {
        var row = new float[k];
        for (int j = 0; j < n; j++)
        {
            Kernels.WidenRow(b.Slice(j * k, k), row);
            for (int i = 0; i < m; i++)
            {
                double acc = 0;
                for (int p = 0; p < k; p++)
                    acc += (double)a[i * k + p] * row[p];
                c[i * n + j] = (float)acc;
            }
        }
    }
}

/// <summary>An MR × NR register tile of <see cref="Gemm"/>: <c>C[MR × NR] (+)= Σ_p Ap[p, :]ᵀ · Bp[p, :]</c>.</summary>
internal unsafe interface IGemmKernel
{
    /// <summary>Rows of the tile (values of packed A per k).</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the tile (values of packed B per k).</summary>
    static abstract int NR { get; }

    /// <summary>Runs kc steps; stores the tile into c (row stride ldc), adding to what is there when <paramref name="accumulate"/>.</summary>
    static abstract void Run(int kc, float* ap, float* bp, float* c, nint ldc, bool accumulate);
}

/// <summary>6 × 32 tile: two Vector512 per row, 12 accumulators.</summary>
internal readonly unsafe struct Kernel512 : IGemmKernel
{
    public static int MR => 6;

    public static int NR => 32;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* ap, float* bp, float* c, nint ldc, bool accumulate)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(bp);
            var b1 = Vector512.Load(bp + 16);
            var a = Vector512.Create(ap[0]);
            c00 = Vector512.FusedMultiplyAdd(a, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(a, b1, c01);
            a = Vector512.Create(ap[1]);
            c10 = Vector512.FusedMultiplyAdd(a, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(a, b1, c11);
            a = Vector512.Create(ap[2]);
            c20 = Vector512.FusedMultiplyAdd(a, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(a, b1, c21);
            a = Vector512.Create(ap[3]);
            c30 = Vector512.FusedMultiplyAdd(a, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(a, b1, c31);
            a = Vector512.Create(ap[4]);
            c40 = Vector512.FusedMultiplyAdd(a, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(a, b1, c41);
            a = Vector512.Create(ap[5]);
            c50 = Vector512.FusedMultiplyAdd(a, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(a, b1, c51);
            ap += 6;
            bp += 32;
        }
        Store(c, c00, c01, accumulate);
        Store(c + ldc, c10, c11, accumulate);
        Store(c + 2 * ldc, c20, c21, accumulate);
        Store(c + 3 * ldc, c30, c31, accumulate);
        Store(c + 4 * ldc, c40, c41, accumulate);
        Store(c + 5 * ldc, c50, c51, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> x0, Vector512<float> x1, bool accumulate)
    {
        if (accumulate)
        {
            x0 += Vector512.Load(c);
            x1 += Vector512.Load(c + 16);
        }
        x0.Store(c);
        x1.Store(c + 16);
    }
}

/// <summary>6 × 16 tile: two Vector256 per row, 12 accumulators (of AVX2's 16 registers).</summary>
internal readonly unsafe struct Kernel256 : IGemmKernel
{
    public static int MR => 6;

    public static int NR => 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        System.Runtime.Intrinsics.X86.Fma.IsSupported ? System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* ap, float* bp, float* c, nint ldc, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(bp);
            var b1 = Vector256.Load(bp + 8);
            var a = Vector256.Create(ap[0]);
            c00 = Fma(a, b0, c00);
            c01 = Fma(a, b1, c01);
            a = Vector256.Create(ap[1]);
            c10 = Fma(a, b0, c10);
            c11 = Fma(a, b1, c11);
            a = Vector256.Create(ap[2]);
            c20 = Fma(a, b0, c20);
            c21 = Fma(a, b1, c21);
            a = Vector256.Create(ap[3]);
            c30 = Fma(a, b0, c30);
            c31 = Fma(a, b1, c31);
            a = Vector256.Create(ap[4]);
            c40 = Fma(a, b0, c40);
            c41 = Fma(a, b1, c41);
            a = Vector256.Create(ap[5]);
            c50 = Fma(a, b0, c50);
            c51 = Fma(a, b1, c51);
            ap += 6;
            bp += 16;
        }
        Store(c, c00, c01, accumulate);
        Store(c + ldc, c10, c11, accumulate);
        Store(c + 2 * ldc, c20, c21, accumulate);
        Store(c + 3 * ldc, c30, c31, accumulate);
        Store(c + 4 * ldc, c40, c41, accumulate);
        Store(c + 5 * ldc, c50, c51, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> x0, Vector256<float> x1, bool accumulate)
    {
        if (accumulate)
        {
            x0 += Vector256.Load(c);
            x1 += Vector256.Load(c + 8);
        }
        x0.Store(c);
        x1.Store(c + 8);
    }
}

/// <summary>
/// 6 × 8 tile: two Vector128 per row. Uses a fused multiply-add where the CPU has one (FMA3),
/// a multiply then an add otherwise (the software emulation of a fused operation would be far slower).
/// </summary>
internal readonly unsafe struct Kernel128 : IGemmKernel
{
    public static int MR => 6;

    public static int NR => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        System.Runtime.Intrinsics.X86.Fma.IsSupported ? System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a, b, c)
        : System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? System.Runtime.Intrinsics.Arm.AdvSimd.FusedMultiplyAdd(c, a, b)
        : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* ap, float* bp, float* c, nint ldc, bool accumulate)
    {
        Vector128<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector128<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector128.Load(bp);
            var b1 = Vector128.Load(bp + 4);
            var a = Vector128.Create(ap[0]);
            c00 = Fma(a, b0, c00);
            c01 = Fma(a, b1, c01);
            a = Vector128.Create(ap[1]);
            c10 = Fma(a, b0, c10);
            c11 = Fma(a, b1, c11);
            a = Vector128.Create(ap[2]);
            c20 = Fma(a, b0, c20);
            c21 = Fma(a, b1, c21);
            a = Vector128.Create(ap[3]);
            c30 = Fma(a, b0, c30);
            c31 = Fma(a, b1, c31);
            a = Vector128.Create(ap[4]);
            c40 = Fma(a, b0, c40);
            c41 = Fma(a, b1, c41);
            a = Vector128.Create(ap[5]);
            c50 = Fma(a, b0, c50);
            c51 = Fma(a, b1, c51);
            ap += 6;
            bp += 8;
        }
        Store(c, c00, c01, accumulate);
        Store(c + ldc, c10, c11, accumulate);
        Store(c + 2 * ldc, c20, c21, accumulate);
        Store(c + 3 * ldc, c30, c31, accumulate);
        Store(c + 4 * ldc, c40, c41, accumulate);
        Store(c + 5 * ldc, c50, c51, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector128<float> x0, Vector128<float> x1, bool accumulate)
    {
        if (accumulate)
        {
            x0 += Vector128.Load(c);
            x1 += Vector128.Load(c + 4);
        }
        x0.Store(c);
        x1.Store(c + 4);
    }
}

/// <summary>4 × 4 tile in scalar code, for machines (or runs) without SIMD.</summary>
internal readonly unsafe struct KernelScalar : IGemmKernel
{
    public static int MR => 4;

    public static int NR => 4;

    public static void Run(int kc, float* ap, float* bp, float* c, nint ldc, bool accumulate)
    {
        float* acc = stackalloc float[16];
        for (int q = 0; q < 16; q++)
            acc[q] = 0f;
        for (int p = 0; p < kc; p++)
        {
            for (int r = 0; r < 4; r++)
            {
                float a = ap[r];
                for (int q = 0; q < 4; q++)
                    acc[r * 4 + q] += a * bp[q];
            }
            ap += 4;
            bp += 4;
        }
        for (int r = 0; r < 4; r++)
            for (int q = 0; q < 4; q++)
                c[r * ldc + q] = accumulate ? c[r * ldc + q] + acc[r * 4 + q] : acc[r * 4 + q];
    }
}
