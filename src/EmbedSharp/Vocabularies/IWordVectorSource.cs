namespace EmbedSharp.Vocabularies;

/// <summary>
/// Anything that gives a word a vector, including words outside its vocabulary where it can (a fastText
/// model from its subword rows): the one contract the query front ends (CLI, web explorer) use for
/// "the vector of this word".
/// </summary>
public interface IWordVectorSource
{
    /// <summary>Vector length.</summary>
    int Dims { get; }

    /// <summary>
    /// Writes the vector of <paramref name="word"/> into the first <see cref="Dims"/> floats of
    /// <paramref name="destination"/>; false (nothing written) when the source has no vector for it.
    /// </summary>
    bool TryGetWordVector(string word, Span<float> destination);
}
