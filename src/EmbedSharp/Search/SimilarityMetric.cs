namespace EmbedSharp.Search;

/// <summary>How a search scores a row against a query.</summary>
public enum SimilarityMetric
{
    /// <summary><c>x·q / (|x| |q|)</c>, higher is nearer; 0 when either norm is 0.</summary>
    Cosine,
    /// <summary><c>x·q</c>, higher is nearer.</summary>
    Dot,
    /// <summary>Euclidean distance <c>|x − q|</c>, lower is nearer.</summary>
    L2,
}

/// <summary>A row and its score from a search.</summary>
/// <param name="Index">Row number in the table.</param>
/// <param name="Score">Similarity (Cosine, Dot) or distance (L2).</param>
public readonly record struct Neighbor(int Index, float Score);

/// <summary>A word and its similarity to a query.</summary>
/// <param name="Word">The word.</param>
/// <param name="Similarity">Cosine similarity (or the method's score).</param>
public readonly record struct WordSimilarity(string Word, float Similarity);
