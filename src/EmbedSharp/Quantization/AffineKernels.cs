using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using EmbedSharp.Tables;

namespace EmbedSharp.Quantization;

/// <summary>
/// SIMD kernels that read MLX affine-packed rows directly: codes are unpacked and dequantized in
/// registers, straight into the output (gather), into a one-row scratch (bags, GEMM packing), or
/// dotted with a vector without ever forming <c>ŵ</c> (GEMV).
/// </summary>
/// <remarks>
/// <para>Fast path: 4- and 8-bit codes with float32 scales and biases on a machine with Vector256 or
/// Vector512 (every group size: 32, 64, 128, since each is a whole number of 32-code units). Other widths
/// and 16-bit scales go through <see cref="AffineDequantizer"/> (rounded to the scale dtype step by
/// step, as MLX's CPU does).</para>
/// <para>Unpacking 32 codes: MLX packs codes LSB-first, so 4-bit codes 2i and 2i+1 are the low and high
/// nibble of byte i. The 16 bytes are widened to 16-bit lanes, and each lane <c>v</c> becomes
/// <c>(v &amp; 0x0F) | ((v &amp; 0xF0) &lt;&lt; 4)</c>: read as bytes, that is the 32 codes in order. 8-bit codes
/// are the bytes themselves. The 32 code bytes are then widened twice (to 32-bit lanes) and converted to
/// float. Dequantization is <c>q·s + b</c> as a multiply then an add (MLX's CPU rounding, bit for bit equal
/// to <see cref="AffineDequantizer"/> with float32 scales) or one fused multiply-add (<c>fused</c>).</para>
/// </remarks>
// Size: the affine 4/8-bit kernels in two files (~830 lines): the portable Vector256/Vector512 forms here,
// the x86 forms that widen codes straight into 32-bit lanes in AffineKernels.Direct.cs. Each form keeps
// its reference beside it (AffineDequantizer); splitting further would separate a kernel from its twin.
internal static unsafe partial class AffineKernels
{
    /// <summary>
    /// Whether the SIMD path handles this table layout on this machine: 4- or 8-bit codes, float32 scales,
    /// and groups of a power of two of at least 32 codes (MLX's 32, 64, 128; a checkpoint may carry others).
    /// </summary>
    public static bool Supports(QuantizationMode mode, int bits, DType dtype, int groupSize) =>
        mode == QuantizationMode.Affine && (bits == 4 || bits == 8) && dtype == DType.Float32 && Vector256.IsHardwareAccelerated
        && groupSize >= 32 && System.Numerics.BitOperations.IsPow2(groupSize);

    /// <summary>Bytes of packed codes per 32 codes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int UnitBytes<TBits>() where TBits : struct, IBitWidth => TBits.Bits * 4;

    /// <summary>The 32 codes starting at <paramref name="p"/>, one per byte, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Codes32<TBits>(byte* p) where TBits : struct, IBitWidth
    {
        if (TBits.Bits == 8)
            return Vector256.Load(p);
        Vector256<ushort> w = Vector256.WidenLower(Vector128.Load(p).ToVector256Unsafe());
        return ((w & Vector256.Create((ushort)0x0F)) | ((w & Vector256.Create((ushort)0xF0)) << 4)).AsByte();
    }

    /// <summary>
    /// Dequantizes one row of <paramref name="dims"/> values: <c>dst[i] = q_i·s_g + b_g</c> (g = i / groupSize).
    /// </summary>
    public static void DequantizeRow<TBits>(byte* codes, float* scales, float* biases, int groupSize, bool fused, float* dst, int dims)
        where TBits : struct, IBitWidth
    {
        if (fused)
            Row<TBits, StoreSink, OneRounding>(codes, scales, biases, groupSize, dst, dims);
        else
            Row<TBits, StoreSink, TwoRoundings>(codes, scales, biases, groupSize, dst, dims);
    }

    /// <summary>
    /// Adds one dequantized row to an accumulator: <c>acc[i] = acc[i] + ŵ_i</c> with <c>ŵ_i</c> rounded
    /// exactly as <see cref="DequantizeRow{TBits}"/> rounds it, so a bag summed with this kernel equals
    /// dequantizing each row into a scratch and adding it — without the scratch round trip.
    /// </summary>
    public static void AccumulateRow<TBits>(byte* codes, float* scales, float* biases, int groupSize, bool fused, float* acc, int dims)
        where TBits : struct, IBitWidth
    {
        if (fused)
            Row<TBits, AddSink, OneRounding>(codes, scales, biases, groupSize, acc, dims);
        else
            Row<TBits, AddSink, TwoRoundings>(codes, scales, biases, groupSize, acc, dims);
    }

    /// <summary>
    /// The one row loop behind <see cref="DequantizeRow{TBits}"/> and <see cref="AccumulateRow{TBits}"/>:
    /// each vector of <c>ŵ = q·s + b</c> is handed to <typeparamref name="TSink"/> (stored, or added to
    /// what is there). The sink and the rounding are struct type parameters, so each use compiles to its own loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row<TBits, TSink, TRound>(byte* codes, float* scales, float* biases, int groupSize, float* dst, int dims)
        where TBits : struct, IBitWidth
        where TSink : struct, IRowSink
        where TRound : struct, IRounding
    {
        if (Direct)
        {
            RowDirect<TBits, TSink, TRound>(codes, scales, biases, groupSize, dst, dims);
            return;
        }
        int unitBytes = UnitBytes<TBits>();
        int units = groupSize / 32;
        for (int g = 0, i = 0; i < dims; g++)
        {
            float s = scales[g], b = biases[g];
            if (Vector512.IsHardwareAccelerated)
            {
                var sv = Vector512.Create(s);
                var bv = Vector512.Create(b);
                for (int u = 0; u < units; u++, i += 32, codes += unitBytes)
                {
                    Vector512<ushort> w = Vector512.WidenLower(Codes32<TBits>(codes).ToVector512Unsafe());
                    var f0 = Vector512.ConvertToSingle(Vector512.WidenLower(w).AsInt32());
                    var f1 = Vector512.ConvertToSingle(Vector512.WidenUpper(w).AsInt32());
                    TSink.Put(TRound.Apply(f0, sv, bv), dst + i);
                    TSink.Put(TRound.Apply(f1, sv, bv), dst + i + 16);
                }
            }
            else
            {
                var sv = Vector256.Create(s);
                var bv = Vector256.Create(b);
                for (int u = 0; u < units; u++, i += 32, codes += unitBytes)
                {
                    Vector256<byte> cb = Codes32<TBits>(codes);
                    Vector256<ushort> w0 = Vector256.WidenLower(cb), w1 = Vector256.WidenUpper(cb);
                    TSink.Put(TRound.Apply(Vector256.ConvertToSingle(Vector256.WidenLower(w0).AsInt32()), sv, bv), dst + i);
                    TSink.Put(TRound.Apply(Vector256.ConvertToSingle(Vector256.WidenUpper(w0).AsInt32()), sv, bv), dst + i + 8);
                    TSink.Put(TRound.Apply(Vector256.ConvertToSingle(Vector256.WidenLower(w1).AsInt32()), sv, bv), dst + i + 16);
                    TSink.Put(TRound.Apply(Vector256.ConvertToSingle(Vector256.WidenUpper(w1).AsInt32()), sv, bv), dst + i + 24);
                }
            }
        }
    }

    /// <summary>How <c>q·s + b</c> is rounded: a type parameter, so the loops do not branch on it.</summary>
    private interface IRounding
    {
        static abstract Vector512<float> Apply(Vector512<float> q, Vector512<float> s, Vector512<float> b);

        static abstract Vector256<float> Apply(Vector256<float> q, Vector256<float> s, Vector256<float> b);
    }

    /// <summary>Multiply, round, add, round (MLX's CPU dequantize).</summary>
    private readonly struct TwoRoundings : IRounding
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Apply(Vector512<float> q, Vector512<float> s, Vector512<float> b) => q * s + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Apply(Vector256<float> q, Vector256<float> s, Vector256<float> b) => q * s + b;
    }

    /// <summary>One fused multiply-add.</summary>
    private readonly struct OneRounding : IRounding
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Apply(Vector512<float> q, Vector512<float> s, Vector512<float> b) => Vector512.FusedMultiplyAdd(q, s, b);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Apply(Vector256<float> q, Vector256<float> s, Vector256<float> b) => Vector256.FusedMultiplyAdd(q, s, b);
    }

    /// <summary>What <see cref="Row{TBits, TSink, TRound}"/> does with each vector of dequantized values.</summary>
    private interface IRowSink
    {
        static abstract void Put(Vector512<float> values, float* dst);

        static abstract void Put(Vector256<float> values, float* dst);
    }

    /// <summary><c>dst = ŵ</c>.</summary>
    private readonly struct StoreSink : IRowSink
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Put(Vector512<float> values, float* dst) => values.Store(dst);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Put(Vector256<float> values, float* dst) => values.Store(dst);
    }

    /// <summary><c>dst = dst + ŵ</c>.</summary>
    private readonly struct AddSink : IRowSink
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Put(Vector512<float> values, float* dst) => (Vector512.Load(dst) + values).Store(dst);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Put(Vector256<float> values, float* dst) => (Vector256.Load(dst) + values).Store(dst);
    }

    /// <summary>
    /// <c>Σ_i x[i] · ŵ_i</c> for one packed row, computed as <c>Σ_g (s_g · Σ_{i∈g} q_i·x_i + b_g · Σ_{i∈g} x_i)</c>
    /// (MLX's quantized matrix–vector product does the same); <paramref name="groupSumsOfX"/> holds <c>Σ_{i∈g} x_i</c>.
    /// </summary>
    /// <remarks>
    /// Equal to the dot product with the dequantized row in exact arithmetic; in float32 it differs by
    /// rounding only (ŵ is never rounded to its own float32 value first).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float DotRow<TBits>(byte* codes, float* scales, float* biases, int groupSize, float* x, float* groupSumsOfX, int dims)
        where TBits : struct, IBitWidth
    {
        int unitBytes = UnitBytes<TBits>();
        int units = groupSize / 32;
        int groups = dims / groupSize;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> even = default, odd = default;
            for (int g = 0; g < groups; g++)
            {
                Vector512<float> a0 = default, a1 = default;
                for (int u = 0; u < units; u++, x += 32, codes += unitBytes)
                {
                    Vector512<ushort> w = Vector512.WidenLower(Codes32<TBits>(codes).ToVector512Unsafe());
                    a0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.WidenLower(w).AsInt32()), Vector512.Load(x), a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.WidenUpper(w).AsInt32()), Vector512.Load(x + 16), a1);
                }
                // Two accumulators across groups, so consecutive groups do not wait on each other.
                if ((g & 1) == 0)
                    even = Vector512.FusedMultiplyAdd(a0 + a1, Vector512.Create(scales[g]), even);
                else
                    odd = Vector512.FusedMultiplyAdd(a0 + a1, Vector512.Create(scales[g]), odd);
            }
            return Vector512.Sum(even + odd) + BiasTerm(biases, groupSumsOfX, groups);
        }
        Vector256<float> acc0 = default, acc1 = default;
        for (int g = 0; g < groups; g++)
        {
            Vector256<float> a0 = default, a1 = default;
            for (int u = 0; u < units; u++, x += 32, codes += unitBytes)
            {
                Vector256<byte> cb = Codes32<TBits>(codes);
                Vector256<ushort> w0 = Vector256.WidenLower(cb), w1 = Vector256.WidenUpper(cb);
                a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Vector256.WidenLower(w0).AsInt32()), Vector256.Load(x), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Vector256.WidenUpper(w0).AsInt32()), Vector256.Load(x + 8), a1);
                a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Vector256.WidenLower(w1).AsInt32()), Vector256.Load(x + 16), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Vector256.WidenUpper(w1).AsInt32()), Vector256.Load(x + 24), a1);
            }
            if ((g & 1) == 0)
                acc0 = Vector256.FusedMultiplyAdd(a0 + a1, Vector256.Create(scales[g]), acc0);
            else
                acc1 = Vector256.FusedMultiplyAdd(a0 + a1, Vector256.Create(scales[g]), acc1);
        }
        return Vector256.Sum(acc0 + acc1) + BiasTerm(biases, groupSumsOfX, groups);
    }

    /// <summary>Lanes of the direct dot: 16 (AVX-512) or 8 (AVX2); x is permuted per block of 2·lanes codes.</summary>
    public static int DirectLanes => Wide ? 16 : 8;

    /// <summary>
    /// The x layout <see cref="DotRowDirect{TBits}"/> reads for 4-bit codes: per block of 2·L codes (L = lanes),
    /// the L even-indexed values then the L odd-indexed ones, because byte j of a block holds codes 2j (low
    /// nibble) and 2j+1 (high nibble). 8-bit codes read x as it is.
    /// </summary>
    public static void PermuteForDirectDot(ReadOnlySpan<float> x, int bits, Span<float> destination)
    {
        if (bits != 4)
        {
            x.CopyTo(destination);
            return;
        }
        int block = 2 * DirectLanes;
        for (int b0 = 0; b0 < x.Length; b0 += block)
        {
            for (int j = 0; j < block / 2; j++)
            {
                destination[b0 + j] = x[b0 + 2 * j];
                destination[b0 + block / 2 + j] = x[b0 + 2 * j + 1];
            }
        }
    }

    /// <summary>
    /// As <see cref="DotRow{TBits}"/> with x laid out by <see cref="PermuteForDirectDot"/>: each load of L code
    /// bytes is zero-extended to 32-bit lanes in one instruction; 4-bit codes are then split into low and
    /// high nibbles (two shifts/masks) and multiplied with the even and odd halves of the permuted x. Half the
    /// instructions of the in-order unpacking, and no cross-lane shuffles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float DotRowDirect<TBits>(byte* codes, float* scales, float* biases, int groupSize, float* xPermuted, float* groupSumsOfX, int dims)
        where TBits : struct, IBitWidth
    {
        int groups = dims / groupSize;
        float* x = xPermuted;
        if (DirectLanes == 16)
        {
            Vector512<float> even = default, odd = default;
            var mask = Vector512.Create(15);
            for (int g = 0; g < groups; g++)
            {
                Vector512<float> a0 = default, a1 = default;
                if (TBits.Bits == 4)
                {
                    for (int i = 0; i < groupSize; i += 32, codes += 16, x += 32)
                    {
                        Vector512<int> v = System.Runtime.Intrinsics.X86.Avx512F.ConvertToVector512Int32(Vector128.Load(codes));
                        a0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(v & mask), Vector512.Load(x), a0);
                        a1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(Vector512.ShiftRightLogical(v, 4)), Vector512.Load(x + 16), a1);
                    }
                }
                else
                {
                    for (int i = 0; i < groupSize; i += 32, codes += 32, x += 32)
                    {
                        a0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(System.Runtime.Intrinsics.X86.Avx512F.ConvertToVector512Int32(Vector128.Load(codes))), Vector512.Load(x), a0);
                        a1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(System.Runtime.Intrinsics.X86.Avx512F.ConvertToVector512Int32(Vector128.Load(codes + 16))), Vector512.Load(x + 16), a1);
                    }
                }
                if ((g & 1) == 0)
                    even = Vector512.FusedMultiplyAdd(a0 + a1, Vector512.Create(scales[g]), even);
                else
                    odd = Vector512.FusedMultiplyAdd(a0 + a1, Vector512.Create(scales[g]), odd);
            }
            return Vector512.Sum(even + odd) + BiasTerm(biases, groupSumsOfX, groups);
        }
        Vector256<float> acc0 = default, acc1 = default;
        var mask8 = Vector256.Create(15);
        for (int g = 0; g < groups; g++)
        {
            Vector256<float> a0 = default, a1 = default;
            if (TBits.Bits == 4)
            {
                for (int i = 0; i < groupSize; i += 16, codes += 8, x += 16)
                {
                    Vector256<int> v = System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int32(codes);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(v & mask8), Vector256.Load(x), a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Vector256.ShiftRightLogical(v, 4)), Vector256.Load(x + 8), a1);
                }
            }
            else
            {
                for (int i = 0; i < groupSize; i += 16, codes += 16, x += 16)
                {
                    a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int32(codes)), Vector256.Load(x), a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int32(codes + 8)), Vector256.Load(x + 8), a1);
                }
            }
            if ((g & 1) == 0)
                acc0 = Vector256.FusedMultiplyAdd(a0 + a1, Vector256.Create(scales[g]), acc0);
            else
                acc1 = Vector256.FusedMultiplyAdd(a0 + a1, Vector256.Create(scales[g]), acc1);
        }
        return Vector256.Sum(acc0 + acc1) + BiasTerm(biases, groupSumsOfX, groups);
    }

    /// <summary><c>Σ_g b_g · xsum_g</c>, eight groups per vector (a scalar chain would serialise on its latency).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float BiasTerm(float* biases, float* groupSumsOfX, int groups)
    {
        int g = 0;
        float sum = 0f;
        if (groups >= 8)
        {
            Vector256<float> acc = default;
            for (; g <= groups - 8; g += 8)
                acc += Vector256.Load(biases + g) * Vector256.Load(groupSumsOfX + g);
            sum = Vector256.Sum(acc);
        }
        for (; g < groups; g++)
            sum += biases[g] * groupSumsOfX[g];
        return sum;
    }

    /// <summary>Plain reference for <see cref="DotRow{TBits}"/>: dequantize element by element (float32 scales, two roundings), dot in double.</summary>
    public static double DotRowReference(ReadOnlySpan<uint> packed, ReadOnlySpan<float> scales, ReadOnlySpan<float> biases, int groupSize, int bits,
        ReadOnlySpan<float> x)
    {
        double acc = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float q = BitPacking.ReadCode(packed, i, bits);
            float w = q * scales[i / groupSize] + biases[i / groupSize];
            acc += (double)w * x[i];
        }
        return acc;
    }
}
