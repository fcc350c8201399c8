using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
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
        int bad = Kernels.FirstOutOfRange(indices, NumEmbeddings);
        if (bad >= 0)
            ThrowHelper.IndexOutOfRange(op, nameof(indices), indices[bad], bad, NumEmbeddings);
        GatherUnchecked(indices, destination, scale);
    }

    /// <summary>Ids per chunk of parallel work (chunks are claimed dynamically, see <see cref="ParallelWork"/>).</summary>
    internal const int ParallelGrain = 2048;

    /// <summary>
    /// Ids per chunk when a gather of <paramref name="dims"/>-float rows is split across threads: small chunks claimed
    /// dynamically, so a thread that starts late or is descheduled takes fewer of them (fixed halves would wait for the
    /// slower), between 64 and <see cref="ParallelGrain"/>.
    /// </summary>
    internal static int GatherGrain(int dims) => (int)Math.Clamp(ParallelThreshold / 4 / dims, 64, ParallelGrain);

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
            bool streaming = DType == DType.Float32 && scale == 1f && Kernels.StreamingFits(dst, Dims)
                && (streamingStores ?? work * sizeof(float) >= Hardware.StreamingStoreThresholdBytes);
            if (threads <= 1 || work < ParallelThreshold)
            {
                Range(ids, indices.Length, dst);
                return;
            }
            int grain = GatherGrain(Dims);
            nint idsAddress = (nint)ids, dstAddress = (nint)dst;
            ParallelWork.For(indices.Length, grain, threads, (start, end) =>
                Range((int*)idsAddress + start, end - start, (float*)dstAddress + (nint)start * Dims));

            void Range(int* rangeIds, int count, float* output)
            {
                if (streaming)
                    GatherStreaming(rangeIds, count, output);
                else
                    GatherRange(rangeIds, count, output, scale);
            }
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

    private void GatherRange<T>(int* ids, int count, float* dst, float scale) where T : unmanaged
    {
        var rows = Rows<T>(GatherPrefetchLines);
        Kernels.GatherRows(ref rows, ids, count, dst, scale, PrefetchDistance);
    }

    /// <summary>
    /// Float32 rows written with streaming stores (<see cref="Kernels.GatherStreaming{TRows}"/>), for outputs of at least
    /// <see cref="Hardware.StreamingStoreThresholdBytes"/> (the last-level cache, at most 8 MiB), where ordinary stores
    /// would first read every output line into the cache only to evict it again.
    /// </summary>
    private void GatherStreaming(int* ids, int count, float* dst)
    {
        var rows = Rows<float>(GatherPrefetchLines);
        Kernels.GatherStreaming(ref rows, ids, count, dst, Dims, null, PrefetchDistance);
    }

    /// <summary>
    /// Lines of a row the gather prefetches: 16 (1 KiB), the hardware prefetcher streams the rest of a longer
    /// row (16 measured slightly faster than 32 on 768-dim rows).
    /// </summary>
    private const int GatherPrefetchLines = 16;

    /// <summary>
    /// The rows as the kernels' row source (<see cref="IRowSource"/>), for <typeparamref name="T"/> matching
    /// <see cref="DType"/>. The table must stay alive and undisposed while the source is used.
    /// </summary>
    internal DenseRows<T> Rows<T>(int prefetchLines = Kernels.RowPrefetchLines) where T : unmanaged
    {
        System.Diagnostics.Debug.Assert(sizeof(T) == ElementSize);
        return new DenseRows<T>((T*)Pointer, Dims, prefetchLines);
    }
}
