using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;

namespace EmbedSharp.Search;

/// <summary>
/// A searchable set of vectors: the seam where an approximate index (HNSW, IVF, ...) can replace
/// the exact scan. <see cref="KeyedVectors"/> uses one for its similarity queries.
/// </summary>
public interface IVectorIndex
{
    /// <summary>Number of indexed rows.</summary>
    int NumEmbeddings { get; }

    /// <summary>Vector length.</summary>
    int Dims { get; }

    /// <summary>The metric the index ranks by.</summary>
    SimilarityMetric Metric { get; }

    /// <summary>
    /// Up to <paramref name="k"/> rows nearest <paramref name="query"/>, best first, searching rows
    /// <c>0..rowLimit-1</c> (all when null) and skipping <paramref name="exclude"/>.
    /// </summary>
    Neighbor[] Search(ReadOnlySpan<float> query, int k, int? rowLimit = null, ReadOnlySpan<int> exclude = default);
}

/// <summary>An exact index: a full scan of a table with <see cref="VectorSearch"/>.</summary>
public sealed class ExactIndex : IVectorIndex
{
    private readonly EmbeddingTable _table;

    /// <summary>Indexes <paramref name="table"/> (not copied; keep it alive) under <paramref name="metric"/>.</summary>
    public ExactIndex(EmbeddingTable table, SimilarityMetric metric = SimilarityMetric.Cosine)
    {
        _table = Guard.NotNull("search.index", table);
        if (!Enum.IsDefined(metric))
            ThrowHelper.ArgumentOutOfRange("search.index", nameof(metric), metric, "valid values are Cosine, Dot, L2");
        Metric = metric;
    }

    /// <inheritdoc/>
    public int NumEmbeddings => _table.NumEmbeddings;

    /// <inheritdoc/>
    public int Dims => _table.Dims;

    /// <inheritdoc/>
    public SimilarityMetric Metric { get; }

    /// <inheritdoc/>
    public Neighbor[] Search(ReadOnlySpan<float> query, int k, int? rowLimit = null, ReadOnlySpan<int> exclude = default) =>
        VectorSearch.Search(_table, query, k, Metric, rowLimit, exclude);
}
