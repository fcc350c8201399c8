using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EmbedSharp.Numerics;

public static partial class Kernels
{
    /// <summary>Whether <see cref="PoolSumFloat32"/> handles rows of <paramref name="dims"/> floats on this machine.</summary>
    internal static bool PoolSumFloat32Supported(int dims) =>
        dims > 0 && (Vector512.IsHardwareAccelerated ? dims % 16 == 0 : Vector256.IsHardwareAccelerated && dims % 8 == 0);

    /// <summary>
    /// Sum or mean bags over a float32 table, the bag's running sum held in registers: per block of 128
    /// columns, eight Vector512 accumulators take the first row and then add each further row (the same
    /// additions in the same order as <see cref="PoolBags{TPool, TRows}"/> with <see cref="SumPooling"/> /
    /// <see cref="MeanPooling"/>, so the result is bit for bit the same), and are stored once per bag. A block
    /// narrower than 128 columns is summed one vector at a time. Rows
    /// <see cref="PoolPrefetchDistance"/> positions ahead are prefetched. Padding positions are skipped;
    /// empty bags give zeros; the mean multiplies by <c>1/count</c> when count &gt; 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void PoolSumFloat32(float* table, int dims, int* indices, int total, int* starts, int bags, int end,
        int paddingIdx, bool mean, float* destination)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            PoolSumFloat32Avx2(table, dims, indices, total, starts, bags, end, paddingIdx, mean, destination);
            return;
        }
        nint rowBytes = (nint)dims * sizeof(float);
        nint prefetchBytes = Math.Min(rowBytes, RowPrefetchLines * 64); // hoisted: the loop bound must not be recomputed per line
        for (int b = 0; b < bags; b++)
        {
            int start = starts[b];
            int stop = b + 1 < bags ? starts[b + 1] : end;
            float* acc = destination + (nint)b * dims;
            int count = 0;
            for (int d0 = 0; d0 < dims; d0 += 128)
            {
                count = 0;
                if (dims - d0 >= 128)
                {
                    Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                    for (int j = start; j < stop; j++)
                    {
                        if (d0 == 0 && Sse.IsSupported && j + PoolPrefetchDistance < total)
                        {
                            PrefetchRow((byte*)table + indices[j + PoolPrefetchDistance] * rowBytes, prefetchBytes);
                        }
                        int id = indices[j];
                        if (id == paddingIdx)
                            continue;
                        float* row = table + id * (nint)dims + d0;
                        if (count == 0)
                        {
                            a0 = Vector512.Load(row); a1 = Vector512.Load(row + 16); a2 = Vector512.Load(row + 32); a3 = Vector512.Load(row + 48);
                            a4 = Vector512.Load(row + 64); a5 = Vector512.Load(row + 80); a6 = Vector512.Load(row + 96); a7 = Vector512.Load(row + 112);
                        }
                        else
                        {
                            a0 += Vector512.Load(row); a1 += Vector512.Load(row + 16); a2 += Vector512.Load(row + 32); a3 += Vector512.Load(row + 48);
                            a4 += Vector512.Load(row + 64); a5 += Vector512.Load(row + 80); a6 += Vector512.Load(row + 96); a7 += Vector512.Load(row + 112);
                        }
                        count++;
                    }
                    if (mean && count > 1)
                    {
                        var inv = Vector512.Create(1f / count);
                        a0 *= inv; a1 *= inv; a2 *= inv; a3 *= inv; a4 *= inv; a5 *= inv; a6 *= inv; a7 *= inv;
                    }
                    float* o = acc + d0;
                    a0.Store(o); a1.Store(o + 16); a2.Store(o + 32); a3.Store(o + 48);
                    a4.Store(o + 64); a5.Store(o + 80); a6.Store(o + 96); a7.Store(o + 112);
                    continue;
                }
                for (int d = d0; d < dims; d += 16)
                {
                    Vector512<float> a = default;
                    count = 0;
                    for (int j = start; j < stop; j++)
                    {
                        int id = indices[j];
                        if (id == paddingIdx)
                            continue;
                        var v = Vector512.Load(table + id * (nint)dims + d);
                        a = count == 0 ? v : a + v;
                        count++;
                    }
                    if (mean && count > 1)
                        a *= Vector512.Create(1f / count);
                    a.Store(acc + d);
                }
            }
        }
    }

    /// <summary>
    /// <see cref="PoolSumFloat32"/> for machines without Vector512 (AVX2): blocks of 128 columns held in sixteen
    /// Vector256 accumulators (all sixteen ymm registers: each add takes its row operand straight from memory,
    /// so no register is needed for a loaded value), then at most one block of 64 columns in eight, then
    /// single vectors; the same additions in the same order as the reference, so the same bits.
    /// </summary>
    /// <remarks>
    /// A 128-float row is summed in one pass, as FBGEMM's AVX2 kernel does, instead of two passes of 64 columns:
    /// each position's id is loaded, checked and turned into an address once, and the row's second half is not
    /// fetched a second time from L1. The pass that visits a position first prefetches the row
    /// <see cref="Avx2PoolPrefetchDistance"/> positions ahead, one instruction per 128-byte pair of lines
    /// (<see cref="PrefetchRowPairs"/>).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PoolSumFloat32Avx2(float* table, int dims, int* indices, int total, int* starts, int bags, int end,
        int paddingIdx, bool mean, float* destination)
    {
        nint rowBytes = (nint)dims * sizeof(float);
        nint prefetchBytes = Math.Min(rowBytes, RowPrefetchLines * 64); // hoisted: the loop bound must not be recomputed per pair
        for (int b = 0; b < bags; b++)
        {
            int start = starts[b];
            int stop = b + 1 < bags ? starts[b + 1] : end;
            float* acc = destination + (nint)b * dims;
            int d0 = 0;
            for (; d0 <= dims - 128; d0 += 128)
                SumBlock128Avx2(table, dims, indices, total, start, stop, paddingIdx, mean, d0 == 0 ? prefetchBytes : 0, acc + d0, d0);
            if (dims - d0 >= 64)
            {
                SumBlock64Avx2(table, dims, indices, total, start, stop, paddingIdx, mean, d0 == 0 ? prefetchBytes : 0, acc + d0, d0);
                d0 += 64;
            }
            for (int d = d0; d < dims; d += 8)
            {
                var a = FoldColumns8<SumFold>(table, dims, indices, start, stop, null, paddingIdx, d, out int count);
                if (mean && count > 1)
                    a *= Vector256.Create(1f / count);
                a.Store(acc + d);
            }
        }
    }

    /// <summary>
    /// Positions ahead whose row the AVX2 sum/mean kernel prefetches: 16, PyTorch's distance for FBGEMM's kernel.
    /// Measured with 1M × 128 rows, bags of 32, on the 2-core AMD EPYC development machine with AVX-512 off (pair
    /// prefetch): 16 was within the noise of 32 and ahead of 8 on uniform and Zipf ids (issue 19; benchmarks/README.md).
    /// </summary>
    internal const int Avx2PoolPrefetchDistance = 16;

    /// <summary>
    /// Prefetches the row at <paramref name="row"/> (<paramref name="bytes"/> long, clamped by the caller) with one
    /// <c>prefetcht0</c> per 128-byte-aligned pair of 64-byte lines that it touches: the L2's adjacent-line (AMD) or
    /// spatial (Intel) prefetcher brings the pair's other line. Half the instructions of
    /// <see cref="PrefetchRow"/>, which mattered when rows are already cached (issue 19: Zipf ids, where every
    /// prefetch is a load-port slot and a miss-buffer lookup for a line in L1 or L2). A no-op without SSE.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void PrefetchRowPairs(void* row, nint bytes)
    {
        if (!Sse.IsSupported)
            return;
        byte* pair = (byte*)((nint)row & ~(nint)127);
        byte* end = (byte*)row + bytes;
        for (; pair < end; pair += 128)
            Sse.Prefetch0(pair);
    }

    /// <summary>
    /// One bag's 128 columns from <paramref name="d0"/> in sixteen Vector256 registers. The first non-padding row is
    /// loaded, each further one added (zeros when every position is padding); <paramref name="prefetchBytes"/> &gt; 0
    /// prefetches that many bytes of the row <see cref="Avx2PoolPrefetchDistance"/> positions ahead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void SumBlock128Avx2(float* table, int dims, int* indices, int total, int start, int stop, int paddingIdx,
        bool mean, nint prefetchBytes, float* o, int d0)
    {
        nint rowBytes = (nint)dims * sizeof(float);
        int j = start;
        // Skip leading padding (prefetching as the main loop would).
        for (; j < stop && indices[j] == paddingIdx; j++)
        {
            if (prefetchBytes > 0 && j + Avx2PoolPrefetchDistance < total)
                PrefetchRowPairs((byte*)table + indices[j + Avx2PoolPrefetchDistance] * rowBytes, prefetchBytes);
        }
        if (j == stop)
        {
            new Span<float>(o, 128).Clear();
            return;
        }
        if (prefetchBytes > 0 && j + Avx2PoolPrefetchDistance < total)
            PrefetchRowPairs((byte*)table + indices[j + Avx2PoolPrefetchDistance] * rowBytes, prefetchBytes);
        float* row = table + indices[j] * (nint)dims + d0;
        Vector256<float> a0 = Vector256.Load(row), a1 = Vector256.Load(row + 8), a2 = Vector256.Load(row + 16), a3 = Vector256.Load(row + 24);
        Vector256<float> a4 = Vector256.Load(row + 32), a5 = Vector256.Load(row + 40), a6 = Vector256.Load(row + 48), a7 = Vector256.Load(row + 56);
        Vector256<float> a8 = Vector256.Load(row + 64), a9 = Vector256.Load(row + 72), a10 = Vector256.Load(row + 80), a11 = Vector256.Load(row + 88);
        Vector256<float> a12 = Vector256.Load(row + 96), a13 = Vector256.Load(row + 104), a14 = Vector256.Load(row + 112), a15 = Vector256.Load(row + 120);
        int count = 1;
        if (prefetchBytes == 512 && Sse.IsSupported)
        {
            // 128-float rows (the common width): the four pair prefetches of the row ahead are placed between the
            // row's adds, as FBGEMM places its prefetches, and the row ahead is picked without a branch (near the
            // end, the current row again). Bags of 32 over 1M x 128 rows: 0.76-0.89 of the time of a prefetch of every
            // line through a separate loop 32 positions ahead (issue 19; benchmarks/README.md).
            for (j++; j < stop; j++)
            {
                int id = indices[j];
                int ahead = j + Avx2PoolPrefetchDistance < total ? indices[j + Avx2PoolPrefetchDistance] : id;
                byte* p = (byte*)table + ahead * rowBytes;
                if (id == paddingIdx)
                {
                    PrefetchRowPairs(p, 512);
                    continue;
                }
                row = table + id * (nint)dims + d0;
                Sse.Prefetch0(p);
                a0 += Vector256.Load(row); a1 += Vector256.Load(row + 8); a2 += Vector256.Load(row + 16); a3 += Vector256.Load(row + 24);
                Sse.Prefetch0(p + 128);
                a4 += Vector256.Load(row + 32); a5 += Vector256.Load(row + 40); a6 += Vector256.Load(row + 48); a7 += Vector256.Load(row + 56);
                Sse.Prefetch0(p + 256);
                a8 += Vector256.Load(row + 64); a9 += Vector256.Load(row + 72); a10 += Vector256.Load(row + 80); a11 += Vector256.Load(row + 88);
                Sse.Prefetch0(p + 384);
                a12 += Vector256.Load(row + 96); a13 += Vector256.Load(row + 104); a14 += Vector256.Load(row + 112); a15 += Vector256.Load(row + 120);
                count++;
            }
        }
        for (j++; j < stop; j++)
        {
            if (prefetchBytes > 0 && j + Avx2PoolPrefetchDistance < total)
                PrefetchRowPairs((byte*)table + indices[j + Avx2PoolPrefetchDistance] * rowBytes, prefetchBytes);
            int id = indices[j];
            if (id == paddingIdx)
                continue;
            row = table + id * (nint)dims + d0;
            a0 += Vector256.Load(row); a1 += Vector256.Load(row + 8); a2 += Vector256.Load(row + 16); a3 += Vector256.Load(row + 24);
            a4 += Vector256.Load(row + 32); a5 += Vector256.Load(row + 40); a6 += Vector256.Load(row + 48); a7 += Vector256.Load(row + 56);
            a8 += Vector256.Load(row + 64); a9 += Vector256.Load(row + 72); a10 += Vector256.Load(row + 80); a11 += Vector256.Load(row + 88);
            a12 += Vector256.Load(row + 96); a13 += Vector256.Load(row + 104); a14 += Vector256.Load(row + 112); a15 += Vector256.Load(row + 120);
            count++;
        }
        a0.Store(o); a1.Store(o + 8); a2.Store(o + 16); a3.Store(o + 24);
        a4.Store(o + 32); a5.Store(o + 40); a6.Store(o + 48); a7.Store(o + 56);
        a8.Store(o + 64); a9.Store(o + 72); a10.Store(o + 80); a11.Store(o + 88);
        a12.Store(o + 96); a13.Store(o + 104); a14.Store(o + 112); a15.Store(o + 120);
        // The mean scales the stored sums (the same multiply per value): a 1/count register beside the sixteen
        // accumulators made the JIT spill one of them on every row.
        if (mean && count > 1)
        {
            var inv = Vector256.Create(1f / count);
            for (int k = 0; k < 128; k += 8)
                (Vector256.Load(o + k) * inv).Store(o + k);
        }
    }

    /// <summary>As <see cref="SumBlock128Avx2"/> for 64 columns in eight registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void SumBlock64Avx2(float* table, int dims, int* indices, int total, int start, int stop, int paddingIdx,
        bool mean, nint prefetchBytes, float* o, int d0)
    {
        nint rowBytes = (nint)dims * sizeof(float);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        int count = 0;
        for (int j = start; j < stop; j++)
        {
            if (prefetchBytes > 0 && j + Avx2PoolPrefetchDistance < total)
                PrefetchRowPairs((byte*)table + indices[j + Avx2PoolPrefetchDistance] * rowBytes, prefetchBytes);
            int id = indices[j];
            if (id == paddingIdx)
                continue;
            float* row = table + id * (nint)dims + d0;
            if (count == 0)
            {
                a0 = Vector256.Load(row); a1 = Vector256.Load(row + 8); a2 = Vector256.Load(row + 16); a3 = Vector256.Load(row + 24);
                a4 = Vector256.Load(row + 32); a5 = Vector256.Load(row + 40); a6 = Vector256.Load(row + 48); a7 = Vector256.Load(row + 56);
            }
            else
            {
                a0 += Vector256.Load(row); a1 += Vector256.Load(row + 8); a2 += Vector256.Load(row + 16); a3 += Vector256.Load(row + 24);
                a4 += Vector256.Load(row + 32); a5 += Vector256.Load(row + 40); a6 += Vector256.Load(row + 48); a7 += Vector256.Load(row + 56);
            }
            count++;
        }
        if (mean && count > 1)
        {
            var inv = Vector256.Create(1f / count);
            a0 *= inv; a1 *= inv; a2 *= inv; a3 *= inv; a4 *= inv; a5 *= inv; a6 *= inv; a7 *= inv;
        }
        a0.Store(o); a1.Store(o + 8); a2.Store(o + 16); a3.Store(o + 24);
        a4.Store(o + 32); a5.Store(o + 40); a6.Store(o + 48); a7.Store(o + 56);
    }
}
