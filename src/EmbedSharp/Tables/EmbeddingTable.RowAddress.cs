using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace EmbedSharp.Tables;

public sealed unsafe partial class EmbeddingTable
{
    /// <summary>
    /// The address of row <paramref name="row"/>'s first element, computed in 64 bits
    /// (<see cref="RowOffset"/>), so tables past 2³¹ elements — a 10M-word × 300-dim model — are
    /// addressed as any other; for trainers that update rows in place. The storage never moves (native or
    /// external memory) and stays valid until the table is disposed. No bounds check in release builds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte* RowAddress(long row)
    {
        Debug.Assert((ulong)row <= (ulong)NumEmbeddings, "row is inside the table (or one past its end)");
        return Pointer + RowOffset(row, Dims, ElementSize);
    }

    /// <summary>The byte offset of row <paramref name="row"/>: <c>row · dims · elementSize</c> in 64-bit arithmetic.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long RowOffset(long row, int dims, int elementSize) => row * dims * elementSize;
}
