namespace EmbedSharp.Formats.FastText;

/// <summary>Magic numbers, markers and limits of fastText's binary model format (<c>.bin</c>, <c>.ftz</c>).</summary>
public static class FastTextConstants
{
    /// <summary>First int32 of every model file (0x2F4F16BA).</summary>
    public const int Magic = 793712314;

    /// <summary>Version fastText 0.9.x writes.</summary>
    public const int Version = 12;

    /// <summary>Oldest version read. Version 11 supervised models did not use character n-grams.</summary>
    public const int OldestVersion = 11;

    /// <summary>End-of-sentence token; it never gets character n-grams.</summary>
    public const string EndOfSentence = "</s>";

    /// <summary>Centroids per sub-quantizer in a product-quantized matrix (8-bit codes).</summary>
    public const int CentroidsPerSubquantizer = 256;

    /// <summary>Largest accepted dictionary word, in bytes.</summary>
    public const int MaxWordBytes = 1 << 16;

    /// <summary>Largest accepted vector length.</summary>
    public const int MaxDims = 1 << 20;

    /// <summary>Size of the args section: 12 int32 fields and one double.</summary>
    public const int ArgsBytes = 12 * 4 + 8;
}
