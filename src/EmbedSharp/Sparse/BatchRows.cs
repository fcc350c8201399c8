using System.Buffers;
using System.Collections;

namespace EmbedSharp.Sparse;

/// <summary>
/// A batch's kept positions as the fused backward + step visits them: the rows fed by exactly one
/// position, in batch order (<see cref="SingleRows"/>[k] is fed by <see cref="SinglePositions"/>[k],
/// positions ascending), and the rows fed by two or more positions, grouped in <see cref="Others"/>
/// (rows ascending, each row's positions in batch order). In a uniform batch most rows are single:
/// visiting them in batch order reads their upstream rows front to back, and finding them needs no
/// sort. Arrays come from the shared pool and go back on <see cref="Dispose"/>.
/// </summary>
internal sealed class BatchRows : IDisposable
{
    private int[] _singleRows, _singlePositions;

    private BatchRows(int[] singleRows, int[] singlePositions, int singleCount, RowGroups others, int positionCount)
    {
        _singleRows = singleRows;
        _singlePositions = singlePositions;
        SingleCount = singleCount;
        Others = others;
        PositionCount = positionCount;
    }

    /// <summary>Rows fed by one kept position.</summary>
    public int SingleCount { get; }

    /// <summary>The single rows, in the order of their positions.</summary>
    public ReadOnlySpan<int> SingleRows => _singleRows.AsSpan(0, SingleCount);

    /// <summary>The position feeding each single row, ascending.</summary>
    public ReadOnlySpan<int> SinglePositions => _singlePositions.AsSpan(0, SingleCount);

    /// <summary>The rows fed by two or more kept positions.</summary>
    public RowGroups Others { get; }

    /// <summary>Distinct rows: <see cref="SingleCount"/> + <c>Others.Count</c>.</summary>
    public int Count => SingleCount + Others.Count;

    /// <summary>Positions kept (those not skipped).</summary>
    public int PositionCount { get; }

    /// <summary>Positions in the batch, kept or not: every position is below it.</summary>
    public int IndexCount => Others.IndexCount;

    /// <summary>
    /// Splits positions <c>j</c> by <c>indices[j]</c>, leaving out positions holding
    /// <paramref name="skipIndex"/> and rows set in <paramref name="skipRow"/>. Indices must already be
    /// validated to lie in <c>[0, numEmbeddings)</c>. Repeated rows are found with two bits per table
    /// row when that bitmap has no more words than the batch has positions, else by sorting the batch
    /// (<paramref name="bitmap"/> forces one way, for tests); both give the same result.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static BatchRows Build(ReadOnlySpan<int> indices, int numEmbeddings, int skipIndex = -1, BitArray? skipRow = null, bool? bitmap = null)
    {
        bool byBitmap = bitmap ?? (numEmbeddings + 63L) >> 6 <= Math.Max(indices.Length, 64);
        return byBitmap ? ByBitmap(indices, numEmbeddings, skipIndex, skipRow) : BySort(indices, numEmbeddings, skipIndex, skipRow);
    }

    private static BatchRows ByBitmap(ReadOnlySpan<int> indices, int numEmbeddings, int skipIndex, BitArray? skipRow)
    {
        int n = indices.Length;
        int words = (int)((numEmbeddings + 63L) >> 6);
        ulong[] seen = ArrayPool<ulong>.Shared.Rent(Math.Max(words, 1));
        ulong[] repeated = ArrayPool<ulong>.Shared.Rent(Math.Max(words, 1));
        try
        {
            seen.AsSpan(0, words).Clear();
            repeated.AsSpan(0, words).Clear();
            int kept = 0;
            for (int j = 0; j < n; j++)
            {
                int r = indices[j];
                if (r == skipIndex || (skipRow is not null && skipRow[r]))
                    continue;
                kept++;
                ulong bit = 1UL << r; // the shift count is taken mod 64
                ref ulong word = ref seen[r >> 6];
                if ((word & bit) != 0)
                    repeated[r >> 6] |= bit;
                word |= bit;
            }
            int[] singleRows = ArrayPool<int>.Shared.Rent(Math.Max(kept, 1));
            int[] singlePositions = ArrayPool<int>.Shared.Rent(Math.Max(kept, 1));
            int[] keys = ArrayPool<int>.Shared.Rent(Math.Max(kept, 1));
            int[] positions = ArrayPool<int>.Shared.Rent(Math.Max(kept, 1));
            int singles = 0, others = 0;
            for (int j = 0; j < n; j++)
            {
                int r = indices[j];
                if (r == skipIndex || (skipRow is not null && skipRow[r]))
                    continue;
                if ((repeated[r >> 6] & (1UL << r)) == 0)
                {
                    singleRows[singles] = r;
                    singlePositions[singles++] = j;
                }
                else
                {
                    keys[others] = r;
                    positions[others++] = j;
                }
            }
            return new BatchRows(singleRows, singlePositions, singles, RowGroups.FromKeyed(keys, positions, others, numEmbeddings, n), kept);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(seen);
            ArrayPool<ulong>.Shared.Return(repeated);
        }
    }

    private static BatchRows BySort(ReadOnlySpan<int> indices, int numEmbeddings, int skipIndex, BitArray? skipRow)
    {
        using RowGroups all = RowGroups.Build(indices, numEmbeddings, skipIndex, skipRow);
        ReadOnlySpan<int> rows = all.Rows, starts = all.Starts, grouped = all.Positions;
        int n = all.IndexCount, kept = all.PositionCount;
        int[] rowAt = ArrayPool<int>.Shared.Rent(Math.Max(n, 1));
        int[] keys = ArrayPool<int>.Shared.Rent(Math.Max(kept, 1));
        int[] positions = ArrayPool<int>.Shared.Rent(Math.Max(kept, 1));
        try
        {
            rowAt.AsSpan(0, n).Fill(-1);
            int others = 0;
            for (int i = 0; i < all.Count; i++)
            {
                if (starts[i + 1] - starts[i] == 1)
                {
                    rowAt[grouped[starts[i]]] = rows[i];
                    continue;
                }
                others = AppendSegment(rows[i], grouped[starts[i]..starts[i + 1]], keys, positions, others);
            }
            int[] singleRows = ArrayPool<int>.Shared.Rent(Math.Max(kept, 1));
            int[] singlePositions = ArrayPool<int>.Shared.Rent(Math.Max(kept, 1));
            int singles = 0;
            for (int j = 0; j < n; j++)
            {
                if (rowAt[j] >= 0)
                {
                    singleRows[singles] = rowAt[j];
                    singlePositions[singles++] = j;
                }
            }
            // Already grouped: the stable sort in FromKeyed keeps the order.
            var groups = RowGroups.FromKeyed(keys, positions, others, numEmbeddings, n);
            keys = positions = [];
            return new BatchRows(singleRows, singlePositions, singles, groups, kept);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(rowAt);
            if (keys.Length > 0)
            {
                ArrayPool<int>.Shared.Return(keys);
                ArrayPool<int>.Shared.Return(positions);
            }
        }
    }

    /// <summary>All kept positions grouped by row, as <see cref="RowGroups.Build"/> groups them (for the paths that need every row's sum first).</summary>
    public RowGroups ToGroups(int numEmbeddings)
    {
        int[] keys = ArrayPool<int>.Shared.Rent(Math.Max(PositionCount, 1));
        int[] positions = ArrayPool<int>.Shared.Rent(Math.Max(PositionCount, 1));
        ReadOnlySpan<int> rows = Others.Rows, starts = Others.Starts, grouped = Others.Positions;
        int m = 0;
        for (int i = 0; i < Others.Count; i++)
            m = AppendSegment(rows[i], grouped[starts[i]..starts[i + 1]], keys, positions, m);
        SingleRows.CopyTo(keys.AsSpan(m));
        SinglePositions.CopyTo(positions.AsSpan(m));
        // Positions must come ascending within a row for the stable sort: each single row has one, and
        // the other rows' positions were listed in batch order above.
        return RowGroups.FromKeyed(keys, positions, PositionCount, numEmbeddings, IndexCount);
    }

    /// <summary>Writes one (row, position) pair per position of <paramref name="row"/>'s segment from index <paramref name="at"/>; returns the index after them.</summary>
    private static int AppendSegment(int row, ReadOnlySpan<int> segment, Span<int> keys, Span<int> positions, int at)
    {
        keys.Slice(at, segment.Length).Fill(row);
        segment.CopyTo(positions[at..]);
        return at + segment.Length;
    }

    /// <summary>Returns the arrays to the pool; the batch must not be used afterwards.</summary>
    public void Dispose()
    {
        if (_singleRows.Length == 0)
            return;
        ArrayPool<int>.Shared.Return(_singleRows);
        ArrayPool<int>.Shared.Return(_singlePositions);
        _singleRows = _singlePositions = [];
        Others.Dispose();
    }
}
