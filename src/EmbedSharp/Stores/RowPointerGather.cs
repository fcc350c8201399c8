using System.Buffers;
using System.Runtime.CompilerServices;
using EmbedSharp.Numerics;

namespace EmbedSharp.Stores;

/// <summary>
/// The row gather of <see cref="Tables.EmbeddingTable"/> for rows that live in several tables: row i of the
/// output is copied from the float32 row at <c>rows[i]</c>. The sharded dynamic store resolves each id to its
/// shard's row and then copies the whole batch in one pass with this kernel, as a dense table would: rows a few
/// ahead prefetched, batches of more than 2<sup>18</sup> output floats split across threads in chunks claimed
/// dynamically, streaming stores for outputs at least the size of the last-level cache.
/// </summary>
internal static unsafe class RowPointerGather
{
    /// <summary>
    /// <c>destination[i·dims .. (i+1)·dims) = rows[i][0 .. dims)</c> for every i. The rows must stay valid
    /// (their tables alive and locked) for the call. <paramref name="maxThreads"/> −1 means the machine's;
    /// <paramref name="streamingStores"/> null decides by size, as the table's gather, and true or false forces it (tests).
    /// </summary>
    public static void Gather(ReadOnlySpan<nint> rows, int dims, Span<float> destination, int maxThreads = -1, bool? streamingStores = null)
    {
        System.Diagnostics.Debug.Assert(destination.Length >= (long)rows.Length * dims);
        int n = rows.Length;
        if (n == 0 || dims == 0)
            return;
        int threads = maxThreads > 0 ? maxThreads : ParallelWork.DefaultThreads;
        long work = (long)n * dims;
        int[] identity = ArrayPool<int>.Shared.Rent(n);
        try
        {
            for (int i = 0; i < n; i++)
                identity[i] = i;
            fixed (nint* rowAddresses = rows)
            fixed (int* ids = identity)
            fixed (float* dst = destination)
            {
                bool streaming = Kernels.StreamingFits(dst, dims) && (streamingStores ?? work * sizeof(float) >= Hardware.StreamingStoreThresholdBytes);
                var source = new PointerRows(rowAddresses, dims);
                if (threads <= 1 || work < Tables.EmbeddingTable.ParallelThreshold)
                {
                    Range(source, ids, n, dst, dims, streaming);
                    return;
                }
                int grain = (int)Math.Clamp(Tables.EmbeddingTable.ParallelThreshold / 4 / dims, 64, Tables.EmbeddingTable.ParallelGrain);
                nint idsAddress = (nint)ids, dstAddress = (nint)dst;
                ParallelWork.For(n, grain, threads, (start, end) =>
                    Range(source, (int*)idsAddress + start, end - start, (float*)dstAddress + (nint)start * dims, dims, streaming));
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(identity);
        }
    }

    private static void Range(PointerRows source, int* ids, int count, float* destination, int dims, bool streaming)
    {
        if (streaming)
            Kernels.GatherStreaming(ref source, ids, count, destination, dims, null, Tables.EmbeddingTable.PrefetchDistance);
        else
            Kernels.GatherRows(ref source, ids, count, destination, 1f, Tables.EmbeddingTable.PrefetchDistance);
    }

    /// <summary>The plain reference: one span copy a row.</summary>
    public static void GatherReference(ReadOnlySpan<nint> rows, int dims, Span<float> destination)
    {
        for (int i = 0; i < rows.Length; i++)
            new ReadOnlySpan<float>((float*)rows[i], dims).CopyTo(destination.Slice(i * dims, dims));
    }

    /// <summary>Row k is the float32 row at <c>rows[k]</c>; prefetch asks for its first 16 lines, as the table's gather.</summary>
    private readonly struct PointerRows(nint* rows, int dims) : IRowSource
    {
        private readonly nint _prefetchBytes = Math.Min((nint)dims * sizeof(float), 16 * 64);

        public int Dims => dims;

        public static bool Prefetches => System.Runtime.Intrinsics.X86.Sse.IsSupported;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float* Row(int row, float* scratch) => (float*)rows[row];

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(int row) => Kernels.PrefetchRow((void*)rows[row], _prefetchBytes);
    }
}
