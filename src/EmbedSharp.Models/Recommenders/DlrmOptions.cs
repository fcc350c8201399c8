using EmbedSharp.Diagnostics;

namespace EmbedSharp.Models.Recommenders;

/// <summary>Hyper-parameters of <see cref="DlrmRecommender.Train"/>; defaults are the MovieLens-100K benchmark's.</summary>
public sealed record DlrmOptions
{
    /// <summary>Width d of every embedding table and of the bottom MLP's output.</summary>
    public int Dims { get; init; } = 16;

    /// <summary>Hidden widths of the bottom MLP (dense features → d).</summary>
    public IReadOnlyList<int> BottomHidden { get; init; } = [32];

    /// <summary>Hidden widths of the top MLP (d + pairwise dots → logit).</summary>
    public IReadOnlyList<int> TopHidden { get; init; } = [64, 32];

    /// <summary>Most passes over the training part.</summary>
    public int MaxEpochs { get; init; } = 10;

    /// <summary>
    /// Early stopping: training stops after this many epochs without a better validation AUC, and the
    /// weights of the best epoch are restored. Ignored when <see cref="ValidationFraction"/> is 0.
    /// </summary>
    public int Patience { get; init; } = 2;

    /// <summary>Share of the training ratings (seeded draw) held out to pick the epoch; 0 trains all <see cref="MaxEpochs"/> on everything.</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Adam step size of the MLPs.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Adam step size of the embedding tables (fused sparse step).</summary>
    public double SparseLearningRate { get; init; } = 0.01;

    /// <summary>Rows per step.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>The click-style target: a rating ≥ this is a click (1), below it not (0).</summary>
    public float ClickThreshold { get; init; } = 4;

    /// <summary>Seed of the tables, MLPs, validation draw and shuffling.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Threads of the sparse optimizer step (0: its default). 1 makes training bit-for-bit repeatable.</summary>
    public int Threads { get; init; }

    internal void Validate()
    {
        const string op = "dlrm.train";
        Guard.InRange(op, Dims, 1, 1025, nameof(Dims));
        Guard.NotNull(op, BottomHidden);
        Guard.NotNull(op, TopHidden);
        foreach (int h in BottomHidden.Concat(TopHidden))
            Guard.InRange(op, h, 1, 65537, "hidden width");
        Guard.InRange(op, MaxEpochs, 1, 10_001, nameof(MaxEpochs));
        Guard.InRange(op, Patience, 1, 10_001, nameof(Patience));
        Guard.Finite(op, ValidationFraction, nameof(ValidationFraction));
        if (ValidationFraction is < 0 or >= 1)
            ThrowHelper.ArgumentOutOfRange(op, nameof(ValidationFraction), ValidationFraction, "ValidationFraction must lie in [0, 1)");
        Guard.PositiveFinite(op, LearningRate, nameof(LearningRate));
        Guard.PositiveFinite(op, SparseLearningRate, nameof(SparseLearningRate));
        Guard.InRange(op, BatchSize, 1, 1 << 20, nameof(BatchSize));
        Guard.Finite(op, ClickThreshold, nameof(ClickThreshold));
        Guard.InRange(op, Threads, 0, 1025, nameof(Threads));
    }
}

/// <summary>Progress of <see cref="DlrmRecommender.Train"/> after an epoch.</summary>
/// <param name="Epoch">Epochs done.</param>
/// <param name="MaxEpochs">The most epochs that may run.</param>
/// <param name="Loss">Mean training BCE of the epoch.</param>
/// <param name="ValidationAuc">AUC on the validation part (NaN without one).</param>
public readonly record struct DlrmProgress(int Epoch, int MaxEpochs, double Loss, double ValidationAuc);

/// <summary>Click-prediction quality on rated pairs (click = rating ≥ the model's threshold).</summary>
/// <param name="Auc">Area under the ROC curve of the logits (ties count half; NaN with one class only).</param>
/// <param name="LogLoss">Mean binary cross-entropy of the predicted probabilities.</param>
/// <param name="Accuracy">Share classified right at probability 0.5.</param>
/// <param name="Ratings">Pairs scored.</param>
/// <param name="Clicks">Pairs whose rating reached the threshold.</param>
/// <param name="UnknownPairs">Pairs whose user or item was not in training (their id row is the unknown row).</param>
public readonly record struct ClickReport(double Auc, double LogLoss, double Accuracy, int Ratings, int Clicks, int UnknownPairs);
