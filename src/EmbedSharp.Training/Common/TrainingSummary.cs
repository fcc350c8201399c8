namespace EmbedSharp.Training.Common;

/// <summary>What a finished (or cancelled) training run did.</summary>
/// <param name="Cancelled">True when the cancellation token stopped the run early; the result is still usable (the weights as they were when the workers stopped).</param>
/// <param name="EpochsCompleted">Full epochs done (all threads), possibly fewer than asked when cancelled.</param>
/// <param name="Processed">Words (records, examples) processed in training, summed over threads and epochs.</param>
/// <param name="Elapsed">Wall time of the training stage (vocabulary building excluded).</param>
/// <param name="FinalLoss">Mean loss over the last reporting interval (NaN when nothing was trained).</param>
/// <param name="Threads">Worker threads used.</param>
/// <param name="EpochLosses">Mean loss of each epoch that was started (per word–context pair, per record or per example, as each trainer documents), summed over threads.</param>
public sealed record TrainingSummary(
    bool Cancelled,
    int EpochsCompleted,
    long Processed,
    TimeSpan Elapsed,
    double FinalLoss,
    int Threads,
    IReadOnlyList<double> EpochLosses)
{
    /// <summary>Processed items per second of wall time.</summary>
    public double ItemsPerSecond => Elapsed.TotalSeconds > 0 ? Processed / Elapsed.TotalSeconds : 0;

    /// <summary>Processed items per second per thread.</summary>
    public double ItemsPerSecondPerThread => Threads > 0 ? ItemsPerSecond / Threads : 0;
}
