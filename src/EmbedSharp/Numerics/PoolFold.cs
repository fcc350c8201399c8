using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EmbedSharp.Numerics;

/// <summary>
/// One pooling rule of <see cref="Kernels.PoolFoldFloat32{TFold}"/> on eight float32 lanes: how the first row of a
/// bag starts the accumulator and how each further row folds into it. <c>w</c> holds the position's weight in every
/// lane (1 when the rule takes no weights).
/// </summary>
internal interface IRegisterFold
{
    /// <summary>False when the rule ignores <c>w</c> (the kernel then reads no weights).</summary>
    static abstract bool Weighted { get; }

    /// <summary>The accumulator after the bag's first row.</summary>
    static abstract Vector256<float> First(Vector256<float> row, Vector256<float> w);

    /// <summary>The accumulator after one more row.</summary>
    static abstract Vector256<float> Next(Vector256<float> acc, Vector256<float> row, Vector256<float> w);
}

/// <summary>
/// Weighted sum, as <see cref="SumPooling"/>: <c>w·row</c>, then <c>acc + w·row</c>, a multiply and then an add
/// (never fused), so each value is rounded as the scalar reference rounds it. A weight of 1 gives the same bits
/// as the unweighted <c>row</c> and <c>acc + row</c> (<c>x·1 = x</c>).
/// </summary>
internal readonly struct WeightedSumFold : IRegisterFold
{
    public static bool Weighted => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> First(Vector256<float> row, Vector256<float> w) => row * w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Next(Vector256<float> acc, Vector256<float> row, Vector256<float> w) => acc + row * w;
}

/// <summary>Unweighted sum, as <see cref="SumPooling"/> without weights: <c>row</c>, then <c>acc + row</c>.</summary>
internal readonly struct SumFold : IRegisterFold
{
    public static bool Weighted => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> First(Vector256<float> row, Vector256<float> w) => row;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Next(Vector256<float> acc, Vector256<float> row, Vector256<float> w) => acc + row;
}

/// <summary>
/// Max, as <see cref="MaxPooling"/> without source tracking: a lane takes the row's value when it is greater, or when
/// it is NaN and the maximum so far is not (NaN wins and stays; ties keep the earlier value, so +0 then −0 keeps +0).
/// </summary>
internal readonly struct MaxFold : IRegisterFold
{
    public static bool Weighted => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> First(Vector256<float> row, Vector256<float> w) => row;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Next(Vector256<float> acc, Vector256<float> row, Vector256<float> w) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(row, acc) | (~Vector256.Equals(row, row) & Vector256.Equals(acc, acc)), row, acc);
}

public static partial class Kernels
{
    /// <summary>
    /// Whether <see cref="PoolFoldFloat32{TFold}"/> runs on this machine for rows of <paramref name="dims"/> floats:
    /// Vector256 accelerated without Vector512 (the AVX2 case), rows a multiple of 8 floats.
    /// </summary>
    internal static bool PoolFoldFloat32Supported(int dims) =>
        dims > 0 && dims % 8 == 0 && Vector256.IsHardwareAccelerated && !Vector512.IsHardwareAccelerated;

    /// <summary>
    /// Max bags and weighted-sum bags over a float32 table with each bag's running result in registers, for AVX2
    /// machines: per block of 64 columns, eight Vector256 accumulators start from the bag's first non-padding row
    /// (<see cref="IRegisterFold.First"/>) and fold in each further row (<see cref="IRegisterFold.Next"/>) in position
    /// order, then are stored once; narrower tails go one vector at a time. The same operations in the same order as
    /// <see cref="PoolRows{TPool, TRows}"/> with <see cref="MaxPooling"/> / <see cref="SumPooling"/>, so the same bits.
    /// </summary>
    /// <remarks>
    /// The generic loop keeps the accumulator in memory and folds a row through span-based operators: on AVX2 that
    /// was 2.5× (weighted sum) and 4–5× (max) the time of the register-held unweighted sum on uniform ids over a
    /// 1M × 128 table. Eight accumulators leave registers for the loaded row, the comparison masks and the weight.
    /// The first pass over a position prefetches the row <see cref="PoolPrefetchDistance"/> positions ahead.
    /// Padding positions are skipped; empty bags give zeros. <paramref name="weights"/> (one per position) is read only by
    /// weighted rules.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void PoolFoldFloat32<TFold>(float* table, int dims, int* indices, int total, int* starts, int bags, int end,
        float* weights, int paddingIdx, float* destination)
        where TFold : struct, IRegisterFold
    {
        nint rowBytes = (nint)dims * sizeof(float);
        nint prefetchBytes = Math.Min(rowBytes, RowPrefetchLines * 64);
        for (int b = 0; b < bags; b++)
        {
            int start = starts[b];
            int stop = b + 1 < bags ? starts[b + 1] : end;
            float* acc = destination + (nint)b * dims;
            int d0 = 0;
            for (; d0 <= dims - 64; d0 += 64)
            {
                nint ahead = d0 == 0 ? prefetchBytes : 0;
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                int count = 0;
                for (int j = start; j < stop; j++)
                {
                    if (ahead > 0 && Sse.IsSupported && j + PoolPrefetchDistance < total)
                        PrefetchRow((byte*)table + indices[j + PoolPrefetchDistance] * rowBytes, ahead);
                    int id = indices[j];
                    if (id == paddingIdx)
                        continue;
                    float* row = table + id * (nint)dims + d0;
                    var w = TFold.Weighted ? Vector256.Create(weights[j]) : default;
                    if (count == 0)
                    {
                        a0 = TFold.First(Vector256.Load(row), w); a1 = TFold.First(Vector256.Load(row + 8), w);
                        a2 = TFold.First(Vector256.Load(row + 16), w); a3 = TFold.First(Vector256.Load(row + 24), w);
                        a4 = TFold.First(Vector256.Load(row + 32), w); a5 = TFold.First(Vector256.Load(row + 40), w);
                        a6 = TFold.First(Vector256.Load(row + 48), w); a7 = TFold.First(Vector256.Load(row + 56), w);
                    }
                    else
                    {
                        a0 = TFold.Next(a0, Vector256.Load(row), w); a1 = TFold.Next(a1, Vector256.Load(row + 8), w);
                        a2 = TFold.Next(a2, Vector256.Load(row + 16), w); a3 = TFold.Next(a3, Vector256.Load(row + 24), w);
                        a4 = TFold.Next(a4, Vector256.Load(row + 32), w); a5 = TFold.Next(a5, Vector256.Load(row + 40), w);
                        a6 = TFold.Next(a6, Vector256.Load(row + 48), w); a7 = TFold.Next(a7, Vector256.Load(row + 56), w);
                    }
                    count++;
                }
                float* o = acc + d0;
                a0.Store(o); a1.Store(o + 8); a2.Store(o + 16); a3.Store(o + 24);
                a4.Store(o + 32); a5.Store(o + 40); a6.Store(o + 48); a7.Store(o + 56);
            }
            for (int d = d0; d < dims; d += 8)
                FoldColumns8<TFold>(table, dims, indices, start, stop, weights, paddingIdx, d, out _).Store(acc + d);
        }
    }

    /// <summary>
    /// Columns <paramref name="d"/> to <paramref name="d"/> + 8 of one bag (positions <paramref name="start"/> to
    /// <paramref name="stop"/>), folded one vector at a time: the tails narrower than a register block, shared by
    /// <see cref="PoolFoldFloat32{TFold}"/> and the AVX2 sum/mean kernel. Zeros when every position is padding;
    /// <paramref name="count"/> is the number of rows folded.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector256<float> FoldColumns8<TFold>(float* table, int dims, int* indices, int start, int stop,
        float* weights, int paddingIdx, int d, out int count)
        where TFold : struct, IRegisterFold
    {
        Vector256<float> a = default;
        count = 0;
        for (int j = start; j < stop; j++)
        {
            int id = indices[j];
            if (id == paddingIdx)
                continue;
            var v = Vector256.Load(table + id * (nint)dims + d);
            var w = TFold.Weighted ? Vector256.Create(weights[j]) : default;
            a = count == 0 ? TFold.First(v, w) : TFold.Next(a, v, w);
            count++;
        }
        return a;
    }
}
