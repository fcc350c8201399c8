namespace EmbedSharp.Formats.Safetensors;

/// <summary>Layout constants of the safetensors format.</summary>
/// <remarks>
/// A file is: an unsigned 64-bit little-endian header length N; N bytes of UTF-8 JSON (the header,
/// which starts with <c>{</c> and may be padded with spaces); then the data section, which the header's
/// <c>data_offsets</c> index. Tensors are stored row-major, little-endian.
/// </remarks>
public static class SafetensorsConstants
{
    /// <summary>Bytes of the length prefix.</summary>
    public const int PrefixSize = 8;

    /// <summary>Largest header accepted (100 MB, the reference implementation's limit).</summary>
    public const long MaxHeaderSize = 100_000_000;

    /// <summary>Conventional file extension.</summary>
    public const string Extension = ".safetensors";
}

/// <summary>Recognises safetensors files from their first bytes.</summary>
public static class SafetensorsDetector
{
    /// <summary>
    /// True when <paramref name="prefix"/> (at least 9 bytes) starts with a plausible header length followed
    /// by <c>{</c>. <paramref name="fileLength"/>, when known, bounds the header length.
    /// </summary>
    public static bool IsSafetensors(ReadOnlySpan<byte> prefix, long fileLength = long.MaxValue)
    {
        if (prefix.Length < SafetensorsConstants.PrefixSize + 1)
            return false;
        ulong n = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        return n >= 2 && n <= SafetensorsConstants.MaxHeaderSize && (long)n <= fileLength - SafetensorsConstants.PrefixSize
            && prefix[SafetensorsConstants.PrefixSize] == (byte)'{';
    }
}
