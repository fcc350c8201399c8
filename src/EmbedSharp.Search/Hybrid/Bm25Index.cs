using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search.Hybrid;

/// <summary>
/// An in-memory BM25 inverted index over document text (Robertson &amp; Zaragoza; Lucene's idf).
/// Documents get consecutive ids from 0, the same ids a dense index gets when documents are added
/// to both in the same order.
/// </summary>
/// <remarks>
/// Effectively computes, for a query's distinct terms t,
/// <c>score(d) = Σ_t idf(t) · tf(t,d)·(k1 + 1) / (tf(t,d) + k1·(1 − b + b·|d|/avgdl))</c> with
/// <c>idf(t) = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))</c>, N and avgdl over live documents.
/// Documents with no query term are not returned; equal scores go to the lower id.
/// </remarks>
public sealed class Bm25Index
{
    private readonly Dictionary<string, List<(int Doc, int Tf)>> _postings = new(StringComparer.Ordinal);
    private readonly List<int> _lengths = [];
    private readonly List<bool> _removed = [];
    private readonly Func<string, IEnumerable<string>> _tokenize;
    private long _totalLength;
    private int _live;

    /// <summary>An empty index using <paramref name="tokenize"/> (default <see cref="TextTokens.Words"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">k1 is negative or b is outside [0, 1].</exception>
    public Bm25Index(Func<string, IEnumerable<string>>? tokenize = null, double k1 = 1.2, double b = 0.75)
    {
        const string op = "bm25";
        if (!(k1 >= 0) || double.IsInfinity(k1))
            ThrowHelper.ArgumentOutOfRange(op, nameof(k1), k1, "k1 must be a finite number ≥ 0 (1.2 is usual)");
        if (!(b >= 0 && b <= 1))
            ThrowHelper.ArgumentOutOfRange(op, nameof(b), b, "b must be in [0, 1] (0.75 is usual)");
        _tokenize = tokenize ?? TextTokens.Words;
        K1 = k1;
        B = b;
    }

    /// <summary>Term-frequency saturation.</summary>
    public double K1 { get; }

    /// <summary>Length normalisation.</summary>
    public double B { get; }

    /// <summary>Ids handed out (live and removed).</summary>
    public int NumDocuments => _lengths.Count;

    /// <summary>Live documents.</summary>
    public int Count => _live;

    /// <summary>Adds a document and returns its id.</summary>
    public int Add(string text)
    {
        Guard.NotNull("bm25.add", text);
        int doc = _lengths.Count;
        var tf = new Dictionary<string, int>(StringComparer.Ordinal);
        int length = 0;
        foreach (string token in _tokenize(text))
        {
            tf[token] = tf.GetValueOrDefault(token) + 1;
            length++;
        }
        foreach (var (term, count) in tf)
        {
            if (!_postings.TryGetValue(term, out var list))
                _postings[term] = list = [];
            list.Add((doc, count));
        }
        _lengths.Add(length);
        _removed.Add(false);
        _totalLength += length;
        _live++;
        return doc;
    }

    /// <summary>Removes document <paramref name="id"/> from results and statistics; false when it was not live.</summary>
    public bool Remove(int id)
    {
        if ((uint)id >= (uint)_lengths.Count || _removed[id])
            return false;
        _removed[id] = true;
        _totalLength -= _lengths[id];
        _live--;
        return true;
    }

    /// <summary>The best <paramref name="k"/> live documents for <paramref name="query"/> that <paramref name="filter"/> allows, best first.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is negative.</exception>
    public Neighbor[] Search(string query, int k, SearchFilter? filter = null)
    {
        const string op = "bm25.search";
        Guard.NotNull(op, query);
        Guard.NonNegative(op, k);
        if (k == 0 || _live == 0)
            return [];
        double avg = Math.Max(1e-9, (double)_totalLength / _live);
        var scores = new Dictionary<int, double>();
        foreach (string term in _tokenize(query).Distinct(StringComparer.Ordinal))
        {
            if (!_postings.TryGetValue(term, out var list))
                continue;
            int df = 0;
            foreach (var (doc, _) in list)
            {
                if (!_removed[doc])
                    df++;
            }
            if (df == 0)
                continue;
            double idf = Math.Log(1 + (_live - df + 0.5) / (df + 0.5));
            foreach (var (doc, tf) in list)
            {
                if (_removed[doc] || (filter is not null && !filter.Allows(doc)))
                    continue;
                double norm = tf + K1 * (1 - B + B * _lengths[doc] / avg);
                scores[doc] = scores.GetValueOrDefault(doc) + idf * tf * (K1 + 1) / norm;
            }
        }
        return scores.OrderByDescending(s => s.Value).ThenBy(s => s.Key).Take(k)
            .Select(s => new Neighbor(s.Key, (float)s.Value)).ToArray();
    }
}
