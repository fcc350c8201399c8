using EmbedSharp.Formats.IO;
using EmbedSharp.Formats.Word2Vec;

namespace EmbedSharp.Formats.Glove;

/// <summary>Recognises GloVe text: lines of a word and D numbers with no header line.</summary>
public static class GloveDetector
{
    /// <summary>How well <paramref name="head"/> looks like GloVe text.</summary>
    public static FormatMatch Detect(ReadOnlySpan<byte> head)
    {
        if (!Word2VecDetector.LooksLikeText(head))
            return FormatMatch.No;
        var rest = head;
        int? dims = null;
        int checkedLines = 0;
        while (!rest.IsEmpty && checkedLines < 4)
        {
            int nl = rest.IndexOf((byte)'\n');
            if (nl < 0)
                break; // a cut-off last line proves nothing
            var line = rest[..nl];
            rest = rest[(nl + 1)..];
            if (TextRow.CountTokens(line) == 0)
                continue;
            dims ??= GloveHeader.InferDims(line);
            if (dims is null)
                return FormatMatch.No;
            var values = new float[dims.Value];
            if (TextRow.Parse(line, dims.Value, values, wordMayContainSpaces: true, out _) is not null)
                return FormatMatch.No;
            checkedLines++;
        }
        if (dims is null)
            return FormatMatch.No;
        // A word2vec header "N D" also parses as a GloVe row of one value; whenever the word2vec
        // reading is plausible it wins, as a header line is far likelier than a numeric word.
        return Word2VecDetector.DetectText(head) >= FormatMatch.Possible || Word2VecDetector.DetectBinary(head) >= FormatMatch.Possible
            ? FormatMatch.Possible
            : FormatMatch.Likely;
    }
}
