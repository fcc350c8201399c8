using EmbedSharp.Tables;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Training.Common;

/// <summary>
/// What word2vec, GloVe and the NPLM return: the vocabulary, one vector per word (row <c>i</c> is the
/// word with id <c>i</c>) and a summary of the run. Persist it with EmbedSharp.Formats.
/// </summary>
/// <remarks>Owns its tables; dispose it (or take the tables and dispose them yourself).</remarks>
public sealed class WordVectors : IDisposable
{
    internal WordVectors(Vocabulary vocabulary, EmbeddingTable vectors, EmbeddingTable? outputVectors, TrainingSummary summary)
    {
        Vocabulary = vocabulary;
        Vectors = vectors;
        OutputVectors = outputVectors;
        Summary = summary;
    }

    /// <summary>The words, id = row.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>The word vectors, <c>Vocabulary.Count × Dims</c>.</summary>
    public EmbeddingTable Vectors { get; }

    /// <summary>The output (context) vectors when the trainer was asked to keep them, else null.</summary>
    public EmbeddingTable? OutputVectors { get; }

    /// <summary>What the run did.</summary>
    public TrainingSummary Summary { get; }

    /// <summary>Vector length.</summary>
    public int Dims => Vectors.Dims;

    /// <summary>The vector of <paramref name="word"/> as a new array, or null when it is not in the vocabulary.</summary>
    public float[]? GetVector(string word)
    {
        if (!Vocabulary.TryGetId(word, out int id))
            return null;
        var v = new float[Dims];
        Vectors.ReadRow(id, v);
        return v;
    }

    /// <summary>Frees the tables.</summary>
    public void Dispose()
    {
        Vectors.Dispose();
        OutputVectors?.Dispose();
    }
}
