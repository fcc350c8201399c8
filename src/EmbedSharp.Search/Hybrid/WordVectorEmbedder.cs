using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search.Hybrid;

/// <summary>Maps a text to one vector (a document embedder the hybrid search and the AI adapters plug in).</summary>
public interface ITextEmbedder
{
    /// <summary>Length of the vectors.</summary>
    int Dims { get; }

    /// <summary>Writes the vector of <paramref name="text"/> into <paramref name="destination"/> (Dims long).</summary>
    void Embed(string text, Span<float> destination);
}

/// <summary>How <see cref="WordVectorEmbedder"/> pools word vectors.</summary>
public enum WordPooling
{
    /// <summary>The plain mean of the known words' vectors.</summary>
    Mean,

    /// <summary>
    /// Smooth inverse frequency (Arora, Liang &amp; Ma 2017): each word weighted by <c>a / (a + p(w))</c>,
    /// and, once <see cref="WordVectorEmbedder.FitCommonComponent"/> has run, the projection on the
    /// corpus's first principal component removed.
    /// </summary>
    Sif,
}

/// <summary>
/// Document vectors from static word vectors (a trained or loaded <see cref="KeyedVectors"/>): the
/// mean or SIF-weighted mean of the vectors of the text's known words; unknown words are skipped and
/// a text with none gets the zero vector.
/// </summary>
/// <remarks>
/// Word probabilities <c>p(w)</c> come from the <c>counts</c> argument when given (count / total);
/// otherwise from the row order, which our readers keep as frequency order: Zipf's law,
/// <c>p(rank r) = 1 / ((r + 1) · H_n)</c>.
/// </remarks>
public sealed class WordVectorEmbedder : ITextEmbedder
{
    private readonly KeyedVectors _vectors;
    private readonly double[] _weights;
    private readonly Func<string, IEnumerable<string>> _tokenize;
    private float[]? _component;

    /// <summary>An embedder over <paramref name="vectors"/> (not copied; keep it alive).</summary>
    /// <param name="vectors">The word vectors.</param>
    /// <param name="pooling">Mean or SIF.</param>
    /// <param name="counts">Corpus counts per row, for SIF's p(w); null estimates them by Zipf's law from the row order.</param>
    /// <param name="a">SIF's smoothing constant (1e-3 in the paper).</param>
    /// <param name="tokenize">Tokenizer (default <see cref="TextTokens.Words"/>).</param>
    /// <exception cref="ArgumentException">The counts do not match the words, or a is not positive.</exception>
    public WordVectorEmbedder(KeyedVectors vectors, WordPooling pooling = WordPooling.Sif, IReadOnlyList<long>? counts = null, double a = 1e-3,
        Func<string, IEnumerable<string>>? tokenize = null)
    {
        const string op = "word_vector_embedder";
        _vectors = Guard.NotNull(op, vectors);
        Guard.PositiveFinite(op, a);
        if (!Enum.IsDefined(pooling))
            ThrowHelper.ArgumentOutOfRange(op, nameof(pooling), pooling, "valid values are Mean, Sif");
        Pooling = pooling;
        _tokenize = tokenize ?? TextTokens.Words;
        int n = vectors.Count;
        _weights = new double[n];
        if (pooling == WordPooling.Mean)
        {
            Array.Fill(_weights, 1.0);
            return;
        }
        if (counts is not null)
        {
            Guard.Length(op, counts.Count, n, "one count per word");
            double total = 0;
            foreach (long c in counts)
                total += Math.Max(c, 0);
            for (int i = 0; i < n; i++)
                _weights[i] = a / (a + (total > 0 ? Math.Max(counts[i], 0) / total : 0));
            return;
        }
        double harmonic = 0;
        for (int r = 1; r <= n; r++)
            harmonic += 1.0 / r;
        for (int i = 0; i < n; i++)
            _weights[i] = a / (a + 1.0 / ((i + 1) * harmonic));
    }

    /// <summary>The pooling rule.</summary>
    public WordPooling Pooling { get; }

    /// <inheritdoc/>
    public int Dims => _vectors.Dims;

    /// <summary>The removed common component (unit length), once fitted.</summary>
    public ReadOnlySpan<float> CommonComponent => _component;

    /// <summary>
    /// SIF's second step: the first principal component (first right singular vector, uncentred, as the
    /// paper) of the weighted-mean vectors of <paramref name="documents"/>, found by power iteration;
    /// later embeddings have their projection on it removed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The pooling is Mean.</exception>
    public void FitCommonComponent(IEnumerable<string> documents, int iterations = 50)
    {
        const string op = "word_vector_embedder.fit";
        Guard.NotNull(op, documents);
        if (Pooling != WordPooling.Sif)
            ThrowHelper.InvalidOperation(op, "only SIF pooling removes a common component");
        var rows = new List<float[]>();
        foreach (string doc in documents)
        {
            var v = new float[Dims];
            Pool(doc, v);
            rows.Add(v);
        }
        var u = new double[Dims];
        for (int j = 0; j < Dims; j++)
            u[j] = 1.0 / Math.Sqrt(Dims) * (1 + 0.01 * j);
        for (int it = 0; it < iterations; it++)
        {
            var next = new double[Dims];
            foreach (var row in rows)
            {
                double dot = 0;
                for (int j = 0; j < Dims; j++)
                    dot += row[j] * u[j];
                for (int j = 0; j < Dims; j++)
                    next[j] += dot * row[j];
            }
            double norm = Math.Sqrt(next.Sum(x => x * x));
            if (norm == 0)
            {
                _component = null;
                return;
            }
            for (int j = 0; j < Dims; j++)
                u[j] = next[j] / norm;
        }
        _component = Array.ConvertAll(u, x => (float)x);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not Dims long.</exception>
    public void Embed(string text, Span<float> destination)
    {
        const string op = "word_vector_embedder.embed";
        Guard.NotNull(op, text);
        Guard.Length(op, destination.Length, Dims, "Dims");
        Pool(text, destination);
        if (_component is { } u)
        {
            double dot = 0;
            for (int j = 0; j < Dims; j++)
                dot += destination[j] * u[j];
            for (int j = 0; j < Dims; j++)
                destination[j] -= (float)(dot * u[j]);
        }
    }

    private void Pool(string text, Span<float> destination)
    {
        destination.Clear();
        var sum = new double[Dims];
        var row = new float[Dims];
        int known = 0;
        foreach (string token in _tokenize(text))
        {
            int id = _vectors.IndexOf(token);
            if (id < 0 || !_vectors.TryGetVector(token, row))
                continue;
            double w = _weights[id];
            for (int j = 0; j < Dims; j++)
                sum[j] += w * row[j];
            known++;
        }
        if (known == 0)
            return;
        for (int j = 0; j < Dims; j++)
            destination[j] = (float)(sum[j] / known);
    }
}
