using EmbedSharp.Diagnostics;

namespace EmbedSharp.Formats;

/// <summary>
/// Finds the format of a file from its content: each registered format judges the first
/// <see cref="HeadBytes"/> bytes (magic numbers, header lines, row structure). The strongest
/// <see cref="FormatMatch"/> wins; a tie goes to the format whose extension matches the file name,
/// then to the earlier-registered format.
/// </summary>
public static class FormatDetector
{
    /// <summary>Bytes read from the start of a file to judge it.</summary>
    public const int HeadBytes = 1 << 16;

    /// <summary>The format of a file.</summary>
    /// <exception cref="EmbeddingFormatException">No format recognises the content.</exception>
    public static EmbeddingFormat Detect(string path, FormatRegistry? registry = null)
    {
        Guard.NotNull("formats.detect", path);
        using var fs = EmbeddingFormat.OpenRead(path);
        return Detect(fs, path, registry);
    }

    /// <summary>
    /// The format of a stream's content from its current position. A seekable stream is put back
    /// where it was; a forward-only stream has consumed up to <see cref="HeadBytes"/> bytes.
    /// </summary>
    /// <exception cref="EmbeddingFormatException">No format recognises the content.</exception>
    public static EmbeddingFormat Detect(Stream stream, string? source = null, FormatRegistry? registry = null)
    {
        Guard.NotNull("formats.detect", stream);
        long start = stream.CanSeek ? stream.Position : 0;
        var head = new byte[HeadBytes];
        int n = 0;
        while (n < head.Length)
        {
            int got = stream.Read(head, n, head.Length - n);
            if (got <= 0)
                break;
            n += got;
        }
        long? length = stream.CanSeek ? stream.Length - start : null;
        if (stream.CanSeek)
            stream.Position = start;
        return Detect(head.AsSpan(0, n), length, source, registry)
               ?? throw new EmbeddingFormatException("formats.detect", source, 0,
                   $"no known format recognises the content (tried {string.Join(", ", (registry ?? FormatRegistry.Default).Formats.Select(f => f.Name))})");
    }

    /// <summary>The best format for the given first bytes, or null when none matches.</summary>
    /// <param name="head">The first bytes of the file (up to <see cref="HeadBytes"/>).</param>
    /// <param name="length">The file length when known.</param>
    /// <param name="fileName">A file name whose extension breaks ties; may be null.</param>
    /// <param name="registry">Formats to try; null for <see cref="FormatRegistry.Default"/>.</param>
    public static EmbeddingFormat? Detect(ReadOnlySpan<byte> head, long? length, string? fileName = null, FormatRegistry? registry = null)
    {
        var formats = (registry ?? FormatRegistry.Default).Formats;
        string ext = fileName is null ? "" : Path.GetExtension(fileName);
        EmbeddingFormat? best = null;
        FormatMatch bestMatch = FormatMatch.No;
        bool bestHasExt = false;
        foreach (var f in formats)
        {
            FormatMatch m = f.Detect(head, length);
            if (m == FormatMatch.No)
                continue;
            bool hasExt = ext.Length > 0 && f.Extensions.Any(e => string.Equals(e, ext, StringComparison.OrdinalIgnoreCase));
            if (m > bestMatch || (m == bestMatch && hasExt && !bestHasExt))
            {
                best = f;
                bestMatch = m;
                bestHasExt = hasExt;
            }
        }
        return best;
    }
}
