using EmbedSharp.Diagnostics;
using EmbedSharp.Training.Common;

namespace EmbedSharp.Training.Word2Vec;

/// <summary>Which word2vec model to train.</summary>
public enum Word2VecArchitecture
{
    /// <summary>Skip-gram: each context word predicts the centre word.</summary>
    SkipGram = 0,

    /// <summary>Continuous bag of words: the context (mean or sum) predicts the centre word.</summary>
    Cbow = 1,
}

/// <summary>How CBOW combines the context vectors.</summary>
public enum CbowReduction
{
    /// <summary>The mean (word2vec's <c>-cbow 1</c>, gensim's <c>cbow_mean=1</c>).</summary>
    Mean = 0,

    /// <summary>The sum (gensim's <c>cbow_mean=0</c>).</summary>
    Sum = 1,
}

/// <summary>Settings for <see cref="Word2VecTrainer"/>; the defaults are word2vec's and gensim's.</summary>
public sealed record Word2VecOptions
{
    /// <summary>Vector length (default 100).</summary>
    public int Dims { get; init; } = 100;

    /// <summary>Largest distance between the centre and a context word (default 5). Each position draws its own window in <c>1 … Window</c> (the dynamic window).</summary>
    public int Window { get; init; } = 5;

    /// <summary>Skip-gram or CBOW.</summary>
    public Word2VecArchitecture Architecture { get; init; } = Word2VecArchitecture.SkipGram;

    /// <summary>CBOW only: mean or sum of the context.</summary>
    public CbowReduction CbowReduction { get; init; } = CbowReduction.Mean;

    /// <summary>Negative samples per positive pair (0 disables negative sampling; default 5).</summary>
    public int Negative { get; init; } = 5;

    /// <summary>Exponent of the negative-sampling distribution, <c>count^power</c> (default 0.75).</summary>
    public double NegativePower { get; init; } = 0.75;

    /// <summary>Use hierarchical softmax over a Huffman tree (default false). May be combined with negative sampling.</summary>
    public bool HierarchicalSoftmax { get; init; }

    /// <summary>Sub-sampling threshold t of frequent words (0 disables; default 1e-3, word2vec's). A word of frequency f is kept with probability <c>min(1, (√(f/t) + 1)·t/f)</c>.</summary>
    public double Sample { get; init; } = 1e-3;

    /// <summary>Words seen fewer times are dropped (default 5).</summary>
    public long MinCount { get; init; } = 5;

    /// <summary>Passes over the corpus (default 5).</summary>
    public int Epochs { get; init; } = 5;

    /// <summary>Starting learning rate; null means 0.025 for skip-gram and 0.05 for CBOW.</summary>
    public double? LearningRate { get; init; }

    /// <summary>The rate decays linearly to <c>LearningRate · MinLearningRateFactor</c> (default 1e-4).</summary>
    public double MinLearningRateFactor { get; init; } = 1e-4;

    /// <summary>Worker threads; they claim chunks of the corpus one after another and update the shared tables without locks (Hogwild). Default 1.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Seed of the initial vectors and of every worker's generator. One thread and a fixed seed give identical results run after run.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Longer lines are trained as several sentences of this many kept words (default 10 000, gensim's).</summary>
    public int MaxSentenceLength { get; init; } = 10_000;

    /// <summary>Keep the output vectors (negative-sampling rows, or hierarchical-softmax inner nodes when negative sampling is off) in the result.</summary>
    public bool KeepOutputVectors { get; init; }

    /// <summary>Receives progress about every <see cref="ProgressInterval"/> words, on a training thread (calls are serialised).</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }

    /// <summary>Words between progress reports (default 1 000 000).</summary>
    public long ProgressInterval { get; init; } = 1_000_000;

    internal double EffectiveLearningRate => LearningRate ?? (Architecture == Word2VecArchitecture.Cbow ? 0.05 : 0.025);

    internal void Validate()
    {
        const string op = "word2vec.train";
        Guard.Positive(op, Dims, nameof(Dims));
        Guard.Positive(op, Window, nameof(Window));
        Guard.NonNegative(op, Negative, nameof(Negative));
        if (Negative == 0 && !HierarchicalSoftmax)
            ThrowHelper.Argument(op, nameof(Negative), "Negative is 0 and HierarchicalSoftmax is off; enable at least one output layer (Negative > 0, or HierarchicalSoftmax = true)");
        if (!Enum.IsDefined(Architecture))
            ThrowHelper.ArgumentOutOfRange(op, nameof(Architecture), Architecture, "unknown architecture; valid values are SkipGram, Cbow");
        if (!Enum.IsDefined(CbowReduction))
            ThrowHelper.ArgumentOutOfRange(op, nameof(CbowReduction), CbowReduction, "unknown reduction; valid values are Mean, Sum");
        if (!(NegativePower >= 0) || double.IsInfinity(NegativePower))
            ThrowHelper.ArgumentOutOfRange(op, nameof(NegativePower), NegativePower, $"NegativePower must be a finite number ≥ 0 but was {NegativePower}");
        if (!(Sample >= 0) || double.IsInfinity(Sample))
            ThrowHelper.ArgumentOutOfRange(op, nameof(Sample), Sample, $"Sample must be a finite number ≥ 0 (0 disables sub-sampling) but was {Sample}");
        Guard.Positive(op, MinCount, nameof(MinCount));
        Guard.Positive(op, Epochs, nameof(Epochs));
        Guard.PositiveFinite(op, EffectiveLearningRate, nameof(LearningRate));
        if (!(MinLearningRateFactor >= 0 && MinLearningRateFactor <= 1))
            ThrowHelper.ArgumentOutOfRange(op, nameof(MinLearningRateFactor), MinLearningRateFactor, $"MinLearningRateFactor must be in [0, 1] but was {MinLearningRateFactor}");
        Guard.InRange(op, Threads, 1, 1025, nameof(Threads));
        Guard.Positive(op, MaxSentenceLength, nameof(MaxSentenceLength));
        Guard.Positive(op, ProgressInterval, nameof(ProgressInterval));
    }
}
