using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;

namespace EmbedSharp.Search;

/// <summary>
/// Exact nearest-neighbour search over an <see cref="EmbeddingTable"/>: score every row, keep the
/// best k with a bounded heap.
/// </summary>
/// <remarks>
/// Order: best score first (highest for Cosine and Dot, lowest for L2); equal scores keep the lower
/// row first; NaN scores rank after every number. The result is the same as sorting all rows by
/// that order and taking the first k.
/// </remarks>
public static class VectorSearch
{
    /// <summary>
    /// The <paramref name="k"/> nearest rows of <paramref name="table"/> to <paramref name="query"/>.
    /// </summary>
    /// <param name="table">Rows to search (any dtype; rows are widened to float32).</param>
    /// <param name="query">The query, <c>Dims</c> long.</param>
    /// <param name="k">How many to return (fewer when the table has fewer eligible rows).</param>
    /// <param name="metric">Scoring.</param>
    /// <param name="rowLimit">Search only rows <c>0..rowLimit-1</c>; null searches all.</param>
    /// <param name="exclude">Rows never returned.</param>
    /// <exception cref="ArgumentException">The query length differs from <c>Dims</c>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is negative, or <paramref name="rowLimit"/> is out of range.</exception>
    public static Neighbor[] Search(EmbeddingTable table, ReadOnlySpan<float> query, int k, SimilarityMetric metric,
        int? rowLimit = null, ReadOnlySpan<int> exclude = default)
    {
        const string op = "search";
        Guard.NotNull(op, table);
        Guard.Length(op, query.Length, table.Dims, "Dims of the table");
        Guard.NonNegative(op, k);
        int rows = rowLimit ?? table.NumEmbeddings;
        Guard.InRange(op, rows, 0, table.NumEmbeddings + 1L, nameof(rowLimit));
        if (!Enum.IsDefined(metric))
            ThrowHelper.ArgumentOutOfRange(op, nameof(metric), metric, "valid values are Cosine, Dot, L2");
        var scores = new float[rows];
        Scores(table, query, metric, scores);
        return TopK(scores, k, metric != SimilarityMetric.L2, exclude);
    }

    /// <summary>Scores rows <c>0..destination.Length-1</c> of <paramref name="table"/> against <paramref name="query"/>.</summary>
    public static void Scores(EmbeddingTable table, ReadOnlySpan<float> query, SimilarityMetric metric, Span<float> destination)
    {
        const string op = "search.scores";
        Guard.NotNull(op, table);
        Guard.Length(op, query.Length, table.Dims, "Dims of the table");
        if (destination.Length > table.NumEmbeddings)
            ThrowHelper.Argument(op, nameof(destination), $"destination has {destination.Length} elements but the table has {table.NumEmbeddings} rows");
        double qNorm = metric == SimilarityMetric.Cosine ? SearchKernels.Norm(query) : 0;
        var buffer = table.DType == DType.Float32 ? null : new float[table.Dims];
        for (int r = 0; r < destination.Length; r++)
        {
            ReadOnlySpan<float> row;
            if (buffer is null)
            {
                row = table.GetRow<float>(r);
            }
            else
            {
                table.ReadRow(r, buffer);
                row = buffer;
            }
            destination[r] = metric switch
            {
                SimilarityMetric.Dot => SearchKernels.Dot(row, query),
                SimilarityMetric.L2 => MathF.Sqrt(SearchKernels.SquaredDistance(row, query)),
                _ => Cosine(SearchKernels.Dot(row, query), SearchKernels.Norm(row), qNorm),
            };
        }
    }

    private static float Cosine(float dot, double rowNorm, double queryNorm) =>
        rowNorm == 0 || queryNorm == 0 ? 0f : (float)(dot / (rowNorm * queryNorm));

    /// <summary>
    /// Indices of the <paramref name="k"/> best scores, best first (see the class remarks for the order).
    /// </summary>
    /// <param name="scores">One score per row.</param>
    /// <param name="k">How many to keep.</param>
    /// <param name="largest">True when higher scores are better.</param>
    /// <param name="exclude">Rows to skip.</param>
    public static Neighbor[] TopK(ReadOnlySpan<float> scores, int k, bool largest = true, ReadOnlySpan<int> exclude = default)
    {
        Guard.NonNegative("search.top_k", k);
        HashSet<int>? skip = exclude.Length > 8 ? [.. exclude.ToArray()] : null;
        int cap = Math.Min(k, scores.Length);
        if (cap == 0)
            return [];
        // Min-heap on "goodness": the root is the worst row kept so far.
        var heapScore = new float[cap];
        var heapIndex = new int[cap];
        int size = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (skip is not null ? skip.Contains(i) : exclude.Contains(i))
                continue;
            float s = scores[i];
            if (size < cap)
            {
                heapScore[size] = s;
                heapIndex[size] = i;
                SiftUp(heapScore, heapIndex, size, largest);
                size++;
            }
            else if (Better(s, i, heapScore[0], heapIndex[0], largest))
            {
                heapScore[0] = s;
                heapIndex[0] = i;
                SiftDown(heapScore, heapIndex, size, largest);
            }
        }
        var result = new Neighbor[size];
        for (int n = size - 1; n >= 0; n--)
        {
            result[n] = new Neighbor(heapIndex[0], heapScore[0]);
            size--;
            heapScore[0] = heapScore[size];
            heapIndex[0] = heapIndex[size];
            SiftDown(heapScore, heapIndex, size, largest);
        }
        return result;
    }

    /// <summary>Scalar reference for <see cref="TopK"/>: sort every eligible row by the order, take k.</summary>
    internal static Neighbor[] TopKReference(ReadOnlySpan<float> scores, int k, bool largest = true, ReadOnlySpan<int> exclude = default)
    {
        var all = new List<Neighbor>(scores.Length);
        for (int i = 0; i < scores.Length; i++)
        {
            if (!exclude.Contains(i))
                all.Add(new Neighbor(i, scores[i]));
        }
        all.Sort((a, b) => Better(a.Score, a.Index, b.Score, b.Index, largest) ? -1 : Better(b.Score, b.Index, a.Score, a.Index, largest) ? 1 : 0);
        return all.Take(k).ToArray();
    }

    /// <summary>True when (sa, ia) ranks before (sb, ib).</summary>
    internal static bool Better(float sa, int ia, float sb, int ib, bool largest)
    {
        bool na = float.IsNaN(sa), nb = float.IsNaN(sb);
        if (na || nb)
            return na && nb ? ia < ib : nb;
        if (sa != sb)
            return largest ? sa > sb : sa < sb;
        return ia < ib;
    }

    private static void SiftUp(float[] s, int[] idx, int i, bool largest)
    {
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            // Parent must be worse than (or equal to) the child.
            if (!Better(s[parent], idx[parent], s[i], idx[i], largest))
                break;
            Swap(s, idx, i, parent);
            i = parent;
        }
    }

    private static void SiftDown(float[] s, int[] idx, int size, bool largest)
    {
        int i = 0;
        while (true)
        {
            int l = 2 * i + 1, r = l + 1, worst = i;
            if (l < size && Better(s[worst], idx[worst], s[l], idx[l], largest))
                worst = l;
            if (r < size && Better(s[worst], idx[worst], s[r], idx[r], largest))
                worst = r;
            if (worst == i)
                return;
            Swap(s, idx, i, worst);
            i = worst;
        }
    }

    private static void Swap(float[] s, int[] idx, int a, int b)
    {
        (s[a], s[b]) = (s[b], s[a]);
        (idx[a], idx[b]) = (idx[b], idx[a]);
    }
}
