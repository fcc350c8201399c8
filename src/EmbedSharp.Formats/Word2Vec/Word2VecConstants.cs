namespace EmbedSharp.Formats.Word2Vec;

/// <summary>Limits and bytes of the word2vec formats.</summary>
public static class Word2VecConstants
{
    /// <summary>Largest accepted header line, in bytes (<c>"N D\n"</c> needs about 40).</summary>
    public const int MaxHeaderBytes = 256;

    /// <summary>Largest accepted word, in bytes. The C tool caps words at 100; longer ones mean a corrupt file.</summary>
    public const int MaxWordBytes = 1 << 16;

    /// <summary>Largest accepted vector length. Real models use at most a few thousand.</summary>
    public const int MaxDims = 1 << 22;

    /// <summary>Separator between a word and its vector in the binary format.</summary>
    public const byte WordTerminator = (byte)' ';

    /// <summary>Line end written after each binary row (the C tool writes it; gensim strips it from the next word).</summary>
    public const byte RowTerminator = (byte)'\n';

    /// <summary>Longest text line accepted for a row of <paramref name="dims"/> values.</summary>
    public static int MaxLineBytes(int dims) => (int)Math.Min(int.MaxValue - 64, MaxWordBytes + 64L * dims + 1024);
}
