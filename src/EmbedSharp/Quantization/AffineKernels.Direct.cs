using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EmbedSharp.Numerics;

namespace EmbedSharp.Quantization;

/// <summary>
/// The x86 row kernels: codes are zero-extended straight from memory into 32-bit lanes (<c>vpmovzxbd</c>)
/// instead of being widened step by step, and bags are summed in registers.
/// </summary>
/// <remarks>
/// <para>A <em>unit</em> is the codes one zero-extension covers per vector pair: 32 codes with AVX-512
/// (16 lanes), 16 with AVX2 (8 lanes). For 8-bit codes the pair is codes [0, L) and [L, 2L) of the unit.
/// For 4-bit codes byte j holds codes 2j (low nibble) and 2j+1 (high nibble), so the pair is the even
/// codes and the odd codes — the <em>kernel order</em>. Every operation on a pair is element-wise, so
/// values are bit for bit those of the in-order loop; a gather interleaves each pair back into order
/// before storing it (two permutes), and a bag keeps its running sums in kernel order and interleaves
/// them once at the end of the bag.</para>
/// <para>Bags are summed a chunk of four units at a time (128 dims with AVX-512, 64 with AVX2): eight
/// accumulators stay in registers while every row of the bag is added, then the chunk is stored. Each
/// value added is <c>q·s + b</c> rounded as <see cref="DequantizeRow{TBits}"/> rounds it, and rows are
/// added in position order starting from +0, so a bag equals "dequantize each row and add it".</para>
/// <para>4-bit bags with AVX-512 look their codes up instead: each group of a row is dequantized once into
/// the 16 values its codes can take, and <c>vpermps</c> picks them (the index's low 4 bits are the low nibble
/// as loaded; the high nibble takes one shift). That replaces the mask, two converts and two multiply-adds
/// per 32 codes by two lookups, and the table holds the very values the arithmetic gives.</para>
/// </remarks>
internal static unsafe partial class AffineKernels
{
    /// <summary>
    /// Whether the direct kernels run here (x86 with AVX2; AVX-512 when Vector512 is accelerated): the row loops,
    /// <see cref="SumRows{TBits}"/> and <see cref="DotRowDirect{TBits}"/>.
    /// </summary>
    public static bool Direct => Avx2.IsSupported && Vector256.IsHardwareAccelerated;

    private static bool Wide => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    /// <summary>One 32-code unit as two vectors of codes in kernel order (AVX-512).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Unit512<TBits>(byte* p, out Vector512<float> a, out Vector512<float> b) where TBits : struct, IBitWidth
    {
        if (TBits.Bits == 8)
        {
            a = Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Load(p)));
            b = Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Load(p + 16)));
            return;
        }
        Vector512<int> v = Avx512F.ConvertToVector512Int32(Vector128.Load(p));
        a = Vector512.ConvertToSingle(v & Vector512.Create(15));
        b = Vector512.ConvertToSingle(Vector512.ShiftRightLogical(v, 4));
    }

    /// <summary>One 16-code unit as two vectors of codes in kernel order (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Unit256<TBits>(byte* p, out Vector256<float> a, out Vector256<float> b) where TBits : struct, IBitWidth
    {
        if (TBits.Bits == 8)
        {
            a = Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(p));
            b = Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(p + 8));
            return;
        }
        Vector256<int> v = Avx2.ConvertToVector256Int32(p);
        a = Vector256.ConvertToSingle(v & Vector256.Create(15));
        b = Vector256.ConvertToSingle(Vector256.ShiftRightLogical(v, 4));
    }

    /// <summary>A kernel-order pair back in code order: the first and second 16 values of the unit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InOrder512<TBits>(Vector512<float> a, Vector512<float> b, out Vector512<float> first, out Vector512<float> second)
        where TBits : struct, IBitWidth
    {
        if (TBits.Bits == 8)
        {
            first = a;
            second = b;
            return;
        }
        first = Avx512F.PermuteVar16x32x2(a, Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b);
        second = Avx512F.PermuteVar16x32x2(a, Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), b);
    }

    /// <summary>A kernel-order pair back in code order: the first and second 8 values of the unit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InOrder256<TBits>(Vector256<float> a, Vector256<float> b, out Vector256<float> first, out Vector256<float> second)
        where TBits : struct, IBitWidth
    {
        if (TBits.Bits == 8)
        {
            first = a;
            second = b;
            return;
        }
        Vector256<float> low = Avx.UnpackLow(a, b), high = Avx.UnpackHigh(a, b); // a0 b0 a1 b1 | a4 b4 a5 b5 and a2 b2 a3 b3 | a6 b6 a7 b7
        first = Avx.Permute2x128(low, high, 0x20);
        second = Avx.Permute2x128(low, high, 0x31);
    }

    /// <summary>The direct form of <see cref="Row{TBits, TSink, TRound}"/> (requires <see cref="Direct"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowDirect<TBits, TSink, TRound>(byte* codes, float* scales, float* biases, int groupSize, float* dst, int dims)
        where TBits : struct, IBitWidth
        where TSink : struct, IRowSink
        where TRound : struct, IRounding
    {
        if (Wide)
        {
            int unitBytes = 32 * TBits.Bits / 8;
            for (int g = 0, i = 0; i < dims; g++)
            {
                var sv = Vector512.Create(scales[g]);
                var bv = Vector512.Create(biases[g]);
                for (int end = i + groupSize; i < end; i += 32, codes += unitBytes)
                {
                    Unit512<TBits>(codes, out var a, out var b);
                    InOrder512<TBits>(TRound.Apply(a, sv, bv), TRound.Apply(b, sv, bv), out var first, out var second);
                    TSink.Put(first, dst + i);
                    TSink.Put(second, dst + i + 16);
                }
            }
            return;
        }
        int unitBytes256 = 16 * TBits.Bits / 8;
        for (int g = 0, i = 0; i < dims; g++)
        {
            var sv = Vector256.Create(scales[g]);
            var bv = Vector256.Create(biases[g]);
            for (int end = i + groupSize; i < end; i += 16, codes += unitBytes256)
            {
                Unit256<TBits>(codes, out var a, out var b);
                InOrder256<TBits>(TRound.Apply(a, sv, bv), TRound.Apply(b, sv, bv), out var first, out var second);
                TSink.Put(first, dst + i);
                TSink.Put(second, dst + i + 8);
            }
        }
    }

    /// <summary>
    /// <c>dst[0, dims) = Σ_k ŵ[ids[k]]</c> over <paramref name="count"/> ids, added in position order from +0 with each
    /// <c>ŵ</c> rounded as <see cref="DequantizeRow{TBits}"/> rounds it (bit for bit <see cref="AccumulateRow{TBits}"/>
    /// applied row after row to a zeroed <paramref name="dst"/>). Requires <see cref="Direct"/>.
    /// </summary>
    /// <param name="rows">Where the rows are (MLX's three arrays or fused records: only the strides differ).</param>
    /// <param name="fused">Dequantize with one rounding (fused multiply-add) instead of two.</param>
    /// <param name="ids">The bag's row ids; <c>ids[count, prefetchLimit)</c> (later bags) are read only to prefetch.</param>
    /// <param name="count">Ids in the bag.</param>
    /// <param name="prefetchLimit">Ids readable from <paramref name="ids"/> (at least <paramref name="count"/>).</param>
    /// <param name="prefetchDistance">Ids ahead whose rows are prefetched (0: none).</param>
    /// <param name="dst">The bag's output row (<paramref name="dims"/> floats), overwritten.</param>
    /// <param name="dims">Dequantized row length, a multiple of the group size.</param>
    /// <param name="weights">Null, or the bag's per-sample weights (<paramref name="count"/>): then each row is added as
    /// <c>w·ŵ</c>, rounded once (<c>o + w·ŵ</c>, as the generic pool's multiply-then-add; a weight of 1 adds ŵ itself).</param>
    /// <param name="max">Keep the element-wise maximum of the rows instead of their sum (no weights; an empty bag gives zeros).</param>
    public static void SumRows<TBits>(in PackedRows rows, bool fused, int* ids, int count, int prefetchLimit, int prefetchDistance, float* dst, int dims,
        float* weights = null, bool max = false)
        where TBits : struct, IBitWidth
    {
        var bag = new BagIds(ids, count, prefetchLimit, prefetchDistance, weights);
        if (max)
        {
            if (count == 0)
                new Span<float>(dst, dims).Clear(); // an empty bag's maximum is 0, as the generic pool's
            else
                SumRows<TBits, Maximum>(rows, fused, bag, dst, dims);
        }
        else if (weights == null)
            SumRows<TBits, Unweighted>(rows, fused, bag, dst, dims);
        else
            SumRows<TBits, PerSampleWeighted>(rows, fused, bag, dst, dims);
    }

    private static void SumRows<TBits, TWeight>(in PackedRows rows, bool fused, in BagIds bag, float* dst, int dims)
        where TBits : struct, IBitWidth
        where TWeight : struct, IBagWeight
    {
        if (Wide && TBits.Bits == 4)
        {
            if (fused)
                SumRows512<Bits4, TWeight, ByTable<OneRounding, TWeight>>(rows, bag, dst, dims);
            else
                SumRows512<Bits4, TWeight, ByTable<TwoRoundings, TWeight>>(rows, bag, dst, dims);
        }
        else if (Wide)
        {
            if (fused)
                SumRows512<TBits, TWeight, ByArithmetic<TBits, OneRounding, TWeight>>(rows, bag, dst, dims);
            else
                SumRows512<TBits, TWeight, ByArithmetic<TBits, TwoRoundings, TWeight>>(rows, bag, dst, dims);
        }
        else if (fused)
        {
            SumRows256<TBits, OneRounding, TWeight>(rows, bag, dst, dims);
        }
        else
        {
            SumRows256<TBits, TwoRoundings, TWeight>(rows, bag, dst, dims);
        }
    }

    /// <summary>
    /// How a bag's rows join its result (chosen once per bag): added as they are, added each times its per-sample
    /// weight, or kept as the element-wise maximum (IEEE 754-2019 <c>maximum</c>, as <c>TensorPrimitives.Max</c>:
    /// NaN wins, +0 above −0; the sums start at −∞, which the first row replaces exactly).
    /// </summary>
    private interface IBagWeight
    {
        static abstract bool Weighted { get; }

        static abstract bool Max { get; }
    }

    private readonly struct Unweighted : IBagWeight
    {
        public static bool Weighted => false;

        public static bool Max => false;
    }

    private readonly struct PerSampleWeighted : IBagWeight
    {
        public static bool Weighted => true;

        public static bool Max => false;
    }

    private readonly struct Maximum : IBagWeight
    {
        public static bool Weighted => false;

        public static bool Max => true;
    }

    /// <summary>
    /// The gather over packed rows (requires <see cref="Direct"/>): <c>destination[i] = ŵ[ids[i]]</c> for <paramref name="count"/>
    /// ids, through the shared gather loops (<see cref="Kernels.GatherRows{TRows}"/>, or <see cref="Kernels.GatherStreaming{TRows}"/>
    /// when <paramref name="streamingScratch"/> is given: 2·dims floats) over a row source whose bit width and rounding
    /// are type parameters, so the row kernel inlines into the loop with nothing chosen per row.
    /// </summary>
    /// <remarks>
    /// Through <c>QuantizedTable.RowReader</c> the loop called the kernel once per row, and the reader chose the width,
    /// the rounding and the SIMD path on each call; the gather before the row-source seam had the kernel inline
    /// (issue 17 measured the seam's 4-bit gather 5–25 % slower). Same kernel, same bits.
    /// </remarks>
    public static void GatherRows<TBits>(in PackedRows rows, bool fused, int dims, int* ids, int count, float* destination, int prefetchDistance,
        float* streamingScratch = null)
        where TBits : struct, IBitWidth
    {
        if (fused)
            GatherRows<TBits, OneRounding>(rows, dims, ids, count, destination, prefetchDistance, streamingScratch);
        else
            GatherRows<TBits, TwoRoundings>(rows, dims, ids, count, destination, prefetchDistance, streamingScratch);
    }

    private static void GatherRows<TBits, TRound>(in PackedRows rows, int dims, int* ids, int count, float* destination, int prefetchDistance,
        float* streamingScratch)
        where TBits : struct, IBitWidth
        where TRound : struct, IRounding
    {
        var source = new DirectRows<TBits, TRound>(rows, dims);
        if (streamingScratch != null)
            Kernels.GatherStreaming(ref source, ids, count, destination, dims, streamingScratch, prefetchDistance);
        else
            Kernels.GatherRows(ref source, ids, count, destination, 1f, prefetchDistance);
    }

    /// <summary>Packed rows as a row source for one bit width and rounding: each row dequantized by <see cref="RowDirect{TBits, TSink, TRound}"/>.</summary>
    private readonly struct DirectRows<TBits, TRound>(in PackedRows rows, int dims) : IRowSource
        where TBits : struct, IBitWidth
        where TRound : struct, IRounding
    {
        private readonly byte* _words = rows.Words;
        private readonly float* _scales = rows.Scales, _biases = rows.Biases;
        private readonly nint _rowStride = rows.RowStride, _scaleStride = rows.ScaleStride, _codePrefetch = rows.CodePrefetchBytes,
            _recordPrefetch = PrefetchBytes(rows.RowStride);
        private readonly int _groupSize = rows.GroupSize, _dims = dims;

        public int Dims => _dims;

        public static bool Prefetches => Sse.IsSupported;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float* Row(int row, float* scratch)
        {
            nint r = row;
            RowDirect<TBits, StoreSink, TRound>(_words + r * _rowStride, _scales + r * _scaleStride, _biases + r * _scaleStride, _groupSize, scratch, _dims);
            return scratch;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(int row) => PackedRows.Prefetch(_words, _rowStride, _scales, _biases, _scaleStride, _codePrefetch, _recordPrefetch, row);
    }

    /// <summary>Bytes of a packed row's codes to prefetch: at most 2 KiB, the hardware streams the rest.</summary>
    internal static nint PrefetchBytes(nint rowBytes) => Math.Min(rowBytes, Kernels.RowPrefetchLines * 64);

    /// <summary>
    /// Starts loading one packed row: the first <paramref name="prefetchBytes"/> of its codes (see
    /// <see cref="PrefetchBytes"/>; loops compute it once), its scales and, when there are any, its biases.
    /// A no-op without x86 prefetch instructions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void PrefetchPackedRow(byte* codes, nint prefetchBytes, void* scales, void* biases)
    {
        if (!Sse.IsSupported)
            return;
        Kernels.PrefetchRow(codes, prefetchBytes);
        Sse.Prefetch0(scales);
        if (biases != null)
            Sse.Prefetch0(biases);
    }

    /// <summary>
    /// Where the packed rows of a table are: row r's codes at <c>Words + r·RowStride</c>, its scales and biases at
    /// <c>Scales/Biases + r·ScaleStride</c> (floats). MLX's three arrays: the strides are a packed row and a row of
    /// scales. Fused records: both strides are the record, and scales and biases point into the first record.
    /// </summary>
    /// <param name="words">Packed codes of row 0.</param>
    /// <param name="rowStride">Bytes from one row's codes to the next's.</param>
    /// <param name="scales">Scales of row 0.</param>
    /// <param name="biases">Biases of row 0.</param>
    /// <param name="scaleStride">Floats from one row's scales (and biases) to the next's.</param>
    /// <param name="groupSize">Codes per group: a power of two, at least 32.</param>
    /// <param name="codePrefetchBytes">MLX arrays: bytes of a row's codes to prefetch, and its scale and bias lines
    /// are prefetched too. 0 for fused records, whose lines (<see cref="PrefetchBytes"/> of the record) hold all three.</param>
    internal readonly struct PackedRows(byte* words, nint rowStride, float* scales, float* biases, nint scaleStride, int groupSize, nint codePrefetchBytes)
    {
        public readonly byte* Words = words;
        public readonly nint RowStride = rowStride;
        public readonly float* Scales = scales;
        public readonly float* Biases = biases;
        public readonly nint ScaleStride = scaleStride;
        public readonly int GroupSize = groupSize;
        public readonly nint CodePrefetchBytes = codePrefetchBytes;

        /// <summary>Starts loading what row <paramref name="row"/> needs: its record, or its codes, scales and biases.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Prefetch(byte* words, nint rowStride, float* scales, float* biases, nint scaleStride, nint codePrefetchBytes, nint recordPrefetchBytes, nint row)
        {
            if (codePrefetchBytes == 0)
                Kernels.PrefetchRow(words + row * rowStride, recordPrefetchBytes);
            else
                PrefetchPackedRow(words + row * rowStride, codePrefetchBytes, scales + row * scaleStride, biases + row * scaleStride);
        }
    }

    /// <summary>One bag's ids (and weights, or null), and how far past them rows may be prefetched.</summary>
    private readonly struct BagIds(int* ids, int count, int prefetchLimit, int prefetchDistance, float* weights)
    {
        public readonly int* Ids = ids;
        public readonly float* Weights = weights;
        public readonly int Count = count;
        public readonly int PrefetchLimit = prefetchLimit;
        public readonly int PrefetchDistance = prefetchDistance;
    }

    /// <summary>Adds unit <c>p</c> of one row, dequantized with scale <paramref name="s"/> and bias <paramref name="b"/> (times <paramref name="w"/> when weighted), to a pair of sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddUnit<TBits, TRound, TWeight>(byte* p, float s, float b, Vector512<float> w, ref Vector512<float> sumA, ref Vector512<float> sumB)
        where TBits : struct, IBitWidth
        where TRound : struct, IRounding
        where TWeight : struct, IBagWeight
    {
        Unit512<TBits>(p, out var qa, out var qb);
        var sv = Vector512.Create(s);
        var bv = Vector512.Create(b);
        if (TWeight.Max)
        {
            sumA = Vector512.Max(sumA, TRound.Apply(qa, sv, bv));
            sumB = Vector512.Max(sumB, TRound.Apply(qb, sv, bv));
            return;
        }
        if (TWeight.Weighted)
        {
            sumA += TRound.Apply(qa, sv, bv) * w;
            sumB += TRound.Apply(qb, sv, bv) * w;
            return;
        }
        sumA += TRound.Apply(qa, sv, bv);
        sumB += TRound.Apply(qb, sv, bv);
    }

    /// <summary>
    /// As <see cref="AddUnit{TBits, TRound, TWeight}(byte*, float, float, Vector512{float}, ref Vector512{float}, ref Vector512{float})"/>
    /// for a 16-code AVX2 unit, with the group's scale and bias already broadcast (<paramref name="sv"/>, <paramref name="bv"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddUnit<TBits, TRound, TWeight>(byte* p, Vector256<float> sv, Vector256<float> bv, Vector256<float> w, ref Vector256<float> sumA, ref Vector256<float> sumB)
        where TBits : struct, IBitWidth
        where TRound : struct, IRounding
        where TWeight : struct, IBagWeight
    {
        Unit256<TBits>(p, out var qa, out var qb);
        if (TWeight.Max)
        {
            sumA = Vector256.Max(sumA, TRound.Apply(qa, sv, bv));
            sumB = Vector256.Max(sumB, TRound.Apply(qb, sv, bv));
            return;
        }
        if (TWeight.Weighted)
        {
            sumA += TRound.Apply(qa, sv, bv) * w;
            sumB += TRound.Apply(qb, sv, bv) * w;
            return;
        }
        if (typeof(TRound) == typeof(TwoRoundings) && Fma.IsSupported)
        {
            // Port balance (Zen 3/4: two multiply-add pipes, two add pipes, and the conversions share the add pipes):
            // per 8 codes this is convert + add on the add pipes and multiply + multiply-add on the others, instead
            // of three on the add pipes. fma(v, 1, sum) rounds v + sum once, exactly as the add does: same bits.
            var one = Vector256.Create(1f);
            sumA = Fma.MultiplyAdd(TRound.Apply(qa, sv, bv), one, sumA);
            sumB = Fma.MultiplyAdd(TRound.Apply(qb, sv, bv), one, sumB);
            return;
        }
        sumA += TRound.Apply(qa, sv, bv);
        sumB += TRound.Apply(qb, sv, bv);
    }

    /// <summary>
    /// How <see cref="SumRows512{TBits, TWeight, TRow}"/> adds one row's part of a chunk (1 to 4 units) to its eight sums:
    /// <c>s</c> and <c>o</c> are the scales and biases of the chunk's first group, and unit
    /// u reads group <c>g_u</c> (<c>g1 = 1 &gt;&gt; shift</c> and so on; 0 when units share a group).
    /// </summary>
    private interface IRowAdder512
    {
        static abstract void Add(byte* p, float* s, float* o, float w, int units, int g1, int g2, int g3,
            ref Vector512<float> a0, ref Vector512<float> b0, ref Vector512<float> a1, ref Vector512<float> b1,
            ref Vector512<float> a2, ref Vector512<float> b2, ref Vector512<float> a3, ref Vector512<float> b3);
    }

    /// <summary>Each code converted, scaled and shifted (<see cref="AddUnit{TBits, TRound, TWeight}(byte*, float, float, Vector512{float}, ref Vector512{float}, ref Vector512{float})"/>).</summary>
    private readonly struct ByArithmetic<TBits, TRound, TWeight> : IRowAdder512
        where TBits : struct, IBitWidth
        where TRound : struct, IRounding
        where TWeight : struct, IBagWeight
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Add(byte* p, float* s, float* o, float weight, int units, int g1, int g2, int g3,
            ref Vector512<float> a0, ref Vector512<float> b0, ref Vector512<float> a1, ref Vector512<float> b1,
            ref Vector512<float> a2, ref Vector512<float> b2, ref Vector512<float> a3, ref Vector512<float> b3)
        {
            int unitBytes = 32 * TBits.Bits / 8;
            var w = Vector512.Create(weight);
            AddUnit<TBits, TRound, TWeight>(p, s[0], o[0], w, ref a0, ref b0);
            if (units == 4)
            {
                AddUnit<TBits, TRound, TWeight>(p + unitBytes, s[g1], o[g1], w, ref a1, ref b1);
                AddUnit<TBits, TRound, TWeight>(p + 2 * unitBytes, s[g2], o[g2], w, ref a2, ref b2);
                AddUnit<TBits, TRound, TWeight>(p + 3 * unitBytes, s[g3], o[g3], w, ref a3, ref b3);
            }
            else if (units > 1)
            {
                AddUnit<TBits, TRound, TWeight>(p + unitBytes, s[g1], o[g1], w, ref a1, ref b1);
                if (units > 2)
                    AddUnit<TBits, TRound, TWeight>(p + 2 * unitBytes, s[g2], o[g2], w, ref a2, ref b2);
            }
        }
    }

    /// <summary>
    /// 4-bit only: each group of the row is dequantized once into a 16-entry table (<see cref="GroupTable{TRound, TWeight}"/>)
    /// and its codes are looked up (<see cref="AddUnitByTable"/>). The table holds exactly the values the per-code
    /// arithmetic gives, so the sums are the same bits as <see cref="ByArithmetic{TBits, TRound, TWeight}"/>'s.
    /// </summary>
    private readonly struct ByTable<TRound, TWeight> : IRowAdder512
        where TRound : struct, IRounding
        where TWeight : struct, IBagWeight
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Add(byte* p, float* s, float* o, float w, int units, int g1, int g2, int g3,
            ref Vector512<float> a0, ref Vector512<float> b0, ref Vector512<float> a1, ref Vector512<float> b1,
            ref Vector512<float> a2, ref Vector512<float> b2, ref Vector512<float> a3, ref Vector512<float> b3)
        {
            const int UnitBytes = 16;
            bool ownGroups = g1 != 0; // groups of 32 codes: every unit has its own table
            var t0 = GroupTable<TRound, TWeight>(s[0], o[0], w);
            if (units == 4)
            {
                var t2 = GroupTable<TRound, TWeight>(s[g2], o[g2], w);
                Vector512<float> t1 = t0, t3 = t2;
                if (ownGroups)
                {
                    t1 = GroupTable<TRound, TWeight>(s[g1], o[g1], w);
                    t3 = GroupTable<TRound, TWeight>(s[g3], o[g3], w);
                }
                AddUnitByTable<TWeight>(p, t0, ref a0, ref b0);
                AddUnitByTable<TWeight>(p + UnitBytes, t1, ref a1, ref b1);
                AddUnitByTable<TWeight>(p + 2 * UnitBytes, t2, ref a2, ref b2);
                AddUnitByTable<TWeight>(p + 3 * UnitBytes, t3, ref a3, ref b3);
                return;
            }
            AddUnitByTable<TWeight>(p, t0, ref a0, ref b0);
            if (units > 1)
                AddUnitByTable<TWeight>(p + UnitBytes, ownGroups ? GroupTable<TRound, TWeight>(s[g1], o[g1], w) : t0, ref a1, ref b1);
            if (units > 2)
                AddUnitByTable<TWeight>(p + 2 * UnitBytes, GroupTable<TRound, TWeight>(s[g2], o[g2], w), ref a2, ref b2);
        }
    }

    /// <summary>
    /// The 16 values a 4-bit group dequantizes to: <c>q·s + b</c> for q = 0…15, rounded as each code is; weighted,
    /// each times <paramref name="w"/> (rounded once: the product the arithmetic path adds, looked up instead).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> GroupTable<TRound, TWeight>(float s, float b, float w)
        where TRound : struct, IRounding
        where TWeight : struct, IBagWeight
    {
        var values = TRound.Apply(Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create(s), Vector512.Create(b));
        return TWeight.Weighted ? values * Vector512.Create(w) : values;
    }

    /// <summary>Adds one 32-code 4-bit unit, looked up in its group's table, to a pair of sums (kernel order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddUnitByTable<TWeight>(byte* p, Vector512<float> table, ref Vector512<float> sumA, ref Vector512<float> sumB)
        where TWeight : struct, IBagWeight
    {
        Vector512<int> v = Avx512F.ConvertToVector512Int32(Vector128.Load(p));
        if (TWeight.Max)
        {
            sumA = Vector512.Max(sumA, Avx512F.PermuteVar16x32(table, v));
            sumB = Vector512.Max(sumB, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(v, 4)));
            return;
        }
        // vpermps reads only the low 4 bits of each index: the low nibble needs no mask.
        sumA += Avx512F.PermuteVar16x32(table, v);
        sumB += Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(v, 4));
    }

    /// <summary>
    /// AVX-512: chunks of 128 codes (four 32-code units, eight accumulators), each row's part added by
    /// <typeparamref name="TRow"/>; the chunk's sums are interleaved back into code order and stored once per bag.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumRows512<TBits, TWeight, TRow>(in PackedRows rows, in BagIds bag, float* dst, int dims)
        where TBits : struct, IBitWidth
        where TWeight : struct, IBagWeight
        where TRow : struct, IRowAdder512
    {
        const int UnitCodes = 32;
        int shift = System.Numerics.BitOperations.Log2((uint)(rows.GroupSize / UnitCodes)); // unit u reads group u >> shift
        int g1 = 1 >> shift, g2 = 2 >> shift, g3 = 3 >> shift;
        // Everything the loop reads, in locals (fields of an `in` struct are reloaded from memory on every use).
        int* ids = bag.Ids;
        float* weights = bag.Weights;
        int count = bag.Count, distance = bag.PrefetchDistance, groupSize = rows.GroupSize;
        byte* words = rows.Words;
        nint rowBytes = rows.RowStride, scaleStride = rows.ScaleStride, codePrefetch = rows.CodePrefetchBytes, recordPrefetch = PrefetchBytes(rowBytes);
        float* scales = rows.Scales, biases = rows.Biases;
        for (int c = 0; c < dims; c += 4 * UnitCodes)
        {
            int units = Math.Min(4, (dims - c) / UnitCodes);
            int firstGroup = c / groupSize;
            nint codeOffset = (nint)c * TBits.Bits / 8;
            int prefetchEnd = c == 0 ? Math.Max(0, bag.PrefetchLimit - distance) : 0;
            Vector512<float> start = TWeight.Max ? Vector512.Create(float.NegativeInfinity) : default;
            Vector512<float> a0 = start, b0 = start, a1 = start, b1 = start, a2 = start, b2 = start, a3 = start, b3 = start;
            for (int k = 0; k < count; k++)
            {
                if (k < prefetchEnd)
                {
                    PackedRows.Prefetch(words, rowBytes, scales, biases, scaleStride, codePrefetch, recordPrefetch, ids[k + distance]);
                }
                nint row = ids[k];
                TRow.Add(words + row * rowBytes + codeOffset, scales + row * scaleStride + firstGroup, biases + row * scaleStride + firstGroup,
                    TWeight.Weighted ? weights[k] : 1f, units, g1, g2, g3, ref a0, ref b0, ref a1, ref b1, ref a2, ref b2, ref a3, ref b3);
            }
            float* d = dst + c;
            InOrder512<TBits>(a0, b0, out var first, out var second);
            first.Store(d);
            second.Store(d + 16);
            if (units > 1)
            {
                InOrder512<TBits>(a1, b1, out first, out second);
                first.Store(d + 32);
                second.Store(d + 48);
            }
            if (units > 2)
            {
                InOrder512<TBits>(a2, b2, out first, out second);
                first.Store(d + 64);
                second.Store(d + 80);
            }
            if (units > 3)
            {
                InOrder512<TBits>(a3, b3, out first, out second);
                first.Store(d + 96);
                second.Store(d + 112);
            }
        }
    }

    /// <summary>
    /// AVX2: chunks of 64 codes (four 16-code units, eight accumulators); dims is a multiple of 32, so a chunk holds 2 or 4 units.
    /// Groups hold at least 32 codes, so units 0 and 1 of a chunk share its first group, and units 2 and 3 share one too
    /// (the next group with groups of 32, else the same): each row broadcasts two scales and two biases per chunk, straight
    /// from memory (<c>vbroadcastss ymm, m32</c>: a load, no shuffle), instead of a scalar load and a register broadcast per unit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumRows256<TBits, TRound, TWeight>(in PackedRows rows, in BagIds bag, float* dst, int dims)
        where TBits : struct, IBitWidth
        where TRound : struct, IRounding
        where TWeight : struct, IBagWeight
    {
        const int UnitCodes = 16;
        int unitBytes = UnitCodes * TBits.Bits / 8;
        int shift = System.Numerics.BitOperations.Log2((uint)(rows.GroupSize / UnitCodes)); // at least 1: unit u reads group u >> shift
        // Everything the loop reads, in locals (fields of an `in` struct are reloaded from memory on every use).
        int* ids = bag.Ids;
        float* weights = bag.Weights;
        int count = bag.Count, distance = bag.PrefetchDistance, groupSize = rows.GroupSize;
        byte* words = rows.Words;
        nint rowBytes = rows.RowStride, scaleStride = rows.ScaleStride, codePrefetch = rows.CodePrefetchBytes, recordPrefetch = PrefetchBytes(rowBytes);
        float* scales = rows.Scales, biases = rows.Biases;
        for (int c = 0; c < dims; c += 4 * UnitCodes)
        {
            int units = Math.Min(4, (dims - c) / UnitCodes);
            int firstGroup = c / groupSize;
            nint codeOffset = (nint)c * TBits.Bits / 8;
            int prefetchEnd = c == 0 ? Math.Max(0, bag.PrefetchLimit - distance) : 0;
            Vector256<float> start = TWeight.Max ? Vector256.Create(float.NegativeInfinity) : default;
            Vector256<float> a0 = start, b0 = start, a1 = start, b1 = start, a2 = start, b2 = start, a3 = start, b3 = start;
            nint g2 = 2 >> shift; // the group of units 2 and 3, relative to the chunk's first
            for (int k = 0; k < count; k++)
            {
                if (k < prefetchEnd)
                {
                    PackedRows.Prefetch(words, rowBytes, scales, biases, scaleStride, codePrefetch, recordPrefetch, ids[k + distance]);
                }
                nint row = ids[k];
                byte* p = words + row * rowBytes + codeOffset;
                float* s = scales + row * scaleStride + firstGroup;
                float* o = biases + row * scaleStride + firstGroup;
                Vector256<float> w = TWeight.Weighted ? Vector256.Create(weights[k]) : default;
                Vector256<float> sv = Avx.BroadcastScalarToVector256(s), bv = Avx.BroadcastScalarToVector256(o);
                AddUnit<TBits, TRound, TWeight>(p, sv, bv, w, ref a0, ref b0);
                AddUnit<TBits, TRound, TWeight>(p + unitBytes, sv, bv, w, ref a1, ref b1);
                if (units == 4)
                {
                    sv = Avx.BroadcastScalarToVector256(s + g2);
                    bv = Avx.BroadcastScalarToVector256(o + g2);
                    AddUnit<TBits, TRound, TWeight>(p + 2 * unitBytes, sv, bv, w, ref a2, ref b2);
                    AddUnit<TBits, TRound, TWeight>(p + 3 * unitBytes, sv, bv, w, ref a3, ref b3);
                }
            }
            float* d = dst + c;
            InOrder256<TBits>(a0, b0, out var first, out var second);
            first.Store(d);
            second.Store(d + 8);
            InOrder256<TBits>(a1, b1, out first, out second);
            first.Store(d + 16);
            second.Store(d + 24);
            if (units == 4)
            {
                InOrder256<TBits>(a2, b2, out first, out second);
                first.Store(d + 32);
                second.Store(d + 40);
                InOrder256<TBits>(a3, b3, out first, out second);
                first.Store(d + 48);
                second.Store(d + 56);
            }
        }
    }
}
