using System.Numerics.Tensors;

namespace EmbedSharp.Sparse;

/// <summary>
/// Coalescing of per-position gradients into a <see cref="SparseGradient"/> (sort + segment reduce).
/// </summary>
public static class Coalesce
{
    /// <summary>
    /// Effectively computes <c>grad[r] = Σ_{j : indices[j] = r, r ≠ skipIndex} positionScale[j] · gradRows[sourceRow[j]]</c>
    /// for every distinct <c>r</c>, with rows listed in ascending order and sums taken in position order.
    /// </summary>
    /// <param name="numEmbeddings">Rows of the table.</param>
    /// <param name="dims">Length of each row.</param>
    /// <param name="indices">Row id of each position; must be validated by the caller (in [0, numEmbeddings)).</param>
    /// <param name="gradRows">Upstream gradient rows, row-major, <c>dims</c> wide.</param>
    /// <param name="sourceRow">Which upstream row feeds each position (e.g. its bag); empty means position <c>j</c> reads row <c>j</c>.</param>
    /// <param name="positionScale">A factor per position; empty means 1.</param>
    /// <param name="skipIndex">A row id whose positions contribute nothing (the padding row), or -1.</param>
    /// <param name="skipRow">Optional per-row mask; rows where it is true are left out (frozen rows).</param>
    public static SparseGradient Rows(int numEmbeddings, int dims, ReadOnlySpan<int> indices, ReadOnlySpan<float> gradRows,
        ReadOnlySpan<int> sourceRow = default, ReadOnlySpan<float> positionScale = default, int skipIndex = -1,
        System.Collections.BitArray? skipRow = null)
    {
        // Key = row in the high 32 bits, position in the low 32: one sort orders by row, then position.
        var keys = new long[indices.Length];
        int n = 0;
        for (int j = 0; j < indices.Length; j++)
        {
            int r = indices[j];
            if (r == skipIndex || (skipRow is not null && skipRow[r]))
                continue;
            keys[n++] = ((long)r << 32) | (uint)j;
        }
        Array.Sort(keys, 0, n);

        int distinct = 0;
        for (int k = 0; k < n; k++)
            if (k == 0 || (int)(keys[k] >> 32) != (int)(keys[k - 1] >> 32))
                distinct++;

        var rows = new int[distinct];
        var values = new float[(long)distinct * dims];
        int slot = -1;
        for (int k = 0; k < n; k++)
        {
            int r = (int)(keys[k] >> 32);
            int j = (int)(uint)keys[k];
            if (slot < 0 || rows[slot] != r)
                rows[++slot] = r;
            int src = sourceRow.IsEmpty ? j : sourceRow[j];
            ReadOnlySpan<float> g = gradRows.Slice(src * dims, dims);
            Span<float> dst = values.AsSpan(slot * dims, dims);
            if (positionScale.IsEmpty)
                TensorPrimitives.Add(dst, g, dst);
            else
                TensorPrimitives.MultiplyAdd(g, positionScale[j], dst, dst);
        }
        return new SparseGradient(numEmbeddings, dims, rows, values);
    }
}
