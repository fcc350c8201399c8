namespace EmbedSharp.Training.Common;

/// <summary>
/// Frequent-word sub-sampling as the workers read it: one keep threshold per word, compared with the top
/// 32 bits of a random draw (keep when below; <see cref="uint.MaxValue"/> means keep always). The keep
/// probability is word2vec's or fastText's (<see cref="IKeepProbability"/>).
/// </summary>
internal static class Subsampling
{
    /// <summary>The thresholds <c>⌊p·2³²⌋</c> (or keep-always when p ≥ 1) of every word's keep probability.</summary>
    public static uint[] Thresholds<TKeep>(ReadOnlySpan<long> counts, long total, double sample) where TKeep : struct, IKeepProbability
    {
        var thresholds = new uint[counts.Length];
        for (int i = 0; i < counts.Length; i++)
        {
            double p = TKeep.Probability(counts[i], total, sample);
            thresholds[i] = p >= 1 ? uint.MaxValue : (uint)(p * 4294967296.0);
        }
        return thresholds;
    }
}

/// <summary>A keep probability for one occurrence of a word with <c>count</c> occurrences among <c>total</c>.</summary>
internal interface IKeepProbability
{
    /// <summary>The probability; 1 when sub-sampling is off (<paramref name="sample"/> ≤ 0) or the counts are empty.</summary>
    static abstract double Probability(long count, long total, double sample);
}

/// <summary>word2vec's <c>min(1, (√(f/t) + 1)·t/f)</c> with <c>f = count/total</c>, <c>t = sample</c>.</summary>
internal readonly struct Word2VecKeep : IKeepProbability
{
    public static double Probability(long count, long total, double sample)
    {
        if (sample <= 0 || count <= 0 || total <= 0)
            return 1;
        double threshold = sample * total;
        return Math.Min(1, (Math.Sqrt(count / threshold) + 1) * threshold / count);
    }
}

/// <summary>fastText's <c>min(1, √(t/f) + t/f)</c> with <c>f = count/total</c>, <c>t = sample</c>.</summary>
internal readonly struct FastTextKeep : IKeepProbability
{
    public static double Probability(long count, long total, double sample)
    {
        if (sample <= 0 || count <= 0 || total <= 0)
            return 1;
        double f = (double)count / total;
        return Math.Min(1, Math.Sqrt(sample / f) + sample / f);
    }
}
