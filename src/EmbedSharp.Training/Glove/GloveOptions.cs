using EmbedSharp.Diagnostics;
using EmbedSharp.Training.Common;

namespace EmbedSharp.Training.Glove;

/// <summary>
/// Settings for <see cref="GloveTrainer"/>. The defaults are those of Stanford's GloVe tools (<c>cooccur</c>: window 15,
/// symmetric, 1/d weighting; <c>glove</c>: 25 iterations, η 0.05, x_max 100, α 0.75, W + W̃ output), except
/// <see cref="Dims"/> (100, like our other trainers; <c>glove</c> uses 50) and <see cref="MinCount"/> (5, as in
/// GloVe's demo; <c>vocab_count</c> keeps every word).
/// </summary>
/// <remarks>
/// With the same settings on the same corpus this trainer reproduces the reference tools' cost per epoch and
/// analogy accuracy (benchmarks/training/README.md). For corpora of a few million to a few tens of millions of
/// tokens, lower <see cref="XMax"/> to 10 (what GloVe's demo uses on its 17M-token text8): see <see cref="XMax"/>.
/// </remarks>
public sealed record GloveOptions
{
    /// <summary>Vector length (default 100).</summary>
    public int Dims { get; init; } = 100;

    /// <summary>Context words on each side counted as co-occurring (default 15, GloVe's). Windows stop at line ends.</summary>
    public int Window { get; init; } = 15;

    /// <summary>Weight a co-occurrence at distance d by 1/d (default true, GloVe's); false weights every pair 1.</summary>
    public bool DistanceWeighting { get; init; } = true;

    /// <summary>Count both directions (left and right context; default true).</summary>
    public bool Symmetric { get; init; } = true;

    /// <summary>
    /// Sub-sampling threshold t of frequent words, applied once while counting (0 disables; default 0, as in GloVe's
    /// tools). Each occurrence of a word of frequency f is kept with word2vec's probability
    /// <c>min(1, (√(f/t) + 1)·t/f)</c>; dropped occurrences take no window position, so the window reaches further
    /// past frequent words ("dirty" sub-sampling). The vocabulary and <see cref="MinCount"/> use the full counts.
    /// </summary>
    public double Sample { get; init; }

    /// <summary>Words seen fewer times are dropped (default 5).</summary>
    public long MinCount { get; init; } = 5;

    /// <summary>Passes over the co-occurrence records (default 25, GloVe's).</summary>
    public int Epochs { get; init; } = 25;

    /// <summary>AdaGrad's initial learning rate η (default 0.05).</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary>Cut-off of the weighting function <c>f(x) = min(1, (x/x_max)^α)</c>, x_max (default 100, GloVe's).</summary>
    /// <remarks>
    /// 100 suits corpora of hundreds of millions of tokens and more, where frequent pairs have counts in the
    /// thousands. On a corpus of a few million to a few tens of millions of tokens most pairs have small counts, and
    /// with x_max 100 a pair seen once weighs (1/100)^0.75 ≈ 0.03 of a saturated one; pick 10 there (GloVe's demo
    /// does on the 17M-token text8). On the 7.8M-token benchmark corpus, window 15 and 50 epochs, x_max 10 raised
    /// analogy accuracy from 0.098 to 0.116, for this trainer and for Stanford's tools alike.
    /// </remarks>
    public double XMax { get; init; } = 100;

    /// <summary>Exponent of the weighting function, α (default 0.75).</summary>
    public double Alpha { get; init; } = 0.75;

    /// <summary>Worker threads for the weighted least squares (Hogwild; default 1).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Seed of the initial vectors and of the record shuffles.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>
    /// Memory for co-occurrence counts and records, in bytes (default 1 GiB). When the counts outgrow it
    /// they are sorted and spilled as a shard through <see cref="CreateShard"/>, and the shards are merged
    /// at the end; when the merged records outgrow it they are trained in shuffled chunks of this size.
    /// </summary>
    public long MemoryBudgetBytes { get; init; } = 1L << 30;

    /// <summary>
    /// Creates shard <c>i</c> for writing (for example a file in a temporary directory). Without it,
    /// shards are kept in memory streams, so the memory is not bounded.
    /// </summary>
    public Func<int, Stream>? CreateShard { get; init; }

    /// <summary>Opens shard <c>i</c>, written earlier, for reading. Required with <see cref="CreateShard"/>.</summary>
    public Func<int, Stream>? OpenShard { get; init; }

    /// <summary>Called when shard <c>i</c> is no longer needed (optional).</summary>
    public Action<int>? DeleteShard { get; init; }

    /// <summary>Receives progress during counting (every 1 000 000 tokens) and after each epoch.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }

    internal void Validate()
    {
        const string op = "glove.train";
        Guard.Positive(op, Dims, nameof(Dims));
        Guard.Positive(op, Window, nameof(Window));
        Guard.Positive(op, MinCount, nameof(MinCount));
        Guard.Positive(op, Epochs, nameof(Epochs));
        Guard.PositiveFinite(op, LearningRate, nameof(LearningRate));
        Guard.PositiveFinite(op, XMax, nameof(XMax));
        Guard.PositiveFinite(op, Alpha, nameof(Alpha));
        if (!(Sample >= 0) || double.IsInfinity(Sample))
            ThrowHelper.ArgumentOutOfRange(op, nameof(Sample), Sample, $"Sample must be a finite number ≥ 0 (0 disables sub-sampling) but was {Sample}");
        Guard.InRange(op, Threads, 1, 1025, nameof(Threads));
        if (MemoryBudgetBytes < 1 << 20)
            ThrowHelper.ArgumentOutOfRange(op, nameof(MemoryBudgetBytes), MemoryBudgetBytes, $"MemoryBudgetBytes {MemoryBudgetBytes} is below the 1 MiB minimum");
        if ((CreateShard is null) != (OpenShard is null))
            ThrowHelper.Argument(op, CreateShard is null ? nameof(CreateShard) : nameof(OpenShard), "CreateShard and OpenShard must be given together (or both left null for in-memory shards)");
    }
}
