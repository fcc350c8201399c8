using EmbedSharp.Formats.FastText;
using EmbedSharp.Search;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Formats;

/// <summary>
/// A vector file opened for the query commands: the words and table of any format we read, and
/// for a full fastText model the subword rows that give out-of-vocabulary words a vector. Used by
/// the CLI's query commands and the web explorer.
/// </summary>
public sealed class VectorFile : IDisposable, IWordVectorSource
{
    private KeyedVectors? _keyed;

    private VectorFile(string path, EmbeddingFormat format, WordEmbeddings embeddings, FastTextModel? model)
    {
        Path = path;
        Format = format;
        Embeddings = embeddings;
        Model = model;
    }

    /// <summary>The path the file was opened from.</summary>
    public string Path { get; }

    /// <summary>The file's format (detected from its content).</summary>
    public EmbeddingFormat Format { get; }

    /// <summary>The words and table read from the file.</summary>
    public WordEmbeddings Embeddings { get; }

    /// <summary>The full fastText model when the file is a <c>.bin</c>/<c>.ftz</c>; null otherwise.</summary>
    public FastTextModel? Model { get; }

    /// <summary>Row length of the table.</summary>
    public int Dims => Embeddings.Dims;

    /// <summary>Opens <paramref name="path"/>, detecting its format, or checking it against <paramref name="formatName"/>.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="ArgumentException">The named format is unknown, or the file's content is another format.</exception>
    public static VectorFile Open(string op, string path, string? formatName = null, long? limit = null)
    {
        if (Directory.Exists(path))
            throw new ArgumentException($"[{op}] {path} is a directory; give a vector file (word2vec, GloVe, fastText, .npy, .safetensors)");
        if (!File.Exists(path))
            throw new FileNotFoundException($"[{op}] no such file: {path}", path);
        EmbeddingFormat detected = FormatDetector.Detect(path);
        EmbeddingFormat format = detected;
        if (formatName is not null)
        {
            format = FormatByName(op, formatName);
            if (!ReferenceEquals(format, detected))
                throw new ArgumentException($"[{op}] {path} looks like {detected.Name}, not {format.Name}; drop --format to use what was detected, or convert the file first");
        }
        var options = new ReadOptions { Limit = limit };
        if (format == FastTextFormat.Bin)
        {
            var model = FastTextModel.Load(path, options);
            return new VectorFile(path, format, model.ToWordEmbeddings(), model);
        }
        return new VectorFile(path, format, format.Read(path, options), null);
    }

    /// <summary>The registered format called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No format has that name.</exception>
    public static EmbeddingFormat FormatByName(string op, string name)
    {
        var match = FormatRegistry.Default.Formats.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));
        return match ?? throw new ArgumentException($"[{op}] unknown format '{name}'; valid formats are {FormatNames}");
    }

    /// <summary>The registered formats' names, comma-separated (for messages).</summary>
    public static string FormatNames => string.Join(", ", FormatRegistry.Default.Formats.Select(f => f.Name));

    /// <summary>The gensim-style query object over the file's words.</summary>
    /// <exception cref="ArgumentException">The file has no words.</exception>
    public KeyedVectors Keyed(string op)
    {
        if (_keyed is not null)
            return _keyed;
        if (Embeddings.Words is null)
            throw new ArgumentException($"[{op}] {Path} has no words (a bare {Format.Name} matrix); put a {System.IO.Path.GetFileName(Path)}.vocab file beside it");
        return _keyed = new KeyedVectors(Embeddings.Words, Embeddings.Table);
    }

    /// <summary>
    /// The vector of <paramref name="word"/>: its row when in the vocabulary; for a fastText model,
    /// the mean of its subword rows otherwise (fastText's rule, zeros when it has none).
    /// Returns false for an unknown word of a format without subwords.
    /// </summary>
    public bool TryGetWordVector(string word, Span<float> destination)
    {
        if (Model is not null)
        {
            Model.GetWordVector(word, destination);
            return true;
        }
        return Keyed("vector").TryGetVector(word, destination);
    }

    /// <summary>
    /// The <paramref name="top"/> nearest words to <paramref name="word"/> by cosine (gensim's
    /// <c>most_similar</c>, the word itself left out); a word outside the vocabulary is looked up by its
    /// subword vector when the file is a full fastText model (<paramref name="fromSubwords"/> is then true).
    /// </summary>
    /// <exception cref="ArgumentException">The word is unknown and the format has no subwords.</exception>
    public WordSimilarity[] MostSimilar(string op, string word, int top, out bool fromSubwords)
    {
        KeyedVectors keyed = Keyed(op);
        fromSubwords = !keyed.Contains(word);
        if (!fromSubwords)
            return keyed.MostSimilar(word, top);
        var v = new float[Dims];
        if (!TryGetWordVector(word, v))
            throw new ArgumentException($"[{op}] '{word}' is not in the vocabulary of {Path} ({keyed.Count:N0} words) and the format has no subwords to build it from");
        return keyed.SimilarByVector(v, top);
    }

    /// <summary>Releases the table, the query object and the fastText model.</summary>
    public void Dispose()
    {
        _keyed?.Dispose();
        Embeddings.Dispose();
        Model?.Dispose();
    }
}
