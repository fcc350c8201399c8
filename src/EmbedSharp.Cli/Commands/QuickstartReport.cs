using System.Globalization;
using EmbedSharp.Cli.Output;
using EmbedSharp.Search;
using EmbedSharp.Tables;
using EmbedSharp.Training.Quickstart;

namespace EmbedSharp.Cli.Commands;

/// <summary>
/// The quick start's read-out: what each table scores and on how much of each test set, a
/// measured baseline to read the scores against, how far quantization moves the neighbours, and a
/// loss curve whose trend is visible through the corpus's own ups and downs.
/// </summary>
internal static class QuickstartReport
{
    /// <summary>
    /// gensim 4.2.0's <c>Word2Vec</c> with the quick start's defaults on this corpus (skip-gram, 128 dims,
    /// window 5, 5 negatives, min count 5, sample 1e-3, 5 epochs, 2 workers), scored by gensim's own
    /// evaluate_word_analogies / evaluate_word_pairs: the mean of seeds 1–3 (analogy 0.0855, 0.0758, 0.0821;
    /// ρ 0.0186, 0.0183, 0.0413). Measured with <c>benchmarks/quickstart/gensim_baseline.py</c>
    /// (benchmarks/README.md, "Quick start baseline").
    /// </summary>
    public static readonly Baseline Gensim = new("gensim 4.2: 128 dims, 5 epochs", 0.081, 3217, 19544, 0.026, 132, 353);

    /// <summary>One row of scores shipped from a documented measurement.</summary>
    public sealed record Baseline(string Name, double Analogy, int AnalogyCovered, int AnalogyTotal, double Spearman, int PairsCovered, int PairsTotal);

    public static string AnalogyCell(AnalogyEvaluation a) =>
        Cell(a.Score, a.Questions - a.OutOfVocabulary, a.Questions);

    public static string PairsCell(WordPairsEvaluation p) =>
        Cell(p.Spearman, p.Pairs, p.Pairs + p.OutOfVocabulary);

    public static string Cell(double score, int covered, int total) =>
        string.Create(CultureInfo.InvariantCulture, $"{score:0.000} ({covered:N0} of {total:N0})");

    /// <summary>Lines that say what the scores mean on a corpus this small.</summary>
    public static IEnumerable<string> Reading(QuickstartScores float32, long corpusTokens)
    {
        var ci = CultureInfo.InvariantCulture;
        var a = float32.Analogy;
        var p = float32.Pairs;
        int aCovered = a.Questions - a.OutOfVocabulary, pTotal = p.Pairs + p.OutOfVocabulary;
        yield return string.Create(ci, $"reading the scores: the corpus has {corpusTokens / 1e6:0.0}M tokens; the test sets were made for corpora of billions, so only ");
        yield return string.Create(ci, $"  {100.0 * aCovered / Math.Max(1, a.Questions):0}% of the analogy questions and {100.0 * p.Pairs / Math.Max(1, pTotal):0}% of the WS-353 pairs have all their words here (the counts in brackets),");
        yield return "  and scores count the covered ones only. Read them against gensim's row (mean of 3 seeds on this corpus), not published figures.";
        if (p.SpearmanPValue > 0.05)
            yield return string.Create(ci, $"  WS-353's ρ on {p.Pairs} pairs is within chance (p = {p.SpearmanPValue:0.00}): it cannot rank tables trained on this corpus.");
        else
            yield return string.Create(ci, $"  WS-353's ρ on {p.Pairs} pairs: p = {p.SpearmanPValue:0.000}.");
    }

    /// <summary>
    /// The loss curve against epochs: each progress report's loss (it rises and falls with the books
    /// the corpus strings together), its mean over the last epoch of reports (the trend, free of that
    /// pattern), each epoch's mean, and the epoch boundaries.
    /// </summary>
    public static bool DrawLoss(string path, IReadOnlyList<(double Fraction, double Loss)> points, IReadOnlyList<double> epochLosses, int epochs)
    {
        if (points.Count < 2)
            return false;
        double[] x = points.Select(p => p.Fraction * epochs).ToArray(), y = points.Select(p => p.Loss).ToArray();
        // A window of one epoch's reports holds every part of the corpus once, so its mean no longer
        // follows the text; it is drawn from the end of the first epoch on.
        int perEpoch = Math.Max(1, points.Count / epochs);
        var sx = new List<double>();
        var sy = new List<double>();
        double sum = 0;
        for (int i = 0; i < y.Length; i++)
        {
            sum += y[i];
            if (i >= perEpoch)
                sum -= y[i - perEpoch];
            if (i >= perEpoch - 1)
            {
                sx.Add(x[i]);
                sy.Add(sum / perEpoch);
            }
        }
        Plots.LossByEpoch(path, "word2vec training loss on the quick-start corpus", "mean negative-sampling loss", x, y, sx.ToArray(), sy.ToArray(), epochLosses, epochs);
        return true;
    }

    /// <summary>A path relative to the working directory when it lies below it (shorter to read and to paste).</summary>
    public static string Show(string path)
    {
        string full = Path.GetFullPath(path);
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, full);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? full : relative;
    }

    /// <summary>A float32 table's footprint, for the size column.</summary>
    public static string Size(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0 / 1024.0:0.00} MiB");

    public static string Size(EmbeddingTable table) => Size(table.ByteLength);
}
