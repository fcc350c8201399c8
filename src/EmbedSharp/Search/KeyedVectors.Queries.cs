using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search;

/// <summary>How <see cref="KeyedVectors.Analogy"/> combines the three words.</summary>
public enum AnalogyMethod
{
    /// <summary>3CosAdd: nearest to <c>unit(b) + unit(c) − unit(a)</c> (gensim's <c>most_similar</c>).</summary>
    Add,
    /// <summary>3CosMul of Levy and Goldberg (gensim's <c>most_similar_cosmul</c>).</summary>
    Mul,
}

public sealed partial class KeyedVectors
{
    /// <summary>
    /// An optional index that answers <see cref="MostSimilar(IEnumerable{string}, IEnumerable{string}?, int, int?)"/>
    /// and <see cref="SimilarByVector"/> instead of the exact scan (gensim's <c>indexer</c>). It must
    /// index <see cref="Table"/>'s rows under <see cref="SimilarityMetric.Cosine"/>.
    /// </summary>
    public IVectorIndex? Index { get; set; }

    /// <summary>
    /// The <paramref name="topN"/> words nearest the mean of the unit vectors of
    /// <paramref name="positive"/> minus those of <paramref name="negative"/> (3CosAdd), the
    /// query words excluded; gensim's <c>most_similar</c>.
    /// </summary>
    /// <remarks>
    /// Effectively computes <c>m = unit((Σ_p unit(v_p) − Σ_n unit(v_n)) / (|P| + |N|))</c> and ranks
    /// every word <c>w</c> of the first <paramref name="restrictVocab"/> rows by <c>cos(v_w, m)</c>,
    /// highest first, equal scores by row.
    /// </remarks>
    /// <param name="positive">Words that contribute positively.</param>
    /// <param name="negative">Words that contribute negatively.</param>
    /// <param name="topN">How many to return; 0 returns none.</param>
    /// <param name="restrictVocab">Search only the first this many words; null searches all.</param>
    /// <exception cref="KeyNotFoundException">A query word has no vector.</exception>
    /// <exception cref="ArgumentException">No query words were given.</exception>
    public WordSimilarity[] MostSimilar(IEnumerable<string> positive, IEnumerable<string>? negative = null, int topN = 10, int? restrictVocab = null)
    {
        const string op = "keyed_vectors.most_similar";
        var (pos, neg) = Rows(op, positive, negative);
        Guard.NonNegative(op, topN);
        return ToWords(MostSimilarRows(pos, neg, topN, Limit(op, restrictVocab), [.. pos, .. neg]));
    }

    /// <summary>The <paramref name="topN"/> words nearest <paramref name="word"/> (gensim's <c>similar_by_word</c>).</summary>
    /// <exception cref="KeyNotFoundException">The word has no vector.</exception>
    public WordSimilarity[] MostSimilar(string word, int topN = 10, int? restrictVocab = null) =>
        MostSimilar([word], null, topN, restrictVocab);

    /// <summary>The <paramref name="topN"/> words whose cosine with <paramref name="vector"/> is highest; no word is excluded.</summary>
    /// <exception cref="ArgumentException">The vector is not <see cref="Dims"/> long.</exception>
    public WordSimilarity[] SimilarByVector(ReadOnlySpan<float> vector, int topN = 10, int? restrictVocab = null)
    {
        const string op = "keyed_vectors.similar_by_vector";
        Guard.Length(op, vector.Length, Dims, "Dims");
        Guard.NonNegative(op, topN);
        var q = UnitQuery(vector);
        return ToWords(Rank(q, topN, Limit(op, restrictVocab), []));
    }

    /// <summary>
    /// 3CosMul (Levy and Goldberg 2014, gensim's <c>most_similar_cosmul</c>): rank words by
    /// <c>Π_p c(w, p) / (Π_n c(w, n) + 1e-6)</c> with <c>c = (1 + cos) / 2</c>, the query words excluded.
    /// </summary>
    /// <exception cref="KeyNotFoundException">A query word has no vector.</exception>
    /// <exception cref="ArgumentException"><paramref name="positive"/> is empty.</exception>
    public WordSimilarity[] MostSimilarCosmul(IEnumerable<string> positive, IEnumerable<string>? negative = null, int topN = 10, int? restrictVocab = null)
    {
        const string op = "keyed_vectors.most_similar_cosmul";
        var (pos, neg) = Rows(op, positive, negative);
        if (pos.Length == 0)
            ThrowHelper.Argument(op, nameof(positive), "positive is empty; 3CosMul needs at least one positive word");
        Guard.NonNegative(op, topN);
        return ToWords(CosmulRows(pos, neg, topN, Limit(op, restrictVocab), [.. pos, .. neg]));
    }

    /// <summary>Solves <c>a : b :: c : ?</c> — the <paramref name="topN"/> best answers, <paramref name="a"/>, <paramref name="b"/>, <paramref name="c"/> excluded.</summary>
    /// <exception cref="KeyNotFoundException">A word has no vector.</exception>
    public WordSimilarity[] Analogy(string a, string b, string c, int topN = 1, AnalogyMethod method = AnalogyMethod.Add, int? restrictVocab = null)
    {
        if (!Enum.IsDefined(method))
            ThrowHelper.ArgumentOutOfRange("keyed_vectors.analogy", nameof(method), method, "valid values are Add, Mul");
        return method == AnalogyMethod.Add
            ? MostSimilar([b, c], [a], topN, restrictVocab)
            : MostSimilarCosmul([b, c], [a], topN, restrictVocab);
    }

    /// <summary>Cosine similarity of two words.</summary>
    /// <remarks>NaN never results: a zero vector has similarity 0 with everything.</remarks>
    /// <exception cref="KeyNotFoundException">A word has no vector.</exception>
    public float Similarity(string word1, string word2)
    {
        const string op = "keyed_vectors.similarity";
        int i = GetIndex(op, word1), j = GetIndex(op, word2);
        var unit = UnitTable();
        return SearchKernels.Dot(unit.GetRow<float>(i), unit.GetRow<float>(j));
    }

    /// <summary>Cosine similarity between the means of two word sets (raw vectors averaged, then compared).</summary>
    /// <exception cref="ArgumentException">A set is empty.</exception>
    /// <exception cref="KeyNotFoundException">A word has no vector.</exception>
    public float NSimilarity(IEnumerable<string> words1, IEnumerable<string> words2)
    {
        const string op = "keyed_vectors.n_similarity";
        var a = Guard.NotNull(op, words1).ToArray();
        var b = Guard.NotNull(op, words2).ToArray();
        if (a.Length == 0 || b.Length == 0)
            ThrowHelper.Argument(op, a.Length == 0 ? nameof(words1) : nameof(words2), "a word set is empty; both need at least one word");
        var m1 = Mean(op, a);
        var m2 = Mean(op, b);
        Normalize(m1);
        Normalize(m2);
        double dot = 0;
        for (int i = 0; i < m1.Length; i++)
            dot += m1[i] * m2[i];
        return (float)dot;
    }

    /// <summary>
    /// The words ranked by cosine with the normalised mean of their (unit, when
    /// <paramref name="useNorm"/>) vectors, most central first; ties by word, descending (gensim's
    /// <c>rank_by_centrality</c>). Words without a vector are ignored.
    /// </summary>
    /// <exception cref="ArgumentException">None of the words has a vector.</exception>
    public WordSimilarity[] RankByCentrality(IEnumerable<string> words, bool useNorm = true)
    {
        const string op = "keyed_vectors.rank_by_centrality";
        var used = Guard.NotNull(op, words).Where(w => w is not null && IndexOf(w) >= 0).ToArray();
        if (used.Length == 0)
            ThrowHelper.Argument(op, nameof(words), "none of the words has a vector; cannot rank an empty list");
        var vectors = new float[used.Length][];
        var mean = new double[Dims];
        for (int k = 0; k < used.Length; k++)
        {
            vectors[k] = new float[Dims];
            ReadVector(IndexOf(used[k]), useNorm, vectors[k]);
            for (int j = 0; j < Dims; j++)
                mean[j] += vectors[k][j];
        }
        for (int j = 0; j < Dims; j++)
            mean[j] /= used.Length;
        Normalize(mean);
        var q = Array.ConvertAll(mean, x => (float)x);
        var ranked = new WordSimilarity[used.Length];
        for (int k = 0; k < used.Length; k++)
            ranked[k] = new WordSimilarity(used[k], SearchKernels.Dot(vectors[k], q));
        Array.Sort(ranked, (x, y) =>
        {
            int c = y.Similarity.CompareTo(x.Similarity);
            return c != 0 ? c : string.CompareOrdinal(y.Word, x.Word);
        });
        return ranked;
    }

    /// <summary>The word least like the others: the last of <see cref="RankByCentrality"/> (gensim's <c>doesnt_match</c>).</summary>
    /// <exception cref="ArgumentException">None of the words has a vector.</exception>
    public string DoesntMatch(IEnumerable<string> words) => RankByCentrality(words)[^1].Word;

    private (int[] Positive, int[] Negative) Rows(string op, IEnumerable<string> positive, IEnumerable<string>? negative)
    {
        Guard.NotNull(op, positive);
        var pos = positive.Select(w => GetIndex(op, w)).ToArray();
        var neg = (negative ?? []).Select(w => GetIndex(op, w)).ToArray();
        if (pos.Length + neg.Length == 0)
            ThrowHelper.Argument(op, nameof(positive), "no query words; give at least one positive or negative word");
        return (pos, neg);
    }

    private int Limit(string op, int? restrictVocab)
    {
        if (restrictVocab is int r)
        {
            Guard.NonNegative(op, r, nameof(restrictVocab));
            return Math.Min(r, Count);
        }
        return Count;
    }

    /// <summary>3CosAdd over rows: mean of unit vectors (weights +1 / −1, divided by the total weight), normalised, then ranked.</summary>
    internal Neighbor[] MostSimilarRows(ReadOnlySpan<int> positive, ReadOnlySpan<int> negative, int topN, int rowLimit, ReadOnlySpan<int> exclude)
    {
        var unit = UnitTable();
        var mean = new double[Dims];
        foreach (int r in positive)
            Accumulate(mean, unit.GetRow<float>(r), 1);
        foreach (int r in negative)
            Accumulate(mean, unit.GetRow<float>(r), -1);
        double total = positive.Length + negative.Length;
        for (int j = 0; j < mean.Length; j++)
            mean[j] /= total;
        Normalize(mean);
        var q = Array.ConvertAll(mean, x => (float)x);
        return Rank(q, topN, rowLimit, exclude);
    }

    private Neighbor[] Rank(float[] unitQuery, int topN, int rowLimit, ReadOnlySpan<int> exclude)
    {
        if (topN == 0)
            return [];
        if (Index is { } index)
            return index.Search(unitQuery, topN, SearchFilter.Below(rowLimit).Except(exclude));
        var scores = new float[rowLimit];
        var unit = UnitTable();
        for (int r = 0; r < rowLimit; r++)
            scores[r] = SearchKernels.Dot(unit.GetRow<float>(r), unitQuery);
        return VectorSearch.TopK(scores, topN, largest: true, exclude);
    }

    private Neighbor[] CosmulRows(ReadOnlySpan<int> positive, ReadOnlySpan<int> negative, int topN, int rowLimit, ReadOnlySpan<int> exclude)
    {
        if (topN == 0)
            return [];
        var unit = UnitTable();
        var scores = new float[rowLimit];
        for (int r = 0; r < rowLimit; r++)
        {
            var row = unit.GetRow<float>(r);
            double num = 1, den = 1;
            foreach (int p in positive)
                num *= (1 + SearchKernels.Dot(row, unit.GetRow<float>(p))) / 2.0;
            foreach (int n in negative)
                den *= (1 + SearchKernels.Dot(row, unit.GetRow<float>(n))) / 2.0;
            scores[r] = (float)(num / (den + 0.000001));
        }
        return VectorSearch.TopK(scores, topN, largest: true, exclude);
    }

    private float[] UnitQuery(ReadOnlySpan<float> vector)
    {
        var mean = new double[vector.Length];
        for (int j = 0; j < mean.Length; j++)
            mean[j] = vector[j];
        Normalize(mean);
        return Array.ConvertAll(mean, x => (float)x);
    }

    private double[] Mean(string op, string[] words)
    {
        var mean = new double[Dims];
        var row = new float[Dims];
        foreach (string w in words)
        {
            Table.ReadRow(GetIndex(op, w), row);
            Accumulate(mean, row, 1);
        }
        for (int j = 0; j < mean.Length; j++)
            mean[j] /= words.Length;
        return mean;
    }

    private static void Accumulate(double[] sum, ReadOnlySpan<float> row, double weight)
    {
        for (int j = 0; j < sum.Length; j++)
            sum[j] += weight * row[j];
    }

    private static void Normalize(double[] v)
    {
        double s = 0;
        foreach (double x in v)
            s += x * x;
        double norm = Math.Sqrt(s);
        if (norm > 0)
        {
            for (int j = 0; j < v.Length; j++)
                v[j] /= norm;
        }
    }

    private WordSimilarity[] ToWords(Neighbor[] hits) =>
        Array.ConvertAll(hits, h => new WordSimilarity(_words[h.Index], h.Score));
}
