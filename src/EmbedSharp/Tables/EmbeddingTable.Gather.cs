using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Tables;

public sealed unsafe partial class EmbeddingTable
{
    /// <summary>Rows ahead of the current one whose cache lines are prefetched.</summary>
    internal const int PrefetchDistance = 8;

    /// <summary>Output floats below which a gather stays on one thread (thread hand-off costs more).</summary>
    internal const long ParallelThreshold = 1 << 18;

    /// <summary>
    /// Row gather into a caller's buffer: <c>destination[i·Dims .. (i+1)·Dims) = scale · row(indices[i])</c>,
    /// widening 16-bit storage to float32.
    /// </summary>
    /// <remarks>
    /// Rows a few indices ahead are prefetched (x86 <c>prefetcht0</c>, up to 16 64-byte lines of each row)
    /// so their memory latency overlaps the current copy. Float32 outputs at least the size of the last-level
    /// cache are written with streaming stores (they would not stay cached anyway). Batches of more than
    /// 2<sup>18</sup> output floats are split into contiguous chunks across threads; each thread writes its own part of
    /// <paramref name="destination"/>, so results do not depend on the thread count.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside <c>[0, NumEmbeddings)</c>.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public void Gather(ReadOnlySpan<int> indices, Span<float> destination, float scale = 1f)
    {
        const string op = "table.gather";
        Guard.MinLength(op, destination.Length, (long)indices.Length * Dims, $"indices.Length × Dims = {indices.Length} × {Dims}");
        for (int i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)NumEmbeddings)
                ThrowHelper.IndexOutOfRange(op, nameof(indices), indices[i], i, NumEmbeddings);
        }
        GatherUnchecked(indices, destination, scale);
    }

    /// <summary>Ids per chunk of parallel work (chunks are claimed dynamically, see <see cref="ParallelWork"/>).</summary>
    internal const int ParallelGrain = 2048;

    /// <summary><see cref="Gather"/> without validation: every index must be in range.</summary>
    /// <param name="indices">Row ids, all in range.</param>
    /// <param name="destination">Output, at least <c>indices.Length × Dims</c> floats.</param>
    /// <param name="scale">Factor applied to every value.</param>
    /// <param name="maxThreads">Threads to use at most (−1: the machine's).</param>
    /// <param name="streamingStores">Null: streaming stores for float32 outputs of at least
    /// <see cref="Hardware.StreamingStoreThresholdBytes"/>; true or false forces the choice (tests).</param>
    internal void GatherUnchecked(ReadOnlySpan<int> indices, Span<float> destination, float scale, int maxThreads = -1, bool? streamingStores = null)
    {
        _ = Pointer; // throws if disposed
        if (indices.IsEmpty || Dims == 0)
            return;
        int threads = maxThreads > 0 ? maxThreads : ParallelWork.DefaultThreads;
        long work = (long)indices.Length * Dims;
        fixed (int* ids = indices)
        fixed (float* dst = destination)
        {
            bool streaming = DType == DType.Float32 && scale == 1f && StreamingLayoutFits(dst, Dims)
                && (streamingStores ?? work * sizeof(float) >= Hardware.StreamingStoreThresholdBytes);
            if (threads <= 1 || work < ParallelThreshold)
            {
                if (streaming)
                    GatherStreaming(ids, indices.Length, dst);
                else
                    GatherRange(ids, indices.Length, dst, scale);
                return;
            }
            // Small chunks claimed dynamically: a thread that starts late or is descheduled takes fewer
            // of them, so two threads are never slower than one (fixed halves would wait for the slower).
            int grain = (int)Math.Clamp(ParallelThreshold / 4 / Dims, 64, ParallelGrain);
            nint idsAddress = (nint)ids, dstAddress = (nint)dst;
            if (streaming)
            {
                ParallelWork.For(indices.Length, grain, threads, (start, end) =>
                    GatherStreaming((int*)idsAddress + start, end - start, (float*)dstAddress + (nint)start * Dims));
                return;
            }
            ParallelWork.For(indices.Length, grain, threads, (start, end) =>
                GatherRange((int*)idsAddress + start, end - start, (float*)dstAddress + (nint)start * Dims, scale));
        }
    }

    private void GatherRange(int* ids, int count, float* dst, float scale)
    {
        switch (DType)
        {
            case DType.Float32: GatherRange<float>(ids, count, dst, scale); break;
            case DType.Float16: GatherRange<Half>(ids, count, dst, scale); break;
            default: GatherRange<BFloat16>(ids, count, dst, scale); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void GatherRange<T>(int* ids, int count, float* dst, float scale) where T : unmanaged
    {
        int dims = Dims;
        nint rowBytes = (nint)dims * sizeof(T);
        byte* data = _data;
        for (int i = 0; i < count; i++)
        {
            if (Sse.IsSupported && i + PrefetchDistance < count)
                PrefetchRow(data + ids[i + PrefetchDistance] * rowBytes, rowBytes);
            T* row = (T*)(data + ids[i] * rowBytes);
            float* output = dst + (nint)i * dims;
            if (typeof(T) == typeof(float))
            {
                Kernels.CopyScaled((float*)row, output, dims, scale);
                continue;
            }
            var span = new Span<float>(output, dims);
            Kernels.WidenRow(new ReadOnlySpan<T>(row, dims), span);
            if (scale != 1f)
                TensorPrimitives.Multiply(span, scale, span);
        }
    }

    /// <summary>
    /// Whether streaming stores can write every whole 64-byte line of a gather into <paramref name="dst"/>: rows a
    /// multiple of 16 floats, and either a 64-byte aligned destination or AVX-512 to splice the line two rows share
    /// (<see cref="GatherStreaming"/>). Otherwise lines would be written partly streamed and partly cached, which
    /// measured slower than ordinary stores.
    /// </summary>
    private static bool StreamingLayoutFits(float* dst, int dims) =>
        dims % 16 == 0 && Vector256.IsHardwareAccelerated && ((nint)dst & 3) == 0
        && (((nint)dst & 63) == 0 || (Vector512.IsHardwareAccelerated && Avx512F.IsSupported));

    /// <summary>
    /// Float32 rows written with streaming stores, for outputs at least the size of the last-level cache, where
    /// ordinary stores would first read every output line into the cache only to evict it again.
    /// </summary>
    /// <remarks>
    /// Streaming stores need whole aligned lines. With a 64-byte aligned destination every row is whole lines.
    /// Otherwise (a managed array starts 16 bytes into a line) each row begins <c>h</c> floats before a line
    /// boundary and ends <c>t = 16 − h</c> floats after one: the middle lines are streamed, and the line made of
    /// row i's last t floats and row i+1's first h floats is assembled in a register (one two-source permute of
    /// their loads) and streamed too. Only the first row's head and the last row's tail, lines shared with
    /// whatever lies outside this range, take ordinary stores.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void GatherStreaming(int* ids, int count, float* dst)
    {
        int dims = Dims;
        nint rowBytes = (nint)dims * sizeof(float);
        byte* data = _data;
        int head = (int)((64 - ((nint)dst & 63)) & 63) >> 2; // floats before the first line boundary, 0..15
        if (head == 0)
        {
            for (int i = 0; i < count; i++)
            {
                if (Sse.IsSupported && i + PrefetchDistance < count)
                    PrefetchRow(data + ids[i + PrefetchDistance] * rowBytes, rowBytes);
                Kernels.CopyStreaming((float*)(data + ids[i] * rowBytes), dst + (nint)i * dims, dims);
            }
            Kernels.StreamingFence();
            return;
        }
        int tail = 16 - head;
        // Lane k of the spliced line: element head + k of (last 16 floats of row i, first 16 of row i+1).
        Vector512<int> splice = Vector512.Create(head) + Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        float* first = (float*)(data + ids[0] * rowBytes);
        for (int d = 0; d < head; d++)
            dst[d] = first[d];
        for (int i = 0; i < count; i++)
        {
            if (i + PrefetchDistance < count)
                PrefetchRow(data + ids[i + PrefetchDistance] * rowBytes, rowBytes);
            float* src = (float*)(data + ids[i] * rowBytes);
            float* row = dst + (nint)i * dims;
            for (int k = head; k <= dims - 16 - tail; k += 16)
                Vector512.Load(src + k).StoreAlignedNonTemporal(row + k);
            if (i + 1 < count)
            {
                float* next = (float*)(data + ids[i + 1] * rowBytes);
                Avx512F.PermuteVar16x32x2(Vector512.Load(src + dims - 16), splice, Vector512.Load(next))
                    .StoreAlignedNonTemporal(row + dims - tail);
            }
            else
            {
                for (int d = dims - tail; d < dims; d++)
                    row[d] = src[d];
            }
        }
        Kernels.StreamingFence();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRow(byte* row, nint bytes)
    {
        // At most 16 lines (1 KiB): the hardware prefetcher streams the rest of a longer row (16 measured
        // slightly faster than 32 on 768-dim rows).
        nint end = Math.Min(bytes, 16 * 64);
        for (nint offset = 0; offset < end; offset += 64)
            Sse.Prefetch0(row + offset);
    }
}
