using EmbedSharp.Diagnostics;
using EmbedSharp.Training.Common;

namespace EmbedSharp.Training.FastText;

/// <summary>fastText's unsupervised models; the values are fastText's <c>model_name</c> codes.</summary>
public enum FastTextTrainingModel
{
    /// <summary>CBOW: the bag of the context words' subword rows predicts the centre word.</summary>
    Cbow = 1,

    /// <summary>Skip-gram: the centre word's subword rows predict each context word.</summary>
    Skipgram = 2,
}

/// <summary>fastText's losses; the values are fastText's <c>loss_name</c> codes.</summary>
public enum FastTextTrainingLoss
{
    /// <summary>Hierarchical softmax over a Huffman tree.</summary>
    HierarchicalSoftmax = 1,

    /// <summary>Negative sampling (negatives drawn from <c>count^0.5</c>, as fastText does).</summary>
    NegativeSampling = 2,

    /// <summary>Full softmax over the vocabulary.</summary>
    Softmax = 3,
}

/// <summary>
/// fastText's training arguments (names as in fastText's <c>Args</c>, in .NET casing) plus the
/// run-time settings. The first group is what a fastText <c>.bin</c> stores.
/// </summary>
public sealed record FastTextOptions
{
    /// <summary>Vector length (<c>-dim</c>, default 100).</summary>
    public int Dims { get; init; } = 100;

    /// <summary>Context window (<c>-ws</c>, default 5); each position draws its window uniformly in <c>1 … WindowSize</c>.</summary>
    public int WindowSize { get; init; } = 5;

    /// <summary>Epochs (<c>-epoch</c>, default 5).</summary>
    public int Epoch { get; init; } = 5;

    /// <summary>Words seen fewer times are dropped (<c>-minCount</c>, default 5).</summary>
    public int MinCount { get; init; } = 5;

    /// <summary>Negatives per target (<c>-neg</c>, default 5).</summary>
    public int Neg { get; init; } = 5;

    /// <summary>Word n-gram length (<c>-wordNgrams</c>); stored for the file format, only 1 is meaningful for unsupervised models.</summary>
    public int WordNgrams { get; init; } = 1;

    /// <summary>Loss (<c>-loss</c>, default negative sampling).</summary>
    public FastTextTrainingLoss Loss { get; init; } = FastTextTrainingLoss.NegativeSampling;

    /// <summary>Model (default skip-gram).</summary>
    public FastTextTrainingModel Model { get; init; } = FastTextTrainingModel.Skipgram;

    /// <summary>Number of n-gram hash buckets (<c>-bucket</c>, default 2 000 000). Forced to 0 when <see cref="Maxn"/> is 0, as fastText does.</summary>
    public int Bucket { get; init; } = 2_000_000;

    /// <summary>Shortest character n-gram (<c>-minn</c>, default 3).</summary>
    public int Minn { get; init; } = 3;

    /// <summary>Longest character n-gram (<c>-maxn</c>, default 6); 0 trains plain word vectors.</summary>
    public int Maxn { get; init; } = 6;

    /// <summary>Tokens between learning-rate updates (<c>-lrUpdateRate</c>, default 100).</summary>
    public int LrUpdateRate { get; init; } = 100;

    /// <summary>Sub-sampling threshold (<c>-t</c>, default 1e-4): a word of frequency f is kept with probability <c>min(1, √(t/f) + t/f)</c>.</summary>
    public double SamplingThreshold { get; init; } = 1e-4;

    /// <summary>Starting learning rate (<c>-lr</c>, default 0.05); it decays linearly to 0.</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary>Worker threads (<c>-thread</c>, default 1).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Seed of the initial vectors and the workers' generators (<c>-seed</c>).</summary>
    public ulong Seed { get; init; }

    /// <summary>Receives progress about every <see cref="ProgressInterval"/> tokens, on a training thread.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }

    /// <summary>Tokens between progress reports (default 1 000 000).</summary>
    public long ProgressInterval { get; init; } = 1_000_000;

    /// <summary><see cref="Bucket"/> as used: 0 when there are no character n-grams.</summary>
    public int EffectiveBucket => Maxn == 0 ? 0 : Bucket;

    internal void Validate()
    {
        const string op = "fasttext.train";
        Guard.Positive(op, Dims, nameof(Dims));
        Guard.Positive(op, WindowSize, nameof(WindowSize));
        Guard.Positive(op, Epoch, nameof(Epoch));
        Guard.Positive(op, MinCount, nameof(MinCount));
        Guard.NonNegative(op, Neg, nameof(Neg));
        Guard.Positive(op, WordNgrams, nameof(WordNgrams));
        if (!Enum.IsDefined(Loss))
            ThrowHelper.ArgumentOutOfRange(op, nameof(Loss), Loss, "unknown loss; valid values are HierarchicalSoftmax, NegativeSampling, Softmax");
        if (!Enum.IsDefined(Model))
            ThrowHelper.ArgumentOutOfRange(op, nameof(Model), Model, "unknown model; valid values are Cbow, Skipgram");
        if (Loss == FastTextTrainingLoss.NegativeSampling && Neg == 0)
            ThrowHelper.ArgumentOutOfRange(op, nameof(Neg), Neg, "Neg is 0 with negative sampling; valid values are ≥ 1");
        Guard.NonNegative(op, Maxn, nameof(Maxn));
        if (Maxn > 0)
        {
            Guard.Positive(op, Minn, nameof(Minn));
            if (Maxn < Minn)
                ThrowHelper.ArgumentOutOfRange(op, nameof(Maxn), Maxn, $"Maxn {Maxn} is smaller than Minn {Minn}; valid values are ≥ Minn, or 0 for no n-grams");
            Guard.Positive(op, Bucket, nameof(Bucket));
        }
        else
        {
            Guard.NonNegative(op, Bucket, nameof(Bucket));
        }
        Guard.Positive(op, LrUpdateRate, nameof(LrUpdateRate));
        if (!(SamplingThreshold >= 0) || double.IsInfinity(SamplingThreshold))
            ThrowHelper.ArgumentOutOfRange(op, nameof(SamplingThreshold), SamplingThreshold, $"SamplingThreshold must be a finite number ≥ 0 but was {SamplingThreshold}");
        Guard.PositiveFinite(op, LearningRate, nameof(LearningRate));
        Guard.InRange(op, Threads, 1, 1025, nameof(Threads));
        Guard.Positive(op, ProgressInterval, nameof(ProgressInterval));
    }
}
