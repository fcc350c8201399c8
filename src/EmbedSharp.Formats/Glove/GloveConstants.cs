namespace EmbedSharp.Formats.Glove;

/// <summary>Limits of the GloVe text format.</summary>
public static class GloveConstants
{
    /// <summary>Longest accepted line before the vector length is known (the first line), in bytes.</summary>
    public const int MaxFirstLineBytes = 64 << 20;

    /// <summary>Largest accepted vector length.</summary>
    public const int MaxDims = Word2Vec.Word2VecConstants.MaxDims;
}
