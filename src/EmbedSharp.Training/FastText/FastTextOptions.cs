using EmbedSharp.Diagnostics;
using EmbedSharp.Training.Common;
using EmbedSharp.Vocabularies;

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
/// fastText's training arguments — core's <see cref="FastTextArgs"/>, the record a fastText <c>.bin</c>
/// stores (names as in fastText's <c>Args</c>, in .NET casing; the same defaults) — plus the run-time
/// settings. <see cref="StoredArgs"/> is what a trained model saves, with no mapping by the caller.
/// </summary>
/// <remarks>
/// <see cref="Loss"/> and <see cref="Model"/> are typed by the losses and models this trainer has (a
/// subset of core's <see cref="FastTextLoss"/> and <see cref="FastTextModelKind"/>, with fastText's codes)
/// and set the inherited fields; <see cref="FastTextArgs.Bucket"/> is forced to 0 when
/// <see cref="FastTextArgs.Maxn"/> is 0, as fastText does (<see cref="EffectiveBucket"/>).
/// </remarks>
public sealed record FastTextOptions : FastTextArgs
{
    /// <summary>Loss (<c>-loss</c>, default negative sampling).</summary>
    public new FastTextTrainingLoss Loss
    {
        get => (FastTextTrainingLoss)base.Loss;
        init => base.Loss = (FastTextLoss)value; // the same codes
    }

    /// <summary>Model (default skip-gram).</summary>
    public new FastTextTrainingModel Model
    {
        get => (FastTextTrainingModel)base.Model;
        init => base.Model = (FastTextModelKind)value; // the same codes
    }

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

    /// <summary><see cref="FastTextArgs.Bucket"/> as used: 0 when there are no character n-grams.</summary>
    public int EffectiveBucket => Maxn == 0 ? 0 : Bucket;

    /// <summary>The arguments as a model file stores them: these fields with <see cref="EffectiveBucket"/> as the bucket count.</summary>
    public FastTextArgs StoredArgs => ToArgs() with { Bucket = EffectiveBucket };

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
