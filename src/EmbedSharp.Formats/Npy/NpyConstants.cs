namespace EmbedSharp.Formats.Npy;

/// <summary>Bytes and limits of the NumPy <c>.npy</c> format.</summary>
public static class NpyConstants
{
    /// <summary>The six magic bytes, <c>\x93NUMPY</c>.</summary>
    public static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Writers pad the header so the data starts at a multiple of this (NumPy uses 64).</summary>
    public const int HeaderAlignment = 64;

    /// <summary>Largest header accepted from a version 2 or 3 file, in bytes.</summary>
    public const int MaxHeaderBytes = 1 << 20;

    /// <summary>Extension of the vocabulary sidecar: <c>vectors.npy</c> → <c>vectors.npy.vocab</c>, one <c>word count</c> per line.</summary>
    public const string VocabularySuffix = ".vocab";
}
