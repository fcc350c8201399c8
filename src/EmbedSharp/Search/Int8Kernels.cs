using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EmbedSharp.Search;

/// <summary>
/// The pre-filter's integer scan: unsigned 8-bit codes against signed 8-bit query values, 32-bit exact
/// sums. An AVX-VNNI path (<c>vpdpbusd</c>: four byte products summed into each 32-bit lane) and a
/// scalar path over the same layout, with a plain reference over row-major codes beside them; all
/// three give identical integers.
/// </summary>
internal static class Int8Kernels
{
    /// <summary>Rows per tile.</summary>
    public const int TileRows = 16;

    /// <summary>Bytes of one tile's group of four dimensions.</summary>
    public const int TileBytesPerGroup = TileRows * 4;

    /// <summary>Queries per call of <see cref="ScoreTile"/>.</summary>
    public const int QueryBlock = 4;

    /// <summary>
    /// Integer dot products of one 16-row tile with four queries: <c>scores[j·stride + r] = Σ_d code[r, d] · query_j[d]</c>.
    /// <paramref name="queries"/> holds four queries of <c>groups × 4</c> signed bytes each, one after the other.
    /// </summary>
    /// <remarks>
    /// Lanes: a 32-byte load of a group holds rows 0–7 (then 8–15), four codes each; a query's four bytes
    /// for the group are broadcast to every lane, and <c>vpdpbusd</c> adds the four products into the row's
    /// lane. Two row halves × four queries = eight accumulators, which fit the 16 registers of AVX2 encoding.
    /// No tail: groups are zero-padded and tiles are whole.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void ScoreTile(byte* tile, int groups, sbyte* queries, int* scores, int stride)
    {
        if (AvxVnni.IsSupported)
        {
            int* q0 = (int*)queries, q1 = q0 + groups, q2 = q1 + groups, q3 = q2 + groups;
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<int> b0 = default, b1 = default, b2 = default, b3 = default;
            for (int g = 0; g < groups; g++)
            {
                var top = Vector256.Load(tile + g * TileBytesPerGroup);
                var bottom = Vector256.Load(tile + g * TileBytesPerGroup + 32);
                var w = Vector256.Create(q0[g]).AsSByte();
                a0 = AvxVnni.MultiplyWideningAndAdd(a0, top, w);
                b0 = AvxVnni.MultiplyWideningAndAdd(b0, bottom, w);
                w = Vector256.Create(q1[g]).AsSByte();
                a1 = AvxVnni.MultiplyWideningAndAdd(a1, top, w);
                b1 = AvxVnni.MultiplyWideningAndAdd(b1, bottom, w);
                w = Vector256.Create(q2[g]).AsSByte();
                a2 = AvxVnni.MultiplyWideningAndAdd(a2, top, w);
                b2 = AvxVnni.MultiplyWideningAndAdd(b2, bottom, w);
                w = Vector256.Create(q3[g]).AsSByte();
                a3 = AvxVnni.MultiplyWideningAndAdd(a3, top, w);
                b3 = AvxVnni.MultiplyWideningAndAdd(b3, bottom, w);
            }
            a0.Store(scores);
            b0.Store(scores + 8);
            a1.Store(scores + stride);
            b1.Store(scores + stride + 8);
            a2.Store(scores + 2 * stride);
            b2.Store(scores + 2 * stride + 8);
            a3.Store(scores + 3 * stride);
            b3.Store(scores + 3 * stride + 8);
            return;
        }
        ScoreTileScalar(tile, groups, queries, scores, stride);
    }

    /// <summary>Queries per call of <see cref="ScoreTile8"/>.</summary>
    public const int WideQueryBlock = 8;

    /// <summary>Whether <see cref="ScoreTile8"/> has the 32 vector registers (AVX-512's encoding) its 16 accumulators need.</summary>
    public static bool WideBlocks => AvxVnni.IsSupported && Avx512F.VL.IsSupported;

    /// <summary>
    /// <see cref="ScoreTile"/> for eight queries: each 64-byte group of the tile is loaded once and used eight times
    /// (two loads and eight broadcasts per sixteen <c>vpdpbusd</c>, against two and four per eight).
    /// </summary>
    /// <remarks>Sixteen accumulators: with AVX-512's 32 registers they stay in registers (<see cref="WideBlocks"/>);
    /// elsewhere the batch uses <see cref="ScoreTile"/>.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void ScoreTile8(byte* tile, int groups, sbyte* queries, int* scores, int stride)
    {
        if (AvxVnni.IsSupported)
        {
            int* q0 = (int*)queries, q1 = q0 + groups, q2 = q1 + groups, q3 = q2 + groups;
            int* q4 = q3 + groups, q5 = q4 + groups, q6 = q5 + groups, q7 = q6 + groups;
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            Vector256<int> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
            for (int g = 0; g < groups; g++)
            {
                var top = Vector256.Load(tile + g * TileBytesPerGroup);
                var bottom = Vector256.Load(tile + g * TileBytesPerGroup + 32);
                var w = Vector256.Create(q0[g]).AsSByte();
                a0 = AvxVnni.MultiplyWideningAndAdd(a0, top, w);
                b0 = AvxVnni.MultiplyWideningAndAdd(b0, bottom, w);
                w = Vector256.Create(q1[g]).AsSByte();
                a1 = AvxVnni.MultiplyWideningAndAdd(a1, top, w);
                b1 = AvxVnni.MultiplyWideningAndAdd(b1, bottom, w);
                w = Vector256.Create(q2[g]).AsSByte();
                a2 = AvxVnni.MultiplyWideningAndAdd(a2, top, w);
                b2 = AvxVnni.MultiplyWideningAndAdd(b2, bottom, w);
                w = Vector256.Create(q3[g]).AsSByte();
                a3 = AvxVnni.MultiplyWideningAndAdd(a3, top, w);
                b3 = AvxVnni.MultiplyWideningAndAdd(b3, bottom, w);
                w = Vector256.Create(q4[g]).AsSByte();
                a4 = AvxVnni.MultiplyWideningAndAdd(a4, top, w);
                b4 = AvxVnni.MultiplyWideningAndAdd(b4, bottom, w);
                w = Vector256.Create(q5[g]).AsSByte();
                a5 = AvxVnni.MultiplyWideningAndAdd(a5, top, w);
                b5 = AvxVnni.MultiplyWideningAndAdd(b5, bottom, w);
                w = Vector256.Create(q6[g]).AsSByte();
                a6 = AvxVnni.MultiplyWideningAndAdd(a6, top, w);
                b6 = AvxVnni.MultiplyWideningAndAdd(b6, bottom, w);
                w = Vector256.Create(q7[g]).AsSByte();
                a7 = AvxVnni.MultiplyWideningAndAdd(a7, top, w);
                b7 = AvxVnni.MultiplyWideningAndAdd(b7, bottom, w);
            }
            a0.Store(scores);
            b0.Store(scores + 8);
            a1.Store(scores + stride);
            b1.Store(scores + stride + 8);
            a2.Store(scores + 2 * stride);
            b2.Store(scores + 2 * stride + 8);
            a3.Store(scores + 3 * stride);
            b3.Store(scores + 3 * stride + 8);
            a4.Store(scores + 4 * stride);
            b4.Store(scores + 4 * stride + 8);
            a5.Store(scores + 5 * stride);
            b5.Store(scores + 5 * stride + 8);
            a6.Store(scores + 6 * stride);
            b6.Store(scores + 6 * stride + 8);
            a7.Store(scores + 7 * stride);
            b7.Store(scores + 7 * stride + 8);
            return;
        }
        ScoreTileScalar(tile, groups, queries, scores, stride);
        ScoreTileScalar(tile, groups, queries + (nint)QueryBlock * groups * 4, scores + QueryBlock * stride, stride);
    }

    /// <summary>
    /// <see cref="ScoreTile"/> for one query: <c>scores[r] = Σ_d code[r, d] · query[d]</c> over a 16-row tile.
    /// Used for the queries of a batch past its last whole block of four.
    /// </summary>
    /// <remarks>Two groups a step into separate accumulators, so four independent sums hide the instruction's latency.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void ScoreTileOne(byte* tile, int groups, sbyte* query, int* scores)
    {
        if (AvxVnni.IsSupported)
        {
            int* q = (int*)query;
            Vector256<int> a0 = default, b0 = default, a1 = default, b1 = default;
            int g = 0;
            for (; g + 1 < groups; g += 2)
            {
                byte* p = tile + g * TileBytesPerGroup;
                var w0 = Vector256.Create(q[g]).AsSByte();
                var w1 = Vector256.Create(q[g + 1]).AsSByte();
                a0 = AvxVnni.MultiplyWideningAndAdd(a0, Vector256.Load(p), w0);
                b0 = AvxVnni.MultiplyWideningAndAdd(b0, Vector256.Load(p + 32), w0);
                a1 = AvxVnni.MultiplyWideningAndAdd(a1, Vector256.Load(p + TileBytesPerGroup), w1);
                b1 = AvxVnni.MultiplyWideningAndAdd(b1, Vector256.Load(p + TileBytesPerGroup + 32), w1);
            }
            if (g < groups)
            {
                byte* p = tile + g * TileBytesPerGroup;
                var w0 = Vector256.Create(q[g]).AsSByte();
                a0 = AvxVnni.MultiplyWideningAndAdd(a0, Vector256.Load(p), w0);
                b0 = AvxVnni.MultiplyWideningAndAdd(b0, Vector256.Load(p + 32), w0);
            }
            (a0 + a1).Store(scores);
            (b0 + b1).Store(scores + 8);
            return;
        }
        ScoreTileOneScalar(tile, groups, query, scores);
    }

    /// <summary>The scalar path of <see cref="ScoreTileOne"/>.</summary>
    public static unsafe void ScoreTileOneScalar(byte* tile, int groups, sbyte* query, int* scores)
    {
        for (int r = 0; r < TileRows; r++)
        {
            int sum = 0;
            for (int g = 0; g < groups; g++)
            {
                byte* c = tile + g * TileBytesPerGroup + r * 4;
                sbyte* v = query + g * 4;
                sum += c[0] * v[0] + c[1] * v[1] + c[2] * v[2] + c[3] * v[3];
            }
            scores[r] = sum;
        }
    }

    /// <summary>The scalar path of <see cref="ScoreTile"/>, over the same tiled layout.</summary>
    public static unsafe void ScoreTileScalar(byte* tile, int groups, sbyte* queries, int* scores, int stride)
    {
        for (int j = 0; j < QueryBlock; j++)
        {
            sbyte* q = queries + (nint)j * groups * 4;
            for (int r = 0; r < TileRows; r++)
            {
                int sum = 0;
                for (int g = 0; g < groups; g++)
                {
                    byte* c = tile + g * TileBytesPerGroup + r * 4;
                    sbyte* v = q + g * 4;
                    sum += c[0] * v[0] + c[1] * v[1] + c[2] * v[2] + c[3] * v[3];
                }
                scores[j * stride + r] = sum;
            }
        }
    }

    /// <summary>The reference: <c>Σ_d codes[d] · query[d]</c> over one row-major row.</summary>
    public static int DotReference(ReadOnlySpan<byte> codes, ReadOnlySpan<sbyte> query)
    {
        int sum = 0;
        for (int d = 0; d < codes.Length; d++)
            sum += codes[d] * query[d];
        return sum;
    }
}
