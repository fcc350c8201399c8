using EmbedSharp.Formats.IO;

namespace EmbedSharp.Formats.Word2Vec;

/// <summary>Recognises the word2vec text and binary formats from their first bytes.</summary>
public static class Word2VecDetector
{
    /// <summary>How well <paramref name="head"/> looks like word2vec text: a header, then rows of exactly D numbers.</summary>
    public static FormatMatch DetectText(ReadOnlySpan<byte> head)
    {
        if (!TrySplitHeader(head, out var header, out var rest))
            return FormatMatch.No;
        if (header.NumEmbeddings == 0)
            return rest.TrimStart("\r\n"u8).IsEmpty ? FormatMatch.Possible : FormatMatch.No;
        int nl = rest.IndexOf((byte)'\n');
        if (nl < 0)
            return LooksLikeText(rest) ? FormatMatch.Possible : FormatMatch.No;
        var line = rest[..nl];
        if (!line.IsEmpty && line[^1] == (byte)'\r')
            line = line[..^1];
        var values = new float[header.Dims];
        return TextRow.Parse(line, header.Dims, values, wordMayContainSpaces: false, out _) is null ? FormatMatch.Likely : FormatMatch.No;
    }

    /// <summary>How well <paramref name="head"/> looks like word2vec binary: a header, then word, space, 4·D bytes.</summary>
    public static FormatMatch DetectBinary(ReadOnlySpan<byte> head)
    {
        if (!TrySplitHeader(head, out var header, out var rest))
            return FormatMatch.No;
        if (header.NumEmbeddings == 0)
            return rest.IsEmpty ? FormatMatch.Possible : FormatMatch.No;
        rest = rest.TrimStart((byte)'\n');
        int space = rest.IndexOf(Word2VecConstants.WordTerminator);
        if (space <= 0)
            return rest.Length < Word2VecConstants.MaxWordBytes && !rest.Contains((byte)'\n') ? FormatMatch.Possible : FormatMatch.No;
        if (rest[..space].Contains((byte)'\n'))
            return FormatMatch.No;
        var vector = rest[(space + 1)..];
        long need = 4L * header.Dims;
        if (vector.Length < need)
            return LooksLikeText(vector) ? FormatMatch.No : FormatMatch.Possible;
        // A text row would be digits; binary floats almost never are all printable.
        if (LooksLikeText(vector[..(int)need]))
            return FormatMatch.No;
        var after = vector[(int)need..];
        if (after.IsEmpty || header.NumEmbeddings == 1 || after[0] == Word2VecConstants.RowTerminator)
            return FormatMatch.Likely;
        // The next row starts directly (no '\n'): it must contain a space before any line feed.
        int next = after.IndexOf(Word2VecConstants.WordTerminator);
        return next > 0 && !after[..next].Contains((byte)'\n') ? FormatMatch.Likely : FormatMatch.No;
    }

    internal static bool TrySplitHeader(ReadOnlySpan<byte> head, out Word2VecHeader header, out ReadOnlySpan<byte> rest)
    {
        header = default;
        rest = default;
        int nl = head.IndexOf((byte)'\n');
        if (nl < 0 || nl > Word2VecConstants.MaxHeaderBytes)
            return false;
        if (Word2VecHeader.TryParse(head[..nl], out _) is not { } h)
            return false;
        header = h;
        rest = head[(nl + 1)..];
        return true;
    }

    /// <summary>True when the bytes are plausible UTF-8 text (no control bytes other than tab, CR, LF).</summary>
    internal static bool LooksLikeText(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            if (b < 0x20 && b != (byte)'\t' && b != (byte)'\n' && b != (byte)'\r')
                return false;
            if (b == 0x7F)
                return false;
        }
        // Valid UTF-8, allowing the head to cut a multi-byte sequence at its end.
        while (!bytes.IsEmpty)
        {
            var status = System.Text.Rune.DecodeFromUtf8(bytes, out _, out int consumed);
            if (status == System.Buffers.OperationStatus.NeedMoreData)
                return true;
            if (status != System.Buffers.OperationStatus.Done)
                return false;
            bytes = bytes[consumed..];
        }
        return true;
    }
}
