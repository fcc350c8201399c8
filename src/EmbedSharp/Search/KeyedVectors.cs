using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;

namespace EmbedSharp.Search;

/// <summary>
/// Words mapped to the rows of an <see cref="EmbeddingTable"/>, with gensim's <c>KeyedVectors</c>
/// queries: lookups, cosine similarity, analogies (3CosAdd, 3CosMul), odd-one-out, centrality,
/// and the standard analogy and word-pair evaluations.
/// </summary>
/// <remarks>
/// Row <c>i</c> is the vector of <c>Words[i]</c>; the order is the file's (most frequent first for
/// word2vec, fastText and GloVe), which is what "restrict to the first N words" relies on.
/// Similarity queries use a cache of unit-normalised float32 rows built on first use (gensim's
/// <c>fill_norms</c>); a zero row stays zero there, so its cosine with anything is 0, where gensim
/// would produce NaN. Instances are safe for concurrent queries.
/// </remarks>
// Size: one type in three files (~680 lines) by concern — lookups (this file), gensim's queries, and the
// analogy/word-pair evaluations. They share the unit-row cache, which is why they are one type.
public sealed partial class KeyedVectors : IDisposable
{
    private readonly string[] _words;
    private readonly Dictionary<string, int> _index;
    private readonly bool _ownsTable;
    private readonly KeyedVectors? _parent;
    private EmbeddingTable? _unit;
    private readonly object _gate = new();

    /// <summary>Binds words to the rows of a table.</summary>
    /// <param name="words">One distinct word per row.</param>
    /// <param name="table">The vectors (any dtype).</param>
    /// <param name="ownsTable">Dispose the table with this object.</param>
    /// <exception cref="ArgumentException">The counts differ, or a word is null or repeated.</exception>
    public KeyedVectors(IReadOnlyList<string> words, EmbeddingTable table, bool ownsTable = false)
    {
        const string op = "keyed_vectors.create";
        Guard.NotNull(op, words);
        Guard.NotNull(op, table);
        Guard.Length(op, words.Count, table.NumEmbeddings, "one word per table row");
        _words = new string[words.Count];
        _index = new Dictionary<string, int>(words.Count, StringComparer.Ordinal);
        for (int i = 0; i < _words.Length; i++)
        {
            string w = words[i] ?? throw new ArgumentException(ThrowHelper.Format(op, $"words[{i}] is null"), nameof(words));
            if (!_index.TryAdd(w, i))
                ThrowHelper.Argument(op, nameof(words), $"words[{i}] = '{w}' repeats words[{_index[w]}]; words must be distinct");
            _words[i] = w;
        }
        Table = table;
        Count = _words.Length;
        _ownsTable = ownsTable;
    }

    private KeyedVectors(KeyedVectors parent, int count)
    {
        _parent = parent;
        _words = parent._words;
        _index = parent._index;
        Table = parent.Table;
        Count = count;
    }

    /// <summary>The vectors. Rows at or past <see cref="Count"/> belong to a parent of a restricted view.</summary>
    public EmbeddingTable Table { get; }

    /// <summary>Number of words (gensim's <c>len(kv)</c>).</summary>
    public int Count { get; }

    /// <summary>Vector length (gensim's <c>vector_size</c>).</summary>
    public int Dims => Table.Dims;

    /// <summary>The words in row order (gensim's <c>index_to_key</c>).</summary>
    public IReadOnlyList<string> Words => new ArraySegment<string>(_words, 0, Count);

    /// <summary>True when <paramref name="word"/> has a vector.</summary>
    public bool Contains(string word) => IndexOf(word) >= 0;

    /// <summary>The row of <paramref name="word"/>, or -1.</summary>
    public int IndexOf(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        return _index.TryGetValue(word, out int i) && i < Count ? i : -1;
    }

    /// <summary>The row of <paramref name="word"/>.</summary>
    /// <exception cref="KeyNotFoundException">The word has no vector.</exception>
    public int GetIndex(string word) => GetIndex("keyed_vectors.index", word);

    private int GetIndex(string op, string word)
    {
        Guard.NotNull(op, word);
        int i = IndexOf(word);
        if (i < 0)
            throw new KeyNotFoundException(ThrowHelper.Format(op, $"word '{word}' is not in the vocabulary ({Count} words)"));
        return i;
    }

    /// <summary>A copy of the vector of <paramref name="word"/> (gensim's <c>kv[word]</c>).</summary>
    /// <exception cref="KeyNotFoundException">The word has no vector.</exception>
    public float[] this[string word] => GetVector(word);

    /// <summary>A copy of the vector of <paramref name="word"/>, unit-normalised when <paramref name="normalized"/>.</summary>
    /// <exception cref="KeyNotFoundException">The word has no vector.</exception>
    public float[] GetVector(string word, bool normalized = false)
    {
        int i = GetIndex("keyed_vectors.get_vector", word);
        var v = new float[Dims];
        ReadVector(i, normalized, v);
        return v;
    }

    /// <summary>Copies the vector of <paramref name="word"/> into <paramref name="destination"/>; false when it has none.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Dims"/>.</exception>
    public bool TryGetVector(string word, Span<float> destination)
    {
        Guard.MinLength("keyed_vectors.try_get_vector", destination.Length, Dims, "Dims");
        int i = IndexOf(word);
        if (i < 0)
            return false;
        Table.ReadRow(i, destination);
        return true;
    }

    /// <summary>The vector of <paramref name="word"/>, or null when it has none.</summary>
    public bool TryGetVector(string word, out float[]? vector)
    {
        int i = IndexOf(word);
        if (i < 0)
        {
            vector = null;
            return false;
        }
        vector = new float[Dims];
        Table.ReadRow(i, vector);
        return true;
    }

    /// <summary>
    /// A view of the first <paramref name="numWords"/> words sharing this table (nothing is copied;
    /// keep this object alive while the view is used). Queries on the view never return later words.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numWords"/> is outside <c>0..Count</c>.</exception>
    public KeyedVectors Restrict(int numWords)
    {
        Guard.InRange("keyed_vectors.restrict", numWords, 0, Count + 1L);
        return new KeyedVectors(_parent ?? this, numWords);
    }

    /// <summary>Euclidean norm of the row of <paramref name="word"/>.</summary>
    public double GetNorm(string word)
    {
        int i = GetIndex("keyed_vectors.norm", word);
        var v = new float[Dims];
        Table.ReadRow(i, v);
        return SearchKernels.Norm(v);
    }

    /// <summary>Builds the unit-norm cache now (otherwise the first similarity query does).</summary>
    public void FillNorms() => _ = UnitTable();

    internal EmbeddingTable UnitTable()
    {
        if (_parent is not null)
            return _parent.UnitTable();
        lock (_gate)
        {
            if (_unit is not null)
                return _unit;
            var unit = new EmbeddingTable(Table.NumEmbeddings, Dims);
            var row = new float[Dims];
            for (int r = 0; r < Table.NumEmbeddings; r++)
            {
                Table.ReadRow(r, row);
                double norm = SearchKernels.Norm(row);
                var dst = unit.GetRow<float>(r);
                if (norm > 0)
                {
                    for (int j = 0; j < row.Length; j++)
                        dst[j] = (float)(row[j] / norm);
                }
            }
            _unit = unit;
            return unit;
        }
    }

    internal void ReadVector(int row, bool normalized, Span<float> destination)
    {
        if (normalized)
            UnitTable().GetRow<float>(row).CopyTo(destination);
        else
            Table.ReadRow(row, destination);
    }

    /// <summary>Frees the unit-norm cache, and the table when this object owns it. Views free nothing.</summary>
    public void Dispose()
    {
        if (_parent is not null)
            return;
        lock (_gate)
        {
            _unit?.Dispose();
            _unit = null;
        }
        if (_ownsTable)
            Table.Dispose();
    }
}
