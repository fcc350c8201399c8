namespace EmbedSharp.Search;

/// <summary>
/// A searchable set of vectors under ids <c>0..NumEmbeddings-1</c>: the seam where an approximate
/// index (HNSW, IVF, ...) replaces the exact scan. <see cref="KeyedVectors"/> uses one for its
/// similarity queries.
/// </summary>
/// <remarks>
/// Order of results: best first (highest score for Cosine and Dot, lowest distance for L2), equal
/// scores by the lower id. A search with a <see cref="SearchFilter"/> returns the best <c>k</c>
/// allowed live ids, fewer only when fewer exist. Queries containing NaN or infinity are rejected.
/// Like <see cref="ICollection{T}"/>, an index reports <see cref="IsReadOnly"/>: a view over a table
/// it does not own cannot grow, and its <see cref="Add"/> and <see cref="Remove"/> throw
/// <see cref="NotSupportedException"/>.
/// </remarks>
public interface IVectorIndex
{
    /// <summary>Ids handed out so far (live and removed): ids are <c>0..NumEmbeddings-1</c>.</summary>
    int NumEmbeddings { get; }

    /// <summary>Live (not removed) vectors.</summary>
    int Count { get; }

    /// <summary>Vector length.</summary>
    int Dims { get; }

    /// <summary>The metric the index ranks by.</summary>
    SimilarityMetric Metric { get; }

    /// <summary>Whether <see cref="Add"/> and <see cref="Remove"/> are refused.</summary>
    bool IsReadOnly { get; }

    /// <summary>Up to <paramref name="k"/> ids nearest <paramref name="query"/>, best first, only ids <paramref name="filter"/> allows.</summary>
    /// <exception cref="ArgumentException">The query is not <see cref="Dims"/> long or holds NaN/infinity.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is negative.</exception>
    Neighbor[] Search(ReadOnlySpan<float> query, int k, SearchFilter? filter = null);

    /// <summary>
    /// <see cref="Search"/> for each of the <c>queries.Length / Dims</c> row-major queries, on up to
    /// <paramref name="threads"/> threads (−1: the machine's); the results do not depend on the thread count.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="queries"/> is not a whole number of rows, or holds NaN/infinity.</exception>
    Neighbor[][] SearchBatch(ReadOnlySpan<float> queries, int k, SearchFilter? filter = null, int threads = -1);

    /// <summary>Adds <paramref name="vector"/> and returns its id (the next one, <see cref="NumEmbeddings"/> before the call).</summary>
    /// <exception cref="NotSupportedException">The index is read-only.</exception>
    int Add(ReadOnlySpan<float> vector);

    /// <summary>Removes id <paramref name="id"/>; false when it was not live.</summary>
    /// <exception cref="NotSupportedException">The index is read-only.</exception>
    bool Remove(int id);

    /// <summary>Writes the index to <paramref name="destination"/> in its own validated format.</summary>
    void Save(Stream destination);
}
