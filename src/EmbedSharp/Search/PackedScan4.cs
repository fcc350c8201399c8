using System.Diagnostics;
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
/// <para>The query is rounded once to integers. <b>Precise</b> queries (the scan that must return the exact top k of
/// the quantized rows) use 16 bits, <c>Q = round(q / α)</c> with <c>α = max|q| / 32512</c>, split into a high and a low
/// signed byte <c>Q = 256 H + L</c>, so each code meets two query bytes; the error is at most <c>α / 2</c> per element
/// (1.5·10⁻⁵ of the largest query element). <b>Fast</b> queries (the first pass of a scan whose candidates are
/// re-ranked on float32 rows) use one signed byte, <c>α = max|q| / 127</c>: half the integer products, and an error of at
/// most 0.4 % of the largest query element per element, which the re-rank absorbs.</para>
/// <para>An MLX row of <c>G</c> groups is <c>G</c> consecutive segments of <c>groupSize / 2</c> bytes, so a run of rows
/// is one run of segments, and segment <c>t</c> meets query group <c>t mod G</c>. Codes are read 64 at a time (32
/// bytes): one AND gives the even codes (low nibbles), one 16-bit shift and the same AND the odd ones, and the query
/// bytes are stored in that order (for each 64 dims: the 32 even elements, then the 32 odd ones), so each nibble
/// vector meets its query bytes in one <c>vpdpbusd</c> (AVX-VNNI: unsigned codes times signed query bytes, four
/// products summed into each 32-bit lane), or <c>vpmaddubsw</c> + <c>vpmaddwd</c> without VNNI (15 · 127 · 2 fits
/// 16 bits). Eight segments are scored side by side (eight independent accumulator chains), their lane vectors
/// summed across lanes together (a horizontal-add tree, eight integer dots in one vector), and then the affine
/// part is applied to the eight segments at once: converted to float, times the eight scales and plus the eight
/// biases times their groups' query sums, both read as one contiguous vector each. A row's value is the sum of its
/// segments (for two groups one more horizontal add).</para>
/// <para>Used where <see cref="Supports"/>: x86 with AVX2, float32 scales, biases, 64 | group size ≤ 1024.</para>
/// </remarks>
internal static unsafe class PackedScan4
{
    /// <summary>Dims of one unit: 64 codes in 32 bytes.</summary>
    private const int Unit = 64;

    /// <summary>Largest |Q| of a precise query: H stays in [−127, 127] after the split.</summary>
    private const int PreciseRange = 127 * 256;

    /// <summary>Largest |Q| of a fast (one-byte) query.</summary>
    private const int FastRange = 127;

    /// <summary>Segments scored side by side.</summary>
    private const int Lanes = 8;

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

    /// <summary>A query prepared for <see cref="Score"/>: its permuted integer bytes, its scale and group sums.</summary>
    internal sealed class Query
    {
        /// <summary>
        /// The query bytes, unit by unit (64 dims): fast, the 32 even-indexed elements then the 32 odd ones (64 bytes);
        /// precise, the same for the high bytes H and then for the low bytes L (128 bytes).
        /// </summary>
        public readonly sbyte[] Bytes;

        /// <summary>Per group, <c>Σ q_g / α</c>: the bias term's weight before the final scaling by α.</summary>
        public readonly float[] GroupSums;

        /// <summary>The scale α of the integer query (0 for a zero query).</summary>
        public readonly float Alpha;

        /// <summary>Whether this is a 16-bit (high and low byte) query rather than a one-byte one.</summary>
        public readonly bool Precise;

        /// <summary>The group size the query was prepared for.</summary>
        public readonly int GroupSize;

        public Query(ReadOnlySpan<float> q, int groupSize, bool precise = true)
        {
            int dims = q.Length;
            Precise = precise;
            GroupSize = groupSize;
            Bytes = new sbyte[precise ? 2 * dims : dims];
            GroupSums = new float[dims / groupSize];
            float max = 0f;
            foreach (float v in q)
                max = Math.Max(max, Math.Abs(v));
            int range = precise ? PreciseRange : FastRange;
            Alpha = max > 0f ? max / range : 0f;
            if (Alpha == 0f)
                return;
            float inverse = range / max;
            int unitBytes = precise ? 2 * Unit : Unit;
            for (int i = 0; i < dims; i++)
            {
                int whole = Math.Clamp((int)MathF.Round(q[i] * inverse), -range, range);
                int unit = i / Unit, j = i - unit * Unit;
                int slot = unit * unitBytes + (j & 1) * (Unit / 2) + (j >> 1);
                if (precise)
                {
                    int high = (whole + 128) >> 8;
                    Bytes[slot] = (sbyte)high;
                    Bytes[slot + Unit] = (sbyte)(whole - 256 * high);
                }
                else
                {
                    Bytes[slot] = (sbyte)whole;
                }
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
    /// <see cref="Supports"/>, with the query's group size); the rows are not range-checked here.
    /// </summary>
    public static void Score(QuantizedTable table, Query query, int start, int count, Span<float> dst)
    {
        Debug.Assert(query.GroupSize == table.GroupSize && query.GroupSums.Length == table.GroupsPerRow);
        int groups = table.GroupsPerRow, rowBytes = table.WordsPerRow * 4;
        // The bias term's weights in segment order over a block of eight rows: segment t of the block has group t mod G.
        float* pattern = stackalloc float[Lanes * groups];
        for (int t = 0, g = 0; t < Lanes * groups; t++, g = g + 1 == groups ? 0 : g + 1)
            pattern[t] = query.GroupSums[g];
        fixed (uint* words = table.Weight)
        fixed (byte* scales = table.Scales)
        fixed (byte* biases = table.Biases)
        fixed (sbyte* bytes = query.Bytes)
        fixed (float* d = dst)
        {
            var block = new Block((byte*)words + (nint)start * rowBytes, (float*)scales + (nint)start * groups,
                (float*)biases + (nint)start * groups, groups, table.GroupSize / Unit, bytes, pattern, query.Alpha);
            if (query.Precise)
                ScoreRows<PreciseBytes>(block, count, d);
            else
                ScoreRows<FastBytes>(block, count, d);
        }
    }

    /// <summary>The pointers and sizes a scan over a run of rows works with.</summary>
    private readonly struct Block(byte* codes, float* scales, float* biases, int groups, int units, sbyte* query, float* pattern, float alpha)
    {
        public readonly byte* Codes = codes;
        public readonly float* Scales = scales;
        public readonly float* Biases = biases;
        public readonly int Groups = groups;
        public readonly int Units = units;
        public readonly sbyte* Query = query;
        public readonly float* Pattern = pattern;
        public readonly float Alpha = alpha;
    }

    /// <summary>One segment's integer dot with its query group, spread over eight 32-bit lanes.</summary>
    private interface ISegmentDot
    {
        /// <summary>Bytes of query per unit of 64 dims.</summary>
        static abstract int UnitBytes { get; }

        static abstract Vector256<int> Dot(byte* codes, sbyte* query, int units);
    }

    /// <summary>One-byte query: two byte dots per 64 codes.</summary>
    private readonly struct FastBytes : ISegmentDot
    {
        public static int UnitBytes => Unit;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Dot(byte* codes, sbyte* query, int units)
        {
            var mask = Vector256.Create((byte)15);
            var acc = Vector256<int>.Zero;
            for (int u = 0; u < units; u++, codes += Unit / 2, query += Unit)
                acc = Step(acc, codes, query, mask);
            return acc;
        }

        /// <summary><c>acc</c> plus 64 codes (32 bytes at <paramref name="codes"/>) times their 64 query bytes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Step(Vector256<int> acc, byte* codes, sbyte* query, Vector256<byte> mask)
        {
            var v = Vector256.Load(codes);
            var even = v & mask;
            var odd = Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & mask;
            if (AvxVnni.IsSupported)
            {
                acc = AvxVnni.MultiplyWideningAndAdd(acc, even, Vector256.Load(query));
                return AvxVnni.MultiplyWideningAndAdd(acc, odd, Vector256.Load(query + Unit / 2));
            }
            // Two products a 16-bit lane, two such pairs summed: |.| ≤ 4 · 15 · 127, no saturation.
            var pairs = Avx2.MultiplyAddAdjacent(even, Vector256.Load(query)) + Avx2.MultiplyAddAdjacent(odd, Vector256.Load(query + Unit / 2));
            return acc + Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)1));
        }
    }

    /// <summary>Two-byte query (<c>256 H + L</c>): four byte dots per 64 codes, joined once per segment.</summary>
    private readonly struct PreciseBytes : ISegmentDot
    {
        public static int UnitBytes => 2 * Unit;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Dot(byte* codes, sbyte* query, int units)
        {
            var mask = Vector256.Create((byte)15);
            Vector256<int> h = default, l = default;
            for (int u = 0; u < units; u++, codes += Unit / 2, query += 2 * Unit)
            {
                var v = Vector256.Load(codes);
                var even = v & mask;
                var odd = Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & mask;
                h = DotBytes(h, even, Vector256.Load(query));
                h = DotBytes(h, odd, Vector256.Load(query + Unit / 2));
                l = DotBytes(l, even, Vector256.Load(query + Unit));
                l = DotBytes(l, odd, Vector256.Load(query + Unit + Unit / 2));
            }
            return Vector256.ShiftLeft(h, 8) + l;
        }
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScoreRows<TDot>(Block b, int count, float* dst) where TDot : struct, ISegmentDot
    {
        int groups = b.Groups, units = b.Units;
        int segmentBytes = units * (Unit / 2), queryGroupBytes = units * TDot.UnitBytes;
        int blockSegments = Lanes * groups;
        byte* codes = b.Codes;
        float* scales = b.Scales, biases = b.Biases;
        var alpha = Vector256.Create(b.Alpha);
        // Query pointer of each segment position in a block (segment t meets group t mod G).
        sbyte** queries = stackalloc sbyte*[blockSegments];
        for (int t = 0, g = 0; t < blockSegments; t++, g = g + 1 == groups ? 0 : g + 1)
            queries[t] = b.Query + g * queryGroupBytes;
        // Segment values of one block of eight rows (used when rows have more than two groups).
        float* values = stackalloc float[blockSegments];
        nint ahead = 4096; // bytes of codes prefetched ahead, so the read runs on across page boundaries
        int r = 0;
        for (; r <= count - Lanes; r += Lanes)
        {
            // Prefetch never faults, so pointers past the table are harmless.
            // A block's codes are 8 · rowBytes, a multiple of 256 bytes: four cache lines a step.
            for (byte* p = codes + ahead, pEnd = p + blockSegments * segmentBytes; p < pEnd; p += 256)
            {
                Sse.Prefetch0(p);
                Sse.Prefetch0(p + 64);
                Sse.Prefetch0(p + 128);
                Sse.Prefetch0(p + 192);
            }
            Sse.Prefetch0(scales + ahead / 4);
            Sse.Prefetch0(biases + ahead / 4);
            Vector256<float> first = default;
            for (int c = 0; c < groups; c++)
            {
                // Segments c·8 … c·8 + 7 of the block.
                sbyte** q = queries + c * Lanes;
                Vector256<int> a0, a1, a2, a3, a4, a5, a6, a7;
                if (typeof(TDot) == typeof(FastBytes) && groups <= 2)
                {
                    // One loop over the units for all eight segments (eight independent chains); even segments meet
                    // group 0's query bytes and odd ones group 1's (or group 0's again for one group).
                    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = default;
                    var mask = Vector256.Create((byte)15);
                    sbyte* qa = q[0], qb = q[1];
                    nint s = segmentBytes;
                    byte* c0 = codes, c4 = codes + 4 * s;
                    for (int u = 0; u < units; u++, c0 += Unit / 2, c4 += Unit / 2, qa += Unit, qb += Unit)
                    {
                        a0 = FastBytes.Step(a0, c0, qa, mask);
                        a1 = FastBytes.Step(a1, c0 + s, qb, mask);
                        a2 = FastBytes.Step(a2, c0 + 2 * s, qa, mask);
                        a3 = FastBytes.Step(a3, c4 - s, qb, mask);
                        a4 = FastBytes.Step(a4, c4, qa, mask);
                        a5 = FastBytes.Step(a5, c4 + s, qb, mask);
                        a6 = FastBytes.Step(a6, c4 + 2 * s, qa, mask);
                        a7 = FastBytes.Step(a7, c0 + 8 * s - s, qb, mask);
                    }
                }
                else
                {
                    a0 = TDot.Dot(codes, q[0], units);
                    a1 = TDot.Dot(codes + segmentBytes, q[1], units);
                    a2 = TDot.Dot(codes + 2 * segmentBytes, q[2], units);
                    a3 = TDot.Dot(codes + 3 * segmentBytes, q[3], units);
                    a4 = TDot.Dot(codes + 4 * segmentBytes, q[4], units);
                    a5 = TDot.Dot(codes + 5 * segmentBytes, q[5], units);
                    a6 = TDot.Dot(codes + 6 * segmentBytes, q[6], units);
                    a7 = TDot.Dot(codes + 7 * segmentBytes, q[7], units);
                }
                codes += Lanes * segmentBytes;
                // Lane sums of the eight segments at once: pairs, quads, then the two 128-bit halves.
                var h0 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(a0, a1), Avx2.HorizontalAdd(a2, a3));
                var h1 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(a4, a5), Avx2.HorizontalAdd(a6, a7));
                var dots = Avx2.Permute2x128(h0, h1, 0x20) + Avx2.Permute2x128(h0, h1, 0x31);
                var v = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dots), Vector256.Load(scales), Vector256.Load(biases) * Vector256.Load(b.Pattern + c * Lanes));
                scales += Lanes;
                biases += Lanes;
                if (groups == 1)
                {
                    (v * alpha).Store(dst + r);
                }
                else if (groups == 2)
                {
                    if (c == 0)
                    {
                        first = v;
                    }
                    else
                    {
                        // [r0 r1 r4 r5 | r2 r3 r6 r7] → rows in order.
                        var rows = Avx.HorizontalAdd(first, v);
                        (Avx2.Permute4x64(rows.AsDouble(), 0b11_01_10_00).AsSingle() * alpha).Store(dst + r);
                    }
                }
                else
                {
                    v.Store(values + c * Lanes);
                }
            }
            if (groups > 2)
            {
                for (int j = 0; j < Lanes; j++)
                {
                    float s = 0f;
                    for (int g = 0; g < groups; g++)
                        s += values[j * groups + g];
                    dst[r + j] = b.Alpha * s;
                }
            }
        }
        for (; r < count; r++)
        {
            float s = 0f;
            for (int g = 0; g < groups; g++, codes += segmentBytes)
            {
                int dot = Vector256.Sum(TDot.Dot(codes, b.Query + g * queryGroupBytes, units));
                s += dot * scales[g] + biases[g] * b.Pattern[g];
            }
            scales += groups;
            biases += groups;
            dst[r] = b.Alpha * s;
        }
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
