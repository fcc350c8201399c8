using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Search;

/// <summary>
/// Dot products of one query with MLX affine 4-bit rows, scored in the integer domain on the packed codes:
/// <c>q · ŵ = Σ_g s_g (q_g · c_g) + b_g Σ q_g</c>, so no row is dequantized.
/// </summary>
/// <remarks>
/// <para>The query is rounded once to 16-bit integers <c>Q = round(q / α)</c> (<c>α = max|q| / 32512</c>) and split
/// into a high and a low signed byte, <c>Q = 256 H + L</c>, so that the integer products are exact and the only
/// error is that rounding (at most <c>α / 2</c> per element, about 1.5·10⁻⁵ of the largest query element).</para>
/// <para>A row's 4-bit codes are read 64 at a time (32 bytes): the low nibbles are the even codes and the high
/// nibbles the odd ones, so the query is stored in the same order (for each 64 dims: the 32 even elements, then
/// the 32 odd ones) and each nibble vector meets its query bytes in one <c>vpdpbusd</c> (AVX-VNNI: unsigned codes
/// times signed query bytes, four products summed into each 32-bit lane), or <c>vpmaddubsw</c> + <c>vpmaddwd</c>
/// without VNNI. Per group the two integer sums are joined (<c>256 H + L</c>), converted to float, scaled by the
/// group's scale, and its bias term added in lane 0; eight rows' lane vectors are then summed across lanes
/// together (a horizontal-add tree), one store of eight dots.</para>
/// <para>Used where <see cref="Supports"/>: x86 with AVX2, float32 scales, biases, 64 | group size ≤ 1024.</para>
/// </remarks>
internal static unsafe class PackedScan4
{
    /// <summary>Dims of one unit: 64 codes in 32 bytes.</summary>
    private const int Unit = 64;

    /// <summary>Largest |Q|: H stays in [−127, 127] after the split.</summary>
    private const int QueryRange = 127 * 256;

    /// <summary>
    /// Whether this kernel scores <paramref name="table"/> here. It reads MLX's three arrays in place, so a
    /// fused-row table (whose <c>Weight</c>/<c>Scales</c>/<c>Biases</c> are copies split out of its records) takes
    /// the float kernels, which read records through the row reader.
    /// </summary>
    public static bool Supports(QuantizedTable table) =>
        Avx2.IsSupported && Vector256.IsHardwareAccelerated && table.Layout == QuantizedRowLayout.Mlx
        && table.Mode == QuantizationMode.Affine && table.Bits == 4 && table.DType == DType.Float32 && table.HasBiases
        && table.GroupSize % Unit == 0 && table.GroupSize <= 1024;

    /// <summary>
    /// Whether <paramref name="q"/> keeps its precision as an integer query: zero, or a largest element of at least
    /// 10⁻³⁰ (below that, α would fall into float32's subnormal range; such queries take the float kernels).
    /// </summary>
    public static bool Suits(ReadOnlySpan<float> q)
    {
        float max = 0f;
        foreach (float v in q)
            max = Math.Max(max, Math.Abs(v));
        return max == 0f || max >= 1e-30f;
    }

    /// <summary>A query prepared for <see cref="Score"/>: permuted high and low bytes, its scale and group sums.</summary>
    internal sealed class Query
    {
        /// <summary>High bytes H, unit by unit: the 32 even-indexed elements then the 32 odd ones.</summary>
        public readonly sbyte[] High;

        /// <summary>Low bytes L, in the order of <see cref="High"/>.</summary>
        public readonly sbyte[] Low;

        /// <summary>Per group, <c>Σ q_g / α</c>: the bias term's weight before the final scaling by α.</summary>
        public readonly float[] GroupSums;

        /// <summary>The scale α of the integer query (0 for a zero query).</summary>
        public readonly float Alpha;

        public Query(ReadOnlySpan<float> q, int groupSize)
        {
            int dims = q.Length;
            High = new sbyte[dims];
            Low = new sbyte[dims];
            GroupSums = new float[dims / groupSize];
            float max = 0f;
            foreach (float v in q)
                max = Math.Max(max, Math.Abs(v));
            Alpha = max > 0f ? max / QueryRange : 0f;
            if (Alpha == 0f)
                return;
            float inverse = QueryRange / max;
            for (int i = 0; i < dims; i++)
            {
                int whole = Math.Clamp((int)MathF.Round(q[i] * inverse), -QueryRange, QueryRange);
                int high = (whole + 128) >> 8;
                int low = whole - 256 * high;
                int unit = i / Unit * Unit, j = i - unit;
                int slot = unit + (j & 1) * (Unit / 2) + (j >> 1);
                High[slot] = (sbyte)high;
                Low[slot] = (sbyte)low;
            }
            for (int g = 0; g < GroupSums.Length; g++)
            {
                double s = 0;
                for (int i = g * groupSize; i < (g + 1) * groupSize; i++)
                    s += q[i];
                GroupSums[g] = (float)(s / Alpha);
            }
        }
    }

    /// <summary>
    /// <c>dst[i] = query · ŵ[start + i]</c> for <paramref name="count"/> rows of <paramref name="table"/> (which
    /// <see cref="Supports"/>); the rows are not range-checked here.
    /// </summary>
    public static void Score(QuantizedTable table, Query query, int start, int count, Span<float> dst)
    {
        int dims = table.Dims, groups = table.GroupsPerRow, rowBytes = table.WordsPerRow * 4;
        fixed (uint* words = table.Weight)
        fixed (byte* scales = table.Scales)
        fixed (byte* biases = table.Biases)
        fixed (sbyte* high = query.High)
        fixed (sbyte* low = query.Low)
        fixed (float* sums = query.GroupSums)
        fixed (float* d = dst)
        {
            ScoreRows((byte*)words + (nint)start * rowBytes, (float*)scales + (nint)start * groups, (float*)biases + (nint)start * groups,
                rowBytes, groups, table.GroupSize, high, low, sums, query.Alpha, count, d);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScoreRows(byte* codes, float* scales, float* biases, int rowBytes, int groups, int groupSize,
        sbyte* high, sbyte* low, float* sums, float alpha, int count, float* dst)
    {
        int r = 0;
        var a = Vector256.Create(alpha);
        nint ahead = 4096; // bytes of codes prefetched ahead, so the read runs on across page boundaries
        for (; r <= count - 8; r += 8, codes += 8 * rowBytes, scales += 8 * groups, biases += 8 * groups)
        {
            // Prefetch never faults, so pointers past the table are harmless.
            for (int b = 0; b < 8 * rowBytes; b += 64)
                Sse.Prefetch0(codes + ahead + b);
            Sse.Prefetch0(scales + ahead / 4);
            Sse.Prefetch0(biases + ahead / 4);
            var f0 = Row(codes, scales, biases, groups, groupSize, high, low, sums);
            var f1 = Row(codes + rowBytes, scales + groups, biases + groups, groups, groupSize, high, low, sums);
            var f2 = Row(codes + 2 * rowBytes, scales + 2 * groups, biases + 2 * groups, groups, groupSize, high, low, sums);
            var f3 = Row(codes + 3 * rowBytes, scales + 3 * groups, biases + 3 * groups, groups, groupSize, high, low, sums);
            var f4 = Row(codes + 4 * rowBytes, scales + 4 * groups, biases + 4 * groups, groups, groupSize, high, low, sums);
            var f5 = Row(codes + 5 * rowBytes, scales + 5 * groups, biases + 5 * groups, groups, groupSize, high, low, sums);
            var f6 = Row(codes + 6 * rowBytes, scales + 6 * groups, biases + 6 * groups, groups, groupSize, high, low, sums);
            var f7 = Row(codes + 7 * rowBytes, scales + 7 * groups, biases + 7 * groups, groups, groupSize, high, low, sums);
            // Lane sums of the eight rows at once: pairs, quads, then the two 128-bit halves.
            var q0 = Avx.HorizontalAdd(Avx.HorizontalAdd(f0, f1), Avx.HorizontalAdd(f2, f3));
            var q1 = Avx.HorizontalAdd(Avx.HorizontalAdd(f4, f5), Avx.HorizontalAdd(f6, f7));
            var total = Avx.Permute2x128(q0, q1, 0x20) + Avx.Permute2x128(q0, q1, 0x31);
            (total * a).Store(dst + r);
        }
        for (; r < count; r++, codes += rowBytes, scales += groups, biases += groups)
            dst[r] = alpha * Vector256.Sum(Row(codes, scales, biases, groups, groupSize, high, low, sums));
    }

    /// <summary>One row's dot divided by α, spread over eight lanes (their sum is the value).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row(byte* codes, float* scales, float* biases, int groups, int groupSize,
        sbyte* high, sbyte* low, float* sums)
    {
        var mask = Vector256.Create((byte)15);
        var f = Vector256<float>.Zero;
        for (int g = 0; g < groups; g++)
        {
            Vector256<int> h = default, l = default;
            for (int end = (g + 1) * groupSize, i = g * groupSize; i < end; i += Unit)
            {
                var v = Vector256.Load(codes + i / 2);
                var even = v & mask;
                var odd = Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & mask;
                h = DotBytes(h, even, Vector256.Load(high + i));
                h = DotBytes(h, odd, Vector256.Load(high + i + Unit / 2));
                l = DotBytes(l, even, Vector256.Load(low + i));
                l = DotBytes(l, odd, Vector256.Load(low + i + Unit / 2));
            }
            var joined = Vector256.ConvertToSingle(Vector256.ShiftLeft(h, 8) + l);
            f = Vector256.FusedMultiplyAdd(joined, Vector256.Create(scales[g]), f);
            f = Vector256.FusedMultiplyAdd(Vector256.CreateScalar(sums[g]), Vector256.Create(biases[g]), f);
        }
        return f;
    }

    /// <summary><c>acc + Σ₄ codes · query</c> per 32-bit lane: unsigned codes (≤ 15) times signed query bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> DotBytes(Vector256<int> acc, Vector256<byte> codes, Vector256<sbyte> query)
    {
        if (AvxVnni.IsSupported)
            return AvxVnni.MultiplyWideningAndAdd(acc, codes, query);
        // Pairs of products (≤ 2 · 15 · 128, no saturation) then pairs of pairs.
        return acc + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(codes, query), Vector256.Create((short)1));
    }

    /// <summary>The plain reference: <c>Σ_i q_i ŵ_i</c> in double over the row dequantized as the table defines it.</summary>
    public static double DotReference(QuantizedTable table, int row, ReadOnlySpan<float> q)
    {
        var w = new float[table.Dims];
        table.DequantizeRowUnchecked(row, w);
        double s = 0;
        for (int i = 0; i < w.Length; i++)
            s += (double)w[i] * q[i];
        return s;
    }
}
