namespace EmbedSharp.Training.Common;

/// <summary>A snapshot a trainer reports while it runs.</summary>
/// <param name="Trainer">Which trainer (<c>"word2vec"</c>, <c>"fasttext"</c>, <c>"glove"</c>, <c>"nplm"</c>).</param>
/// <param name="Stage">What it is doing (<c>"vocabulary"</c>, <c>"train"</c>, <c>"cooccur"</c>, …).</param>
/// <param name="Epoch">The current epoch, 1-based (for multi-threaded word2vec/fastText, the epoch of the slowest thread's share is approximated from the overall progress).</param>
/// <param name="Fraction">Share of the stage done, in [0, 1].</param>
/// <param name="LearningRate">The learning rate in use.</param>
/// <param name="Loss">Mean loss since the previous report (NaN when there is none yet).</param>
/// <param name="Processed">Words (or records, or examples) processed so far in this stage.</param>
/// <param name="Elapsed">Time since the stage started.</param>
public readonly record struct TrainingProgress(
    string Trainer,
    string Stage,
    int Epoch,
    double Fraction,
    double LearningRate,
    double Loss,
    long Processed,
    TimeSpan Elapsed)
{
    /// <summary>Processed items per second so far.</summary>
    public double ItemsPerSecond => Elapsed.TotalSeconds > 0 ? Processed / Elapsed.TotalSeconds : 0;
}
