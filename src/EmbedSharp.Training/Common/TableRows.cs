using System.Runtime.CompilerServices;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Training.Common;

/// <summary>
/// How trainers reach the rows of the float32 tables they update in place (Hogwild workers): a base
/// address from <see cref="EmbeddingTable"/>'s 64-bit row addressing plus <c>(long)row · dims</c>, a
/// prefetch hint, and the uniform initialisation the word2vec family shares.
/// </summary>
internal static unsafe class TableRows
{
    /// <summary>
    /// The first float of <paramref name="table"/>'s storage; row r is at <c>+ (long)r · Dims</c>. Valid
    /// for tables past 2³¹ elements, and until the table is disposed (its memory never moves).
    /// </summary>
    public static float* Base(EmbeddingTable table)
    {
        System.Diagnostics.Debug.Assert(table.DType == DType.Float32);
        return (float*)table.RowAddress(0);
    }

    /// <summary>Hints the CPU to fetch a row's cache lines (a no-op where the hint is unavailable).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(float* row, int dims) => Kernels.PrefetchRow(row, (nint)dims * sizeof(float));

    /// <summary>Fills every element, row after row, with <c>(u·2 − 1)·halfWidth</c>, u uniform in [0, 1) from <paramref name="random"/> (word2vec's and fastText's initialisation).</summary>
    public static void InitializeUniform(EmbeddingTable table, SeededRandom random, float halfWidth)
    {
        float* p = Base(table);
        long count = table.ElementCount;
        for (long i = 0; i < count; i++)
            p[i] = (random.NextSingle() * 2 - 1) * halfWidth;
    }
}
