using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search.Hybrid;

/// <summary>
/// Hybrid search over documents: a BM25 keyword index and a dense index of the documents' embeddings,
/// fused by reciprocal rank. Documents get the same id in both.
/// </summary>
public sealed class HybridIndex
{
    /// <summary>Pairs <paramref name="dense"/> (a writable index, e.g. <c>new ExactIndex(dims)</c> or an <c>HnswIndex</c>) with a BM25 index.</summary>
    /// <exception cref="ArgumentException">The dense index is read-only, not empty, or its Dims differ from the embedder's.</exception>
    public HybridIndex(ITextEmbedder embedder, IVectorIndex dense, Bm25Index? keywords = null)
    {
        const string op = "hybrid";
        Embedder = Guard.NotNull(op, embedder);
        Dense = Guard.NotNull(op, dense);
        Keywords = keywords ?? new Bm25Index();
        if (dense.IsReadOnly || dense.NumEmbeddings != 0 || Keywords.NumDocuments != 0)
            ThrowHelper.Argument(op, nameof(dense), "the dense and keyword indexes must be writable and empty, so that ids line up");
        if (dense.Dims != embedder.Dims)
            ThrowHelper.Argument(op, nameof(dense), $"the dense index holds {dense.Dims}-long vectors but the embedder makes {embedder.Dims}-long ones");
    }

    /// <summary>The document embedder.</summary>
    public ITextEmbedder Embedder { get; }

    /// <summary>The dense index.</summary>
    public IVectorIndex Dense { get; }

    /// <summary>The keyword index.</summary>
    public Bm25Index Keywords { get; }

    /// <summary>Adds a document to both indexes; returns its id.</summary>
    public int Add(string text)
    {
        Guard.NotNull("hybrid.add", text);
        var v = new float[Embedder.Dims];
        Embedder.Embed(text, v);
        int id = Dense.Add(v);
        int kid = Keywords.Add(text);
        System.Diagnostics.Debug.Assert(id == kid);
        return id;
    }

    /// <summary>Removes a document from both indexes.</summary>
    public bool Remove(int id) => Dense.Remove(id) & Keywords.Remove(id);

    /// <summary>
    /// The best <paramref name="k"/> documents: the top <paramref name="candidates"/> of each index,
    /// fused by <see cref="RankFusion.Reciprocal"/> (scores are the fused ones).
    /// </summary>
    public Neighbor[] Search(string query, int k, SearchFilter? filter = null, int candidates = 50, int rrfK = 60)
    {
        const string op = "hybrid.search";
        Guard.NotNull(op, query);
        Guard.NonNegative(op, k);
        Guard.Positive(op, candidates);
        var v = new float[Embedder.Dims];
        Embedder.Embed(query, v);
        var dense = Dense.Search(v, Math.Max(candidates, k), filter);
        var keyword = Keywords.Search(query, Math.Max(candidates, k), filter);
        return RankFusion.Reciprocal([dense, keyword], k, rrfK);
    }
}
