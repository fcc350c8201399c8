using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Numerics;

// Size: Kernels is a namespace of stateless kernels in the TensorPrimitives manner (gather, pooling, norms,
// conversion, PCA, t-SNE, sorting, finite checks), one file per kernel family with its reference beside it.
// Callers find every kernel under one name; no file holds more than one family.
public static partial class Kernels
{
    /// <summary>
    /// Row gather: <c>destination[i, :] = scale · table[indices[i], :]</c> for a row-major table of
    /// <paramref name="dims"/> columns. Indices must already be validated (in [0, rows)); this
    /// kernel only asserts them. Works for float, <see cref="Half"/> and <see cref="BFloat16"/>
    /// storage; the output is always float32.
    /// </summary>
    public static void Gather<T>(ReadOnlySpan<T> table, int dims, ReadOnlySpan<int> indices, float scale, Span<float> destination)
        where T : unmanaged
    {
        System.Diagnostics.Debug.Assert(destination.Length >= (long)indices.Length * dims);
        for (int i = 0; i < indices.Length; i++)
        {
            int row = indices[i];
            System.Diagnostics.Debug.Assert((uint)row < (uint)(table.Length / Math.Max(dims, 1)) || dims == 0);
            ReadOnlySpan<T> src = table.Slice(row * dims, dims); // fits: table.Length ≤ int.MaxValue
            Span<float> dst = destination.Slice(i * dims, dims);
            WidenRow(src, dst);
        }
        if (scale != 1f)
            TensorPrimitives.Multiply(destination.Slice(0, indices.Length * dims), scale, destination.Slice(0, indices.Length * dims));
    }

    /// <summary>
    /// <c>destination[d] = scale · source[d]</c> for one row (a plain copy when scale is 1), in the widest
    /// vectors available; the tail is one overlapping last vector (a copy rewrites the same values).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void CopyScaled(float* source, float* destination, int count, float scale)
    {
        if (scale != 1f)
        {
            TensorPrimitives.Multiply(new ReadOnlySpan<float>(source, count), scale, new Span<float>(destination, count));
            return;
        }
        int d = 0;
        if (Vector512.IsHardwareAccelerated && count >= 16)
        {
            for (; d <= count - 64; d += 64)
            {
                var v0 = Vector512.Load(source + d);
                var v1 = Vector512.Load(source + d + 16);
                var v2 = Vector512.Load(source + d + 32);
                var v3 = Vector512.Load(source + d + 48);
                v0.Store(destination + d);
                v1.Store(destination + d + 16);
                v2.Store(destination + d + 32);
                v3.Store(destination + d + 48);
            }
            for (; d <= count - 16; d += 16)
                Vector512.Load(source + d).Store(destination + d);
            if (d < count)
                Vector512.Load(source + count - 16).Store(destination + count - 16);
            return;
        }
        if (Vector256.IsHardwareAccelerated && count >= 8)
        {
            for (; d <= count - 32; d += 32)
            {
                var v0 = Vector256.Load(source + d);
                var v1 = Vector256.Load(source + d + 8);
                var v2 = Vector256.Load(source + d + 16);
                var v3 = Vector256.Load(source + d + 24);
                v0.Store(destination + d);
                v1.Store(destination + d + 8);
                v2.Store(destination + d + 16);
                v3.Store(destination + d + 24);
            }
            for (; d <= count - 8; d += 8)
                Vector256.Load(source + d).Store(destination + d);
            if (d < count)
                Vector256.Load(source + count - 8).Store(destination + count - 8);
            return;
        }
        if (Vector128.IsHardwareAccelerated && count >= 4)
        {
            for (; d <= count - 4; d += 4)
                Vector128.Load(source + d).Store(destination + d);
            if (d < count)
                Vector128.Load(source + count - 4).Store(destination + count - 4);
            return;
        }
        for (; d < count; d++)
            destination[d] = source[d];
    }

    /// <summary>
    /// <c>destination[d] = source[d]</c> for one row, written with non-temporal (streaming) stores where the
    /// destination is 64-byte aligned: the values bypass the caches and go straight to memory, which on this
    /// kind of machine doubles write bandwidth for outputs much larger than the last-level cache (measured:
    /// 34 against 74 GB/s for 201 MB) — the same choice glibc's <c>memcpy</c> makes for large copies. The
    /// unaligned head and the tail use ordinary stores. Callers must issue <see cref="StreamingFence"/> before
    /// the output is handed to another thread or returned.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void CopyStreaming(float* source, float* destination, int count)
    {
        int d = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // Floats until the destination is 64-byte aligned (float arrays are 4-byte aligned).
            int head = (int)(((64 - ((nint)destination & 63)) & 63) >> 2);
            if (head > count || ((nint)destination & 3) != 0)
                head = count;
            for (; d < head; d++)
                destination[d] = source[d];
            if (Vector512.IsHardwareAccelerated)
            {
                for (; d <= count - 16; d += 16)
                    Vector512.Load(source + d).StoreAlignedNonTemporal(destination + d);
            }
            else
            {
                for (; d <= count - 8; d += 8)
                    Vector256.Load(source + d).StoreAlignedNonTemporal(destination + d);
            }
        }
        for (; d < count; d++)
            destination[d] = source[d];
    }

    /// <summary>Orders earlier streaming stores before any later store (x86 <c>sfence</c>); a no-op elsewhere.</summary>
    internal static void StreamingFence()
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
            System.Runtime.Intrinsics.X86.Sse.StoreFence();
    }

    /// <summary>
    /// Whether <see cref="GatherStreaming{TRows}"/> can write every whole 64-byte line of rows of <paramref name="dims"/>
    /// floats into <paramref name="destination"/>: rows a multiple of 16 floats, and either a 64-byte aligned
    /// destination, or AVX-512 or AVX to splice the line two rows share. Otherwise lines would be written partly
    /// streamed and partly cached, which measured slower than ordinary stores.
    /// </summary>
    internal static unsafe bool StreamingFits(float* destination, int dims) =>
        dims > 0 && dims % 16 == 0 && Vector256.IsHardwareAccelerated && ((nint)destination & 3) == 0
        && (((nint)destination & 63) == 0 || (Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
            || System.Runtime.Intrinsics.X86.Avx.IsSupported);

    /// <summary>
    /// Writes rows <c>ids[0 .. count)</c> of <paramref name="rows"/> (each <paramref name="dims"/> floats), one after
    /// another, to <paramref name="destination"/> with streaming stores (requires <see cref="StreamingFits"/>); rows
    /// <paramref name="prefetchDistance"/> ids ahead are prefetched.
    /// </summary>
    /// <remarks>
    /// Streaming stores need whole aligned lines. With a 64-byte aligned destination every row is whole lines.
    /// Otherwise (a managed array starts 16 bytes into a line) each row begins <c>h</c> floats before a line
    /// boundary and ends <c>t = 16 − h</c> floats after one: the middle lines are streamed, and the line made of
    /// row i's last t floats and row i+1's first h floats is assembled in registers (AVX-512: one two-source permute
    /// of their loads; AVX2: per 32-byte half, two masked loads, one from each row, OR-ed: a masked-off lane is
    /// neither read nor faulted on, so no load reaches outside either row) and streamed too. Only the first row's
    /// head and the last row's tail — lines shared with whatever lies outside this range — take ordinary stores. Rows made in scratch alternate between the two
    /// halves of <paramref name="scratch"/> (2·dims floats), so row i is still there when row i+1 is made.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void GatherStreaming<TRows>(ref TRows rows, int* ids, int count, float* destination, int dims, float* scratch, int prefetchDistance)
        where TRows : struct, IRowSource
    {
        if (count == 0)
            return;
        TRows source = rows; // a copy: read through the reference, its fields were loaded again for every row
        int head = (int)((64 - ((nint)destination & 63)) & 63) >> 2; // floats before the first line boundary, 0..15
        int tail = (16 - head) & 15;
        float* spare = scratch + dims;
        float* src = source.Row(ids[0], scratch);
        for (int d = 0; d < head; d++)
            destination[d] = src[d];
        Vector512<int> splice = default;
        Vector256<float> rowLanesLow = default, rowLanesHigh = default; // AVX2 splice: lanes taken from row i
        if (head != 0)
        {
            splice = Vector512.Create(head) + Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            var lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
            rowLanesLow = Vector256.LessThan(lane, Vector256.Create(tail)).AsSingle();
            rowLanesHigh = Vector256.LessThan(lane + Vector256.Create(8), Vector256.Create(tail)).AsSingle();
        }
        for (int i = 0; i < count; i++)
        {
            if (TRows.Prefetches && i + prefetchDistance < count)
                source.Prefetch(ids[i + prefetchDistance]);
            float* row = destination + (nint)i * dims;
            if (head == 0)
            {
                CopyStreaming(src, row, dims);
                if (i + 1 < count)
                {
                    float* t = scratch;
                    scratch = spare;
                    spare = t;
                    src = source.Row(ids[i + 1], scratch);
                }
                continue;
            }
            if (Vector512.IsHardwareAccelerated)
            {
                for (int k = head; k <= dims - 16 - tail; k += 16)
                    Vector512.Load(src + k).StoreAlignedNonTemporal(row + k);
            }
            else
            {
                for (int k = head; k <= dims - 16 - tail; k += 16)
                {
                    Vector256.Load(src + k).StoreAlignedNonTemporal(row + k);
                    Vector256.Load(src + k + 8).StoreAlignedNonTemporal(row + k + 8);
                }
            }
            if (i + 1 < count)
            {
                float* next = source.Row(ids[i + 1], spare);
                if (Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
                {
                    System.Runtime.Intrinsics.X86.Avx512F.PermuteVar16x32x2(Vector512.Load(src + dims - 16), splice, Vector512.Load(next))
                        .StoreAlignedNonTemporal(row + dims - tail);
                }
                else
                {
                    // Lane k of the line is src[dims − t + k] for k < t, else next[k − t].
                    float* fromRow = src + dims - tail, fromNext = next - tail;
                    (System.Runtime.Intrinsics.X86.Avx.MaskLoad(fromRow, rowLanesLow) | System.Runtime.Intrinsics.X86.Avx.MaskLoad(fromNext, ~rowLanesLow))
                        .StoreAlignedNonTemporal(row + dims - tail);
                    (System.Runtime.Intrinsics.X86.Avx.MaskLoad(fromRow + 8, rowLanesHigh) | System.Runtime.Intrinsics.X86.Avx.MaskLoad(fromNext + 8, ~rowLanesHigh))
                        .StoreAlignedNonTemporal(row + dims - tail + 8);
                }
                float* t = scratch;
                scratch = spare;
                spare = t;
                src = next;
            }
            else
            {
                for (int d = dims - tail; d < dims; d++)
                    row[d] = src[d];
            }
        }
        StreamingFence();
    }

    /// <summary>Widens one row of storage type <typeparamref name="T"/> to float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WidenRow<T>(ReadOnlySpan<T> src, Span<float> dst) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(src).CopyTo(dst);
        else if (typeof(T) == typeof(Half))
            WidenHalf(System.Runtime.InteropServices.MemoryMarshal.Cast<T, Half>(src), dst);
        else if (typeof(T) == typeof(BFloat16))
            Widen(System.Runtime.InteropServices.MemoryMarshal.Cast<T, BFloat16>(src), dst);
        else
            throw new NotSupportedException($"[gather] storage type {typeof(T).Name} not supported (float, Half, BFloat16)");
    }

    /// <summary>
    /// Widens float16 to float32 exactly, the same bits as <c>(float)half</c> and
    /// <see cref="TensorPrimitives.ConvertToSingle(ReadOnlySpan{Half}, Span{float})"/> (a NaN keeps its payload
    /// and gets the quiet bit), in the widest vectors available.
    /// </summary>
    /// <remarks>
    /// The 16-bit rows' own loop, compiled once fully optimised (no tiers, no profile): with <c>TensorPrimitives</c>
    /// each row was a call into a tiered generic method whose tier-1 code depended on what the process had run
    /// before, which made the fp16 gather up to 1.7× slower in one build than in another with the same row loop
    /// (benchmarks/README.md, "The fp16 gather row"). Lanes, each value's 16 bits
    /// widened to 32: exponent and fraction shifted into float position and the exponent rebiased by adding 112 (0x38000000;
    /// 224 for ∞/NaN, so their exponent becomes 255); a subnormal half gets one more (an implicit 1 at 2⁻¹⁴) and then
    /// 2⁻¹⁴ is subtracted as a float, which normalises it exactly. Every operand stays normal (no denormal assists),
    /// and the subtraction of 0 from the other lanes is exact (it quiets a signalling NaN, as the scalar cast does).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void WidenHalf(ReadOnlySpan<Half> source, Span<float> destination)
    {
        if (destination.Length < source.Length)
            Diagnostics.ThrowHelper.Argument("convert", nameof(destination), $"destination holds {destination.Length} floats, fewer than the {source.Length} values; it needs one float per value");
        ref ushort src = ref System.Runtime.CompilerServices.Unsafe.As<Half, ushort>(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(source));
        ref float dst = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(destination);
        int count = source.Length;
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; (int)i <= count - 32; i += 32)
            {
                var v = Vector512.LoadUnsafe(ref src, i);
                HalfBitsToSingle(Vector512.WidenLower(v)).StoreUnsafe(ref dst, i);
                HalfBitsToSingle(Vector512.WidenUpper(v)).StoreUnsafe(ref dst, i + 16);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; (int)i <= count - 16; i += 16)
            {
                var v = Vector256.LoadUnsafe(ref src, i);
                HalfBitsToSingle(Vector256.WidenLower(v)).StoreUnsafe(ref dst, i);
                HalfBitsToSingle(Vector256.WidenUpper(v)).StoreUnsafe(ref dst, i + 8);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; (int)i <= count - 8; i += 8)
            {
                var v = Vector128.LoadUnsafe(ref src, i);
                HalfBitsToSingle(Vector128.WidenLower(v)).StoreUnsafe(ref dst, i);
                HalfBitsToSingle(Vector128.WidenUpper(v)).StoreUnsafe(ref dst, i + 4);
            }
        }
        for (; (int)i < count; i++)
            System.Runtime.CompilerServices.Unsafe.Add(ref dst, i) = (float)source[(int)i];
    }

    // float16 bits (zero-extended to 32) to float32 lanes; see WidenHalf.
    private const uint HalfSign = 0x8000, HalfExponent = 0x7C00, HalfMagnitudeBits = 0x0FFF_E000;
    private const uint ExponentRebias = 0x3800_0000, SubnormalBase = 0x3880_0000, SubnormalOne = 0x0080_0000;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> HalfBitsToSingle(Vector512<uint> v)
    {
        var exponent = v & Vector512.Create(HalfExponent);
        var subnormal = Vector512.Equals(exponent, Vector512<uint>.Zero);
        var special = Vector512.Equals(exponent, Vector512.Create(HalfExponent));
        var bits = (Vector512.ShiftLeft(v, 13) & Vector512.Create(HalfMagnitudeBits)) + Vector512.Create(ExponentRebias)
            + (special & Vector512.Create(ExponentRebias)) + (subnormal & Vector512.Create(SubnormalOne));
        var magnitude = bits.AsSingle() - (subnormal & Vector512.Create(SubnormalBase)).AsSingle();
        return (magnitude.AsUInt32() | Vector512.ShiftLeft(v & Vector512.Create(HalfSign), 16)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HalfBitsToSingle(Vector256<uint> v)
    {
        var exponent = v & Vector256.Create(HalfExponent);
        var subnormal = Vector256.Equals(exponent, Vector256<uint>.Zero);
        var special = Vector256.Equals(exponent, Vector256.Create(HalfExponent));
        var bits = (Vector256.ShiftLeft(v, 13) & Vector256.Create(HalfMagnitudeBits)) + Vector256.Create(ExponentRebias)
            + (special & Vector256.Create(ExponentRebias)) + (subnormal & Vector256.Create(SubnormalOne));
        var magnitude = bits.AsSingle() - (subnormal & Vector256.Create(SubnormalBase)).AsSingle();
        return (magnitude.AsUInt32() | Vector256.ShiftLeft(v & Vector256.Create(HalfSign), 16)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> HalfBitsToSingle(Vector128<uint> v)
    {
        var exponent = v & Vector128.Create(HalfExponent);
        var subnormal = Vector128.Equals(exponent, Vector128<uint>.Zero);
        var special = Vector128.Equals(exponent, Vector128.Create(HalfExponent));
        var bits = (Vector128.ShiftLeft(v, 13) & Vector128.Create(HalfMagnitudeBits)) + Vector128.Create(ExponentRebias)
            + (special & Vector128.Create(ExponentRebias)) + (subnormal & Vector128.Create(SubnormalOne));
        var magnitude = bits.AsSingle() - (subnormal & Vector128.Create(SubnormalBase)).AsSingle();
        return (magnitude.AsUInt32() | Vector128.ShiftLeft(v & Vector128.Create(HalfSign), 16)).AsSingle();
    }

    /// <summary>Rounds one float32 row to storage type <typeparamref name="T"/> (nearest, ties to even).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NarrowRow<T>(ReadOnlySpan<float> src, Span<T> dst) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            src.CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(dst));
        else if (typeof(T) == typeof(Half))
            TensorPrimitives.ConvertToHalf(src, System.Runtime.InteropServices.MemoryMarshal.Cast<T, Half>(dst));
        else if (typeof(T) == typeof(BFloat16))
            Narrow(src, System.Runtime.InteropServices.MemoryMarshal.Cast<T, BFloat16>(dst));
        else
            throw new NotSupportedException($"[gather] storage type {typeof(T).Name} not supported (float, Half, BFloat16)");
    }

    /// <summary>Plain-loop reference for <see cref="Gather{T}"/>, used by tests and benchmarks.</summary>
    internal static void GatherReference<T>(ReadOnlySpan<T> table, int dims, ReadOnlySpan<int> indices, float scale, Span<float> destination)
        where T : unmanaged
    {
        for (int i = 0; i < indices.Length; i++)
        {
            for (int d = 0; d < dims; d++)
            {
                T v = table[indices[i] * dims + d];
                float f = v switch
                {
                    float x => x,
                    Half h => (float)h,
                    BFloat16 b => BFloat16.BitsToSingle(b.Bits),
                    _ => throw new NotSupportedException(),
                };
                destination[i * dims + d] = scale * f;
            }
        }
    }
}
