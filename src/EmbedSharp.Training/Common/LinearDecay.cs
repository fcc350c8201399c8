namespace EmbedSharp.Training.Common;

/// <summary>
/// word2vec's learning-rate schedule: <c>lr(p) = lr₀ · max(1 − p, minFactor)</c>, where
/// <c>p = wordsProcessed / (epochs · wordsPerEpoch)</c> is the share of the training done.
/// </summary>
public readonly record struct LinearDecay(double InitialRate, double MinFactor = 1e-4)
{
    /// <summary>The rate after <paramref name="wordsProcessed"/> of <paramref name="totalWords"/> words.</summary>
    public float RateAt(long wordsProcessed, long totalWords)
    {
        double p = totalWords <= 0 ? 1 : (double)wordsProcessed / totalWords;
        return (float)(InitialRate * Math.Max(1 - p, MinFactor));
    }
}
