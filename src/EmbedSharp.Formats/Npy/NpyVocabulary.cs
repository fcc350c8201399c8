using System.Globalization;
using System.Text;
using EmbedSharp.Formats.IO;
using EmbedSharp.Formats.Word2Vec;

namespace EmbedSharp.Formats.Npy;

/// <summary>
/// The vocabulary sidecar of a <c>.npy</c> table, in the word2vec C tool's <c>-save-vocab</c>
/// layout: one <c>word count</c> (or just <c>word</c>) per line, UTF-8, row order.
/// </summary>
public static class NpyVocabulary
{
    /// <summary>The sidecar path of a table: <c>path + ".vocab"</c>.</summary>
    public static string PathFor(string npyPath) => npyPath + NpyConstants.VocabularySuffix;

    /// <summary>Reads a sidecar; counts are null unless every line has one.</summary>
    /// <exception cref="EmbeddingFormatException">A line is malformed, a word repeats, or the file is not UTF-8.</exception>
    public static (List<string> Words, List<long>? Counts) Read(Stream stream, ReadOptions options, string? source, long expectedRows, bool allowMore = false)
    {
        const string op = "npy.vocab.read";
        var r = new ByteReader(stream, op, source);
        var words = new List<string>((int)Math.Min(expectedRows, 1 << 20));
        var counts = new List<long>();
        bool allCounts = true;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            long at = r.Offset;
            if (!r.TryReadLine(Word2VecConstants.MaxWordBytes + 32, $"vocabulary line {words.Count}", out var line))
                break;
            if (TextRow.CountTokens(line) == 0)
                continue;
            if (words.Count >= expectedRows && allowMore)
                break;
            if (words.Count >= expectedRows)
                throw r.Error($"the vocabulary has more than the table's {expectedRows} rows", at);
            line = line.Trim(" \t"u8);
            int sep = line.LastIndexOfAny((byte)' ', (byte)'\t');
            ReadOnlySpan<byte> wordBytes = line;
            long count = -1;
            if (sep > 0)
            {
                if (!long.TryParse(line[(sep + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out count))
                    throw r.Error($"vocabulary line {words.Count}: '{TextRow.Printable(line)}' is not 'word count'", at);
                wordBytes = line[..sep].TrimEnd(" \t"u8);
                if (wordBytes.IndexOfAny((byte)' ', (byte)'\t') >= 0)
                    throw r.Error($"vocabulary line {words.Count}: '{TextRow.Printable(line)}' has more than a word and a count", at);
            }
            string word = TextCodec.DecodeWord(wordBytes, options.UnicodeErrors, out string? problem)
                          ?? throw r.Error($"vocabulary line {words.Count}: {problem}", at);
            if (!seen.Add(word))
                throw r.Error($"vocabulary line {words.Count}: word '{word}' repeats", at);
            words.Add(word);
            counts.Add(count);
            allCounts &= count >= 0;
        }
        if (words.Count != expectedRows)
            throw r.Error($"the vocabulary has {words.Count} words but the table has {expectedRows} rows");
        return (words, allCounts && words.Count > 0 ? counts : null);
    }

    /// <summary>Writes a sidecar (with counts when given).</summary>
    public static void Write(Stream stream, IReadOnlyList<string> words, IReadOnlyList<long>? counts)
    {
        using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        for (int i = 0; i < words.Count; i++)
        {
            WordRules.Encode("npy.vocab.write", words[i], i, forbidSpaces: true, forbidNewlines: true);
            w.Write(words[i]);
            if (counts is not null && counts[i] >= 0)
            {
                w.Write(' ');
                w.Write(counts[i].ToString(CultureInfo.InvariantCulture));
            }
            w.Write('\n');
        }
        w.Flush();
    }
}
