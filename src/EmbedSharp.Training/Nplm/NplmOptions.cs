using EmbedSharp.Diagnostics;
using EmbedSharp.Training.Common;

namespace EmbedSharp.Training.Nplm;

/// <summary>The output layer of the neural language model.</summary>
public enum NplmOutput
{
    /// <summary>Softmax over the whole vocabulary (exact; cost grows with V).</summary>
    Full = 0,

    /// <summary>Sampled softmax (Jean et al. 2015): the target and <c>Samples</c> words drawn from <c>count^0.75</c>, logits corrected by <c>−log(k·q)</c>.</summary>
    Sampled = 1,

    /// <summary>Noise-contrastive estimation (Mnih &amp; Teh 2012) with a self-normalised model: logistic loss of the target against <c>Samples</c> noise words.</summary>
    Nce = 2,
}

/// <summary>Settings for <see cref="NplmTrainer"/> (Bengio et al. 2003's notation in the remarks).</summary>
public sealed record NplmOptions
{
    /// <summary>Words of context, n − 1 (default 4, the paper's n = 5).</summary>
    public int ContextSize { get; init; } = 4;

    /// <summary>Word vector length m, the columns of C (default 32).</summary>
    public int Dims { get; init; } = 32;

    /// <summary>Hidden tanh units h (default 64).</summary>
    public int Hidden { get; init; } = 64;

    /// <summary>Direct connections W from the concatenated context to the output (default false).</summary>
    public bool DirectConnections { get; init; }

    /// <summary>Output layer (default full softmax).</summary>
    public NplmOutput Output { get; init; } = NplmOutput.Full;

    /// <summary>Words drawn per example for sampled softmax and NCE (default 25).</summary>
    public int Samples { get; init; } = 25;

    /// <summary>Words seen fewer times map to <c>&lt;unk&gt;</c> (default 1).</summary>
    public long MinCount { get; init; } = 1;

    /// <summary>Passes over the corpus (default 5).</summary>
    public int Epochs { get; init; } = 5;

    /// <summary>Initial learning rate ε₀ of plain SGD (default 0.05); it decays as <c>ε₀/(1 + r·t)</c> over examples t.</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary>The decay r of the learning rate per example (default 1e-6).</summary>
    public double LearningRateDecay { get; init; } = 1e-6;

    /// <summary>Examples whose gradients for C are summed before one sparse update through <see cref="Embedding.Backward(ReadOnlySpan{int}, ReadOnlySpan{float})"/> (default 16). The other parameters are updated every example.</summary>
    public int MiniBatch { get; init; } = 16;

    /// <summary>Seed of the initial weights and the sampling.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Receives progress after every epoch and about every 100 000 examples.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }

    internal void Validate()
    {
        const string op = "nplm.train";
        Guard.InRange(op, ContextSize, 1, 65, nameof(ContextSize));
        Guard.Positive(op, Dims, nameof(Dims));
        Guard.Positive(op, Hidden, nameof(Hidden));
        if (!Enum.IsDefined(Output))
            ThrowHelper.ArgumentOutOfRange(op, nameof(Output), Output, "unknown output layer; valid values are Full, Sampled, Nce");
        if (Output != NplmOutput.Full)
            Guard.Positive(op, Samples, nameof(Samples));
        Guard.Positive(op, MinCount, nameof(MinCount));
        Guard.NonNegative(op, Epochs, nameof(Epochs));
        Guard.PositiveFinite(op, LearningRate, nameof(LearningRate));
        if (!(LearningRateDecay >= 0) || double.IsInfinity(LearningRateDecay))
            ThrowHelper.ArgumentOutOfRange(op, nameof(LearningRateDecay), LearningRateDecay, $"LearningRateDecay must be a finite number ≥ 0 but was {LearningRateDecay}");
        Guard.Positive(op, MiniBatch, nameof(MiniBatch));
    }
}
