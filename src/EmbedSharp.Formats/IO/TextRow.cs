namespace EmbedSharp.Formats.IO;

/// <summary>Parses one text row, <c>word v1 v2 … vD</c>, separated by spaces or tabs.</summary>
internal static class TextRow
{
    /// <summary>Number of space/tab separated tokens in a line.</summary>
    public static int CountTokens(ReadOnlySpan<byte> line)
    {
        int n = 0;
        bool inToken = false;
        foreach (byte b in line)
        {
            bool sep = TextCodec.IsSeparator(b);
            if (!sep && !inToken)
                n++;
            inToken = !sep;
        }
        return n;
    }

    /// <summary>
    /// Reads the last <paramref name="dims"/> tokens of <paramref name="line"/> as floats into
    /// <paramref name="destination"/>; what precedes them is the word. When
    /// <paramref name="wordMayContainSpaces"/> is false the word must be a single token (word2vec);
    /// when true it may hold separators (some GloVe releases have such words).
    /// </summary>
    /// <returns>Null on success, else the problem.</returns>
    public static string? Parse(ReadOnlySpan<byte> line, int dims, Span<float> destination, bool wordMayContainSpaces, out ReadOnlySpan<byte> word)
    {
        word = default;
        int end = line.Length;
        while (end > 0 && TextCodec.IsSeparator(line[end - 1]))
            end--;
        int start = 0;
        while (start < end && TextCodec.IsSeparator(line[start]))
            start++;
        var trimmed = line[start..end];
        for (int k = dims - 1; k >= 0; k--)
        {
            int tokenEnd = end;
            int tokenStart = tokenEnd;
            while (tokenStart > start && !TextCodec.IsSeparator(line[tokenStart - 1]))
                tokenStart--;
            if (tokenStart == tokenEnd || tokenStart == start)
                return $"the row has {Math.Max(CountTokens(trimmed) - 1, 0)} values but {dims} are expected";
            var token = line[tokenStart..tokenEnd];
            if (!TextCodec.TryParseSingle(token, out destination[k]))
                return $"value {k} ('{Printable(token)}') is not a number";
            end = tokenStart;
            while (end > start && TextCodec.IsSeparator(line[end - 1]))
                end--;
        }
        var w = line[start..end];
        if (w.IsEmpty)
            return $"the row has {dims} values but no word";
        if (!wordMayContainSpaces && (w.IndexOf((byte)' ') >= 0 || w.IndexOf((byte)'\t') >= 0))
            return $"the row has {CountTokens(line) - 1} values but {dims} are expected";
        word = w;
        return null;
    }

    /// <summary>A short, printable rendering of bytes for error messages.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes)
    {
        var b = bytes.Length > 40 ? bytes[..40] : bytes;
        var chars = new char[b.Length];
        for (int i = 0; i < b.Length; i++)
            chars[i] = b[i] is >= 0x20 and < 0x7F ? (char)b[i] : '?';
        return new string(chars) + (bytes.Length > 40 ? "…" : "");
    }
}
