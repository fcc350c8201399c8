using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Training.FastText;

/// <summary>
/// A trained fastText model as plain data — the arguments, the words with their counts, the input
/// matrix (word rows, then n-gram bucket rows) and the output matrix — which is everything a fastText
/// <c>.bin</c> holds. EmbedSharp.Formats turns it into a file; Training itself does no IO.
/// </summary>
/// <remarks>
/// A word's vector is the mean of its rows (<see cref="GetSubwordRows"/>): its own row when it is in
/// the vocabulary, then one row per character n-gram (<c>&lt;/s&gt;</c> has none), exactly as
/// <c>fasttext print-word-vectors</c> computes it, so out-of-vocabulary words get vectors too.
/// </remarks>
public sealed class FastTextTrainedModel : IDisposable
{
    private readonly SubwordHasher? _hasher;

    internal FastTextTrainedModel(FastTextOptions args, Vocabulary vocabulary, long numTokens, EmbeddingTable input, EmbeddingTable output, TrainingSummary summary)
    {
        Args = args;
        Vocabulary = vocabulary;
        NumTokens = numTokens;
        Input = input;
        Output = output;
        Summary = summary;
        _hasher = args.Maxn > 0 ? new SubwordHasher(args.Minn, args.Maxn, args.EffectiveBucket) : null;
    }

    /// <summary>The arguments the model was trained with (<see cref="FastTextOptions.EffectiveBucket"/> is the bucket count stored).</summary>
    public FastTextOptions Args { get; }

    /// <summary>The words (fastText's dictionary entries, all of type word), id = row.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>The words in id order.</summary>
    public IReadOnlyList<string> Words => Vocabulary.Tokens;

    /// <summary>Word counts in id order.</summary>
    public ReadOnlySpan<long> Counts => Vocabulary.Counts;

    /// <summary>Tokens in the corpus that the dictionary counted (fastText's <c>ntokens</c>).</summary>
    public long NumTokens { get; }

    /// <summary>The input matrix, <c>(nwords + bucket) × Dims</c>.</summary>
    public EmbeddingTable Input { get; }

    /// <summary>The output matrix, <c>nwords × Dims</c>.</summary>
    public EmbeddingTable Output { get; }

    /// <summary>What the run did.</summary>
    public TrainingSummary Summary { get; }

    /// <summary>Vector length.</summary>
    public int Dims => Args.Dims;

    /// <summary>The input rows whose mean is <paramref name="word"/>'s vector (empty for an unknown word without n-grams).</summary>
    public int[] GetSubwordRows(string word)
    {
        Guard.NotNull("fasttext.subwords", word);
        int id = Vocabulary.TryGetId(word, out int w) ? w : -1;
        var rows = new List<int>();
        if (_hasher is null)
        {
            if (id >= 0)
                rows.Add(id);
        }
        else
        {
            _hasher.GetSubwordRows(word, Vocabulary.Count, id, rows);
        }
        return [.. rows];
    }

    /// <summary>Writes <paramref name="word"/>'s vector (the mean of its subword rows; zeros when it has none).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Dims"/>.</exception>
    public void GetWordVector(string word, Span<float> destination)
    {
        const string op = "fasttext.word_vector";
        Guard.NotNull(op, word);
        Guard.MinLength(op, destination.Length, Dims, "Dims");
        MeanOfRows(GetSubwordRows(word), destination[..Dims]);
    }

    /// <summary>The vector of every vocabulary word, as a new <c>nwords × Dims</c> table (what fastText's <c>.vec</c> holds).</summary>
    public EmbeddingTable GetWordVectors()
    {
        var table = new EmbeddingTable(Vocabulary.Count, Dims);
        var row = new float[Dims];
        for (int i = 0; i < Vocabulary.Count; i++)
        {
            MeanOfRows(GetSubwordRows(Vocabulary.GetToken(i)), row);
            table.WriteRow(i, row);
        }
        return table;
    }

    private void MeanOfRows(int[] rows, Span<float> destination)
    {
        destination.Clear();
        if (rows.Length == 0)
            return;
        var scratch = new float[Dims];
        foreach (int r in rows)
        {
            Input.ReadRow(r, scratch);
            System.Numerics.Tensors.TensorPrimitives.Add(destination, scratch, destination);
        }
        System.Numerics.Tensors.TensorPrimitives.Multiply(destination, 1f / rows.Length, destination);
    }

    /// <summary>Frees the matrices.</summary>
    public void Dispose()
    {
        Input.Dispose();
        Output.Dispose();
    }
}
