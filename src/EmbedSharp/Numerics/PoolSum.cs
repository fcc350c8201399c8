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
    /// <see cref="PoolSumFloat32"/> for machines without Vector512: blocks of 64 columns held in eight
    /// Vector256 accumulators, narrower tails one vector at a time; the same additions in the same order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PoolSumFloat32Avx2(float* table, int dims, int* indices, int total, int* starts, int bags, int end,
        int paddingIdx, bool mean, float* destination)
    {
        nint rowBytes = (nint)dims * sizeof(float);
        nint prefetchBytes = Math.Min(rowBytes, RowPrefetchLines * 64); // hoisted: the loop bound must not be recomputed per line
        for (int b = 0; b < bags; b++)
        {
            int start = starts[b];
            int stop = b + 1 < bags ? starts[b + 1] : end;
            float* acc = destination + (nint)b * dims;
            for (int d0 = 0; d0 < dims; d0 += 64)
            {
                int count = 0;
                if (dims - d0 >= 64)
                {
                    Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
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
                    float* o = acc + d0;
                    a0.Store(o); a1.Store(o + 8); a2.Store(o + 16); a3.Store(o + 24);
                    a4.Store(o + 32); a5.Store(o + 40); a6.Store(o + 48); a7.Store(o + 56);
                    continue;
                }
                for (int d = d0; d < dims; d += 8)
                {
                    Vector256<float> a = default;
                    count = 0;
                    for (int j = start; j < stop; j++)
                    {
                        int id = indices[j];
                        if (id == paddingIdx)
                            continue;
                        var v = Vector256.Load(table + id * (nint)dims + d);
                        a = count == 0 ? v : a + v;
                        count++;
                    }
                    if (mean && count > 1)
                        a *= Vector256.Create(1f / count);
                    a.Store(acc + d);
                }
            }
        }
    }
}
