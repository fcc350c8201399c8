using System.Numerics.Tensors;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Quantization;

public sealed partial class QuantizedTable
{
    /// <summary>Pooled positions × Dims below which the bags stay on one thread.</summary>
    private const long PoolParallelThreshold = 1 << 18;

    /// <summary>Ids ahead prefetched by the in-register bag sum (it spends a few ns per id, so rows must be asked for earlier).</summary>
    private const int SumPrefetchDistance = 16;

    /// <summary>Positions ahead prefetched by the row-at-a-time pool.</summary>
    private const int PoolPrefetchDistance = 8;

    /// <summary>
    /// Pooled lookup over CSR bags without a dense copy (inputs validated by the caller): bag <c>b</c> holds
    /// <c>indices[starts[b] .. starts[b+1])</c>, the last ending at <paramref name="end"/>. Sum (weighted or not),
    /// mean and max on the SIMD affine layouts reduce each whole bag in registers (<see cref="RowReader.Sum"/>); every
    /// other case is the generic <see cref="Kernels.PoolRows{TPool, TRows}"/> over this table's row source.
    /// Arithmetic: <c>o + w·ŵ</c> in position order from a zeroed output, the element-wise maximum
    /// (<see cref="TensorPrimitives.Max(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>), and the
    /// mean divides the sum by the bag size. Positions holding <paramref name="paddingIdx"/> are left out (−1: none);
    /// empty and all-padding bags give zeros.
    /// </summary>
    internal unsafe void PoolUnchecked(PoolingMode mode, ReadOnlySpan<int> indices, ReadOnlySpan<int> starts, int end,
        ReadOnlySpan<float> perSampleWeights, int paddingIdx, Span<float> destination)
    {
        int bags = starts.Length, dims = Dims;
        if (bags == 0)
            return;
        int threads = (long)indices.Length * Math.Max(dims, 1) < PoolParallelThreshold ? 1 : ParallelWork.DefaultThreads;
        var reader = new RowReader(this);
        try
        {
            fixed (int* ids = indices)
            fixed (int* st = starts)
            fixed (float* dst = destination)
            fixed (float* psw = perSampleWeights)
            {
                nint idsA = (nint)ids, stA = (nint)st, dstA = (nint)dst, pswA = (nint)psw;
                int total = indices.Length, weights = perSampleWeights.Length;
                bool inRegisters = paddingIdx < 0 && reader.CanSum;
                RowReader r = reader;
                int grain = Math.Min(Math.Max(1, bags / Math.Max(1, 8 * threads)), 256);
                ParallelWork.For(bags, grain, threads, (first, last) =>
                {
                    int* idp = (int*)idsA, stp = (int*)stA;
                    float* output = (float*)dstA;
                    int chunkEnd = last < bags ? stp[last] : end;
                    if (inRegisters)
                    {
                        for (int b = first; b < last; b++)
                        {
                            int start = stp[b], stop = b + 1 < bags ? stp[b + 1] : end;
                            r.Sum(idp + start, stop - start, total - start, SumPrefetchDistance, output + (nint)b * dims,
                                weights == 0 ? null : (float*)pswA + start, max: mode == PoolingMode.Max);
                            if (mode == PoolingMode.Mean && stop > start)
                            {
                                var o = new Span<float>(output + (nint)b * dims, dims);
                                TensorPrimitives.Divide(o, stop - start, o);
                            }
                        }
                        return;
                    }
                    var all = new ReadOnlySpan<int>(idp, total);
                    var chunkStarts = new ReadOnlySpan<int>(stp + first, last - first);
                    var w = new ReadOnlySpan<float>((float*)pswA, weights);
                    var chunkOut = new Span<float>(output + (nint)first * dims, (last - first) * dims);
                    switch (mode)
                    {
                        case PoolingMode.Sum: Kernels.PoolRows<QuantizedSum, RowReader>(r, all, chunkStarts, chunkEnd, w, paddingIdx, chunkOut, default, PoolPrefetchDistance); break;
                        case PoolingMode.Mean: Kernels.PoolRows<QuantizedMean, RowReader>(r, all, chunkStarts, chunkEnd, default, paddingIdx, chunkOut, default, PoolPrefetchDistance); break;
                        default: Kernels.PoolRows<QuantizedMax, RowReader>(r, all, chunkStarts, chunkEnd, default, paddingIdx, chunkOut, default, PoolPrefetchDistance); break;
                    }
                });
            }
        }
        finally
        {
            reader.Dispose();
        }
    }

    /// <summary>Quantized sum: <c>o = 0; o += w·ŵ</c> per row (a plain add when w is 1), as the reference does.</summary>
    private readonly struct QuantizedSum : IPoolingOperator
    {
        public static bool TracksSource => false;

        public static void First(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source)
        {
            acc.Clear();
            Next(row, weight, position, acc, source);
        }

        public static void Next(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source)
        {
            if (weight == 1f)
                TensorPrimitives.Add(acc, row, acc);
            else
                TensorPrimitives.MultiplyAdd(row, weight, acc, acc);
        }

        public static void Finish(Span<float> acc, int count) { }
    }

    /// <summary>Quantized mean: the sum divided by the bag size.</summary>
    private readonly struct QuantizedMean : IPoolingOperator
    {
        public static bool TracksSource => false;

        public static void First(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source) =>
            QuantizedSum.First(row, 1f, position, acc, source);

        public static void Next(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source) =>
            TensorPrimitives.Add(acc, row, acc);

        public static void Finish(Span<float> acc, int count) => TensorPrimitives.Divide(acc, count, acc);
    }

    /// <summary>Quantized max: the element-wise <see cref="TensorPrimitives.Max(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>.</summary>
    private readonly struct QuantizedMax : IPoolingOperator
    {
        public static bool TracksSource => false;

        public static void First(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source) => row.CopyTo(acc);

        public static void Next(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source) =>
            TensorPrimitives.Max(acc, row, acc);

        public static void Finish(Span<float> acc, int count) { }
    }
}
