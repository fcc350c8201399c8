using EmbedSharp.Diagnostics;
using EmbedSharp.Formats.Mapping;
using EmbedSharp.Search;
using EmbedSharp.Tables;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Formats.FastText;

/// <summary>
/// A fastText model read from a <c>.bin</c> or <c>.ftz</c> file: args, dictionary, input matrix
/// (dense or product-quantized) and, when loaded, the output matrix. Gives every word a vector,
/// including words it never saw, exactly as <c>fasttext print-word-vectors</c> does.
/// </summary>
public sealed class FastTextModel : IDisposable, IWordVectorSource
{
    private EmbeddingTable? _unitWords;
    private readonly object _gate = new();

    internal FastTextModel(int version, FastTextArgs args, FastTextDictionary dictionary, FastTextMatrix input, FastTextMatrix? output)
    {
        Version = version;
        Args = args;
        Dictionary = dictionary;
        Input = input;
        Output = output;
    }

    /// <summary>File version (11 or 12).</summary>
    public int Version { get; }

    /// <summary>Training arguments.</summary>
    public FastTextArgs Args { get; }

    /// <summary>Words, labels and n-gram hashing.</summary>
    public FastTextDictionary Dictionary { get; }

    /// <summary>The input matrix: word rows, then n-gram bucket rows.</summary>
    public FastTextMatrix Input { get; }

    /// <summary>The output matrix, or null when it was not loaded (memory-mapped models skip it).</summary>
    public FastTextMatrix? Output { get; }

    /// <summary>Vector length.</summary>
    public int Dims => Args.Dims;

    /// <summary>True for <c>.ftz</c> models (product-quantized input).</summary>
    public bool IsQuantized => Input is FastTextQuantizedMatrix;

    /// <summary>Reads a model file completely into memory.</summary>
    /// <exception cref="EmbeddingFormatException">The file is not a valid fastText model.</exception>
    public static FastTextModel Load(string path, ReadOptions? options = null) => FastTextFormat.Bin.ReadModel(path, options);

    /// <summary>Reads a model from a stream.</summary>
    /// <exception cref="EmbeddingFormatException">The data is not a valid fastText model.</exception>
    public static FastTextModel Load(Stream stream, ReadOptions? options = null, string? source = null) =>
        FastTextReader.Read(stream, options ?? ReadOptions.Default, source, loadOutput: true);

    /// <summary>
    /// Opens a model with its dense input matrix memory-mapped: only the dictionary is read, and
    /// pages of the matrix become resident as words are looked up. The output matrix is not loaded.
    /// </summary>
    /// <exception cref="EmbeddingFormatException">The file is not a valid fastText model.</exception>
    /// <exception cref="NotSupportedException">The input matrix is quantized (load it with <see cref="Load(string, ReadOptions?)"/>).</exception>
    public static FastTextModel Open(string path, MapAccess access = MapAccess.ReadOnly, ReadOptions? options = null) =>
        FastTextReader.Map(path, access, options ?? ReadOptions.Default);

    /// <summary>Writes the model (version 12) to a file through a temporary file and rename.</summary>
    /// <exception cref="InvalidOperationException">The output matrix was not loaded.</exception>
    public void Save(string path) => IO.AtomicFile.Write(Guard.NotNull("fasttext.write", path), Save);

    /// <summary>Writes the model (version 12) to a stream.</summary>
    public void Save(Stream stream) => FastTextWriter.Write(stream, this);

    /// <summary>
    /// The vector of a word: the mean of its subword rows (<see cref="FastTextDictionary.GetSubwordIds"/>),
    /// accumulated in float32 in fastText's order; all zeros when it has none (an OOV word shorter
    /// than minn, or any OOV word of a model without n-grams).
    /// </summary>
    /// <remarks>Effectively computes <c>v = (1/|S|) · Σ_{s∈S} input[s]</c>, bit-for-bit as fastText 0.9.2.</remarks>
    public void GetWordVector(string word, Span<float> destination)
    {
        const string op = "fasttext.word_vector";
        Guard.NotNull(op, word);
        Guard.MinLength(op, destination.Length, Dims, "args.dim");
        var ids = Dictionary.GetSubwordIds(word);
        var v = destination[..Dims];
        v.Clear();
        foreach (int id in ids)
            Input.AddRowTo(id, v);
        if (ids.Count > 0)
        {
            // fastText's Vector::mul takes a float, so 1/n is rounded to float before the multiply.
            float scale = (float)(1.0 / ids.Count);
            for (int i = 0; i < v.Length; i++)
                v[i] *= scale;
        }
    }

    /// <summary>As <see cref="GetWordVector(string, Span{float})"/>: every word has a vector (zeros when it has no subword rows).</summary>
    /// <returns>Always true.</returns>
    public bool TryGetWordVector(string word, Span<float> destination)
    {
        GetWordVector(word, destination);
        return true;
    }

    /// <summary>The vector of a word as a new array (see <see cref="GetWordVector(string, Span{float})"/>).</summary>
    public float[] GetWordVector(string word)
    {
        var v = new float[Dims];
        GetWordVector(word, v);
        return v;
    }

    /// <summary>The vectors of all words (what <c>fasttext</c> writes to the <c>.vec</c> file), with their counts.</summary>
    public WordEmbeddings ToWordEmbeddings(DType dtype = DType.Float32)
    {
        int n = Dictionary.NumWords;
        var table = new EmbeddingTable(n, Dims, dtype);
        var row = new float[Dims];
        for (int i = 0; i < n; i++)
        {
            GetWordVector(Dictionary.Entries[i], row);
            table.WriteRow(i, row);
        }
        var counts = new long[n];
        for (int i = 0; i < n; i++)
            counts[i] = Dictionary.Counts[i];
        return new WordEmbeddings([.. Dictionary.Words], table, counts);
    }

    /// <summary>
    /// The <paramref name="k"/> words nearest to <paramref name="word"/> (which may be out of
    /// vocabulary), as <c>fasttext nn</c> computes them: cosine between the query vector and each
    /// unit-normalised word vector, the query word itself excluded.
    /// </summary>
    public IReadOnlyList<WordSimilarity> NearestNeighbors(string word, int k = 10)
    {
        const string op = "fasttext.nn";
        Guard.NotNull(op, word);
        Guard.Positive(op, k);
        var unit = UnitWordVectors();
        var query = GetWordVector(word);
        float sumSq = 0;
        foreach (float x in query)
            sumSq += x * x;
        float queryNorm = MathF.Sqrt(sumSq);
        if (Math.Abs(queryNorm) < 1e-8f)
            queryNorm = 1;
        int banned = Dictionary.GetId(word);
        var hits = VectorSearch.Search(unit, query, k, SimilarityMetric.Dot, exclude: banned >= 0 && banned < Dictionary.NumWords ? [banned] : []);
        var result = new List<WordSimilarity>(hits.Length);
        foreach (var h in hits)
            result.Add(new WordSimilarity(Dictionary.Entries[h.Index], h.Score / queryNorm));
        return result;
    }

    private EmbeddingTable UnitWordVectors()
    {
        lock (_gate)
        {
            if (_unitWords is not null)
                return _unitWords;
            int n = Dictionary.NumWords;
            var table = new EmbeddingTable(n, Dims);
            var row = new float[Dims];
            for (int i = 0; i < n; i++)
            {
                GetWordVector(Dictionary.Entries[i], row);
                float sumSq = 0;
                foreach (float x in row)
                    sumSq += x * x;
                float norm = MathF.Sqrt(sumSq);
                if (norm > 0)
                {
                    // fastText adds the vector scaled by 1/norm (a float) into a zeroed row.
                    float inv = (float)(1.0 / norm);
                    var dst = table.GetRow<float>(i);
                    for (int j = 0; j < Dims; j++)
                        dst[j] = row[j] * inv;
                }
            }
            _unitWords = table;
            return table;
        }
    }

    /// <summary>
    /// Wraps plain word vectors as a fastText model with no character n-grams (bucket 0, maxn 0)
    /// and a zero output matrix, so <c>fasttext print-word-vectors</c> gives back exactly these
    /// vectors for in-vocabulary words. The model copies the vectors.
    /// </summary>
    public static FastTextModel FromEmbeddings(WordEmbeddings embeddings)
    {
        const string op = "fasttext.from_embeddings";
        Guard.NotNull(op, embeddings);
        if (embeddings.Words is null)
            ThrowHelper.Argument(op, nameof(embeddings), "the embeddings have no vocabulary; a fastText model needs one word per row");
        Guard.InRange(op, embeddings.Dims, 1, FastTextConstants.MaxDims + 1L);
        int n = embeddings.NumEmbeddings;
        var args = new FastTextArgs { Dims = embeddings.Dims, MinCount = 1, Bucket = 0, Minn = 0, Maxn = 0 };
        var counts = new long[n];
        long tokens = 0;
        for (int i = 0; i < n; i++)
        {
            counts[i] = embeddings.Counts is { } c && c[i] >= 0 ? c[i] : n - i;
            tokens += counts[i];
        }
        var words = embeddings.Words.ToArray();
        foreach (string w in words)
            Word2Vec.WordRules.Encode(op, w, 0, forbidSpaces: true, forbidNewlines: true);
        var dict = new FastTextDictionary(args, words, counts, n, tokens, null);
        var input = embeddings.Table.Clone(DType.Float32);
        var output = new EmbeddingTable(n, embeddings.Dims);
        return new FastTextModel(FastTextConstants.Version, args, dict, new FastTextDenseMatrix(input), new FastTextDenseMatrix(output));
    }

    /// <summary>
    /// A full model from trained parts (e.g. EmbedSharp.Training's fastText trainer): the arguments,
    /// the words with their counts (most frequent first, as fastText orders them), the input matrix
    /// (<c>words + bucket</c> rows: word rows, then n-gram buckets) and the output matrix (one row
    /// per word). The matrices are copied; <see cref="Save(string)"/> then writes a <c>.bin</c> that
    /// Debian's <c>fasttext</c> loads.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes disagree with the arguments, or a word cannot be stored.</exception>
    public static FastTextModel FromParts(FastTextArgs args, IReadOnlyList<string> words, IReadOnlyList<long> counts, long numTokens,
        EmbeddingTable input, EmbeddingTable output)
    {
        const string op = "fasttext.from_parts";
        Guard.NotNull(op, args);
        Guard.NotNull(op, words);
        Guard.NotNull(op, counts);
        Guard.NotNull(op, input);
        Guard.NotNull(op, output);
        Guard.InRange(op, args.Dims, 1, FastTextConstants.MaxDims + 1L);
        Guard.Length(op, counts.Count, words.Count, "one count per word");
        int bucket = args.Maxn == 0 ? 0 : args.Bucket;
        if (input.NumEmbeddings != words.Count + bucket || input.Dims != args.Dims)
            ThrowHelper.Argument(op, nameof(input), $"input is {input.NumEmbeddings} × {input.Dims} but words + bucket = {words.Count} + {bucket} rows of {args.Dims} are needed");
        if (output.NumEmbeddings != words.Count || output.Dims != args.Dims)
            ThrowHelper.Argument(op, nameof(output), $"output is {output.NumEmbeddings} × {output.Dims} but {words.Count} × {args.Dims} is needed");
        var list = words.ToArray();
        foreach (string w in list)
            Word2Vec.WordRules.Encode(op, w, 0, forbidSpaces: true, forbidNewlines: true);
        var dict = new FastTextDictionary(args with { Bucket = bucket }, list, counts.ToArray(), list.Length, numTokens, null);
        return new FastTextModel(FastTextConstants.Version, args with { Bucket = bucket }, dict,
            new FastTextDenseMatrix(input.Clone(DType.Float32)), new FastTextDenseMatrix(output.Clone(DType.Float32)));
    }

    /// <summary>Frees the matrices.</summary>
    public void Dispose()
    {
        Input.Dispose();
        Output?.Dispose();
        _unitWords?.Dispose();
    }
}
