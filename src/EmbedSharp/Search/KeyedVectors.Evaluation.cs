using System.Globalization;
using System.Text;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search;

public sealed partial class KeyedVectors
{
    /// <summary>
    /// Scores analogy questions in the Google format (<c>: section</c> lines, then <c>a b c d</c>
    /// lines meaning a:b :: c:d), as gensim's <c>evaluate_word_analogies</c> does: only the first
    /// <paramref name="restrictVocab"/> words are candidates; a question with a word outside them is
    /// counted as out-of-vocabulary and skipped (or marked incorrect with
    /// <paramref name="dummy4unknown"/>); the answer is the best 3CosAdd candidate among the top 5
    /// that is not one of the three query words (compared case-insensitively when asked).
    /// </summary>
    /// <remarks>
    /// Case-insensitive matching upper-cases with <see cref="string.ToUpperInvariant"/>; where a
    /// word has several casings, the first (most frequent) row is used, as in gensim. Python's
    /// <c>str.upper</c> also expands a few characters (ß → SS); .NET's invariant mapping does not,
    /// which only matters for such words.
    /// </remarks>
    /// <param name="analogies">The questions, UTF-8.</param>
    /// <param name="restrictVocab">Candidate words: the first this many.</param>
    /// <param name="caseInsensitive">Upper-case words before matching.</param>
    /// <param name="dummy4unknown">Count questions with unknown words as incorrect instead of skipping them.</param>
    /// <exception cref="InvalidDataException">A question comes before any section line, or the text is not UTF-8.</exception>
    public AnalogyEvaluation EvaluateWordAnalogies(Stream analogies, int restrictVocab = 300000, bool caseInsensitive = true, bool dummy4unknown = false)
    {
        Guard.NotNull("keyed_vectors.evaluate_word_analogies", analogies);
        using var reader = StrictReader(analogies);
        return EvaluateWordAnalogies(reader, restrictVocab, caseInsensitive, dummy4unknown);
    }

    /// <inheritdoc cref="EvaluateWordAnalogies(Stream, int, bool, bool)"/>
    public AnalogyEvaluation EvaluateWordAnalogies(TextReader analogies, int restrictVocab = 300000, bool caseInsensitive = true, bool dummy4unknown = false)
    {
        const string op = "keyed_vectors.evaluate_word_analogies";
        Guard.NotNull(op, analogies);
        Guard.NonNegative(op, restrictVocab);
        int limit = Math.Min(restrictVocab, Count);
        var okVocab = OkVocabulary(limit, caseInsensitive);
        var sections = new List<AnalogySection>();
        string? name = null;
        List<AnalogyQuestion> correct = [], incorrect = [];
        int questions = 0, oov = 0, lineNo = -1;
        string? line;
        while ((line = ReadLineDecoded(op, analogies)) is not null)
        {
            lineNo++;
            if (line.StartsWith(": ", StringComparison.Ordinal))
            {
                if (name is not null)
                    sections.Add(new AnalogySection(name, correct, incorrect));
                name = line.TrimStart(':', ' ').Trim();
                correct = [];
                incorrect = [];
                continue;
            }
            if (name is null)
                throw new InvalidDataException(ThrowHelper.Format(op, $"line {lineNo} comes before any ': section' header line"));
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 4)
                continue;
            if (caseInsensitive)
            {
                for (int k = 0; k < 4; k++)
                    parts[k] = parts[k].ToUpperInvariant();
            }
            var q = new AnalogyQuestion(parts[0], parts[1], parts[2], parts[3]);
            questions++;
            if (!okVocab.TryGetValue(q.A, out int ia) || !okVocab.TryGetValue(q.B, out int ib) ||
                !okVocab.TryGetValue(q.C, out int ic) || !okVocab.ContainsKey(q.Expected))
            {
                oov++;
                if (dummy4unknown)
                    incorrect.Add(q);
                continue;
            }
            var sims = MostSimilarRows([ib, ic], [ia], 5, limit, [ib, ic, ia]);
            string? predicted = null;
            foreach (var hit in sims)
            {
                predicted = caseInsensitive ? _words[hit.Index].ToUpperInvariant() : _words[hit.Index];
                if (okVocab.ContainsKey(predicted) && predicted != q.A && predicted != q.B && predicted != q.C)
                    break;
            }
            (predicted == q.Expected ? correct : incorrect).Add(q);
        }
        if (name is not null)
            sections.Add(new AnalogySection(name, correct, incorrect));
        var total = new AnalogySection("Total accuracy",
            sections.SelectMany(s => s.Correct).ToArray(),
            sections.SelectMany(s => s.Incorrect).ToArray());
        sections.Add(total);
        return new AnalogyEvaluation(total.Accuracy, sections, questions, oov);
    }

    /// <summary>
    /// Correlates human similarity scores with cosine similarities, as gensim's
    /// <c>evaluate_word_pairs</c> does: lines <c>word1 DELIM word2 DELIM score</c>, lines starting
    /// with <c>#</c> and malformed lines skipped, pairs with a word outside the first
    /// <paramref name="restrictVocab"/> words counted as out-of-vocabulary (or scored 0 with
    /// <paramref name="dummy4unknown"/>).
    /// </summary>
    /// <remarks>
    /// Reports Pearson's r and Spearman's ρ with their two-sided p-values (SciPy's conventions), and
    /// the OOV ratio in percent: <c>oov / (pairs + oov)</c>, or <c>oov / pairs</c> with dummy4unknown.
    /// </remarks>
    /// <exception cref="InvalidDataException">Fewer than two pairs could be evaluated, or the text is not UTF-8.</exception>
    public WordPairsEvaluation EvaluateWordPairs(Stream pairs, char delimiter = '\t', int restrictVocab = 300000, bool caseInsensitive = true, bool dummy4unknown = false)
    {
        Guard.NotNull("keyed_vectors.evaluate_word_pairs", pairs);
        using var reader = StrictReader(pairs);
        return EvaluateWordPairs(reader, delimiter, restrictVocab, caseInsensitive, dummy4unknown);
    }

    /// <inheritdoc cref="EvaluateWordPairs(Stream, char, int, bool, bool)"/>
    public WordPairsEvaluation EvaluateWordPairs(TextReader pairs, char delimiter = '\t', int restrictVocab = 300000, bool caseInsensitive = true, bool dummy4unknown = false)
    {
        const string op = "keyed_vectors.evaluate_word_pairs";
        Guard.NotNull(op, pairs);
        Guard.NonNegative(op, restrictVocab);
        var okVocab = OkVocabulary(Math.Min(restrictVocab, Count), caseInsensitive);
        var gold = new List<double>();
        var model = new List<double>();
        int oov = 0;
        var unit = UnitTable();
        string? line;
        while ((line = ReadLineDecoded(op, pairs)) is not null)
        {
            if (line.Length == 0 || line[0] == '#')
                continue;
            var parts = line.Split(delimiter);
            if (parts.Length != 3 || !TryParsePythonFloat(parts[2], out double score))
                continue;
            string a = caseInsensitive ? parts[0].ToUpperInvariant() : parts[0];
            string b = caseInsensitive ? parts[1].ToUpperInvariant() : parts[1];
            if (!okVocab.TryGetValue(a, out int ia) || !okVocab.TryGetValue(b, out int ib))
            {
                oov++;
                if (dummy4unknown)
                {
                    model.Add(0.0);
                    gold.Add(score);
                }
                continue;
            }
            gold.Add(score);
            model.Add(SearchKernels.Dot(unit.GetRow<float>(ia), unit.GetRow<float>(ib)));
        }
        if (gold.Count == 0)
            throw new InvalidDataException(ThrowHelper.Format(op, $"no valid similarity judgements found: the lines are malformed or every pair is out of vocabulary ({oov} pairs)"));
        if (gold.Count < 2)
            throw new InvalidDataException(ThrowHelper.Format(op, $"only {gold.Count} pair could be evaluated ({oov} out of vocabulary); a correlation needs at least 2 (gensim raises here too)"));
        var (pearson, pearsonP) = Statistics.Pearson(gold.ToArray(), model.ToArray());
        var (spearman, spearmanP) = Statistics.Spearman(gold.ToArray(), model.ToArray());
        double ratio = dummy4unknown ? 100.0 * oov / gold.Count : 100.0 * oov / (gold.Count + oov);
        return new WordPairsEvaluation(pearson, pearsonP, spearman, spearmanP, ratio, dummy4unknown ? gold.Count - oov : gold.Count, oov);
    }

    private Dictionary<string, int> OkVocabulary(int limit, bool caseInsensitive)
    {
        var ok = new Dictionary<string, int>(limit, StringComparer.Ordinal);
        for (int i = 0; i < limit; i++)
            ok.TryAdd(caseInsensitive ? _words[i].ToUpperInvariant() : _words[i], i);
        return ok;
    }

    private static StreamReader StrictReader(Stream s) =>
        new(s, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false, 1 << 16, leaveOpen: true);

    private static string? ReadLineDecoded(string op, TextReader reader)
    {
        try
        {
            return reader.ReadLine();
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException(ThrowHelper.Format(op, "the file is not valid UTF-8"), e);
        }
    }

    /// <summary>Parses a number as Python's <c>float()</c> would (surrounding whitespace allowed, <c>nan</c>/<c>inf</c> spelled out).</summary>
    private static bool TryParsePythonFloat(string text, out double value)
    {
        var t = text.Trim();
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
            return true;
        string lower = t.ToLowerInvariant();
        (value, bool ok) = lower switch
        {
            "nan" or "+nan" or "-nan" => (double.NaN, true),
            "inf" or "+inf" or "infinity" or "+infinity" => (double.PositiveInfinity, true),
            "-inf" or "-infinity" => (double.NegativeInfinity, true),
            _ => (0.0, false),
        };
        return ok;
    }
}
