namespace EmbedSharp.Sparse;

/// <summary>
/// Coalescing of per-position gradients into a <see cref="SparseGradient"/> (a stable radix sort by row, then a segment sum per row; see <see cref="RowGroups"/>).
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
        using RowGroups groups = RowGroups.Build(indices, numEmbeddings, skipIndex, skipRow);
        return groups.Materialize(numEmbeddings, new GradientSource(gradRows, dims, sourceRow, positionScale));
    }
}
