using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Dense;

namespace EmbedSharp.Models.Tabular;

/// <summary>How wide a categorical column's embedding is, from its cardinality n (categories + the unknown row).</summary>
public enum EmbeddingSizeRule
{
    /// <summary>fastai's rule: <c>min(600, round(1.6 · n^0.56))</c>.</summary>
    FastAi,

    /// <summary><c>ceil(√n)</c>, capped at 600.</summary>
    SquareRoot,

    /// <summary><c>ceil(n^¼)</c> (Google's rule of thumb), at least 1.</summary>
    FourthRoot,
}

/// <summary>What the head predicts.</summary>
public enum TabularTask
{
    /// <summary>Decided from the target column: continuous → regression, two classes → binary, more → multiclass.</summary>
    Auto,

    /// <summary>A number, MSE loss (the target is standardised for training).</summary>
    Regression,

    /// <summary>Two classes, BCE-with-logits.</summary>
    Binary,

    /// <summary>Several classes, softmax cross-entropy.</summary>
    Multiclass,
}

/// <summary>How categorical columns enter the network.</summary>
public enum CategoricalEncoding
{
    /// <summary>One learned embedding table per column (Guo &amp; Berkhahn's entity embeddings).</summary>
    Embedding,

    /// <summary>One-hot vectors into the same MLP (the baseline the embeddings are compared against).</summary>
    OneHot,
}

/// <summary>Options of <see cref="TabularModel.Train"/>.</summary>
public sealed record TabularOptions
{
    /// <summary>The column to predict.</summary>
    public required string Target { get; init; }

    /// <summary>Columns forced categorical (others are inferred).</summary>
    public IReadOnlyList<string> Categorical { get; init; } = [];

    /// <summary>Columns forced continuous (others are inferred).</summary>
    public IReadOnlyList<string> Continuous { get; init; } = [];

    /// <summary>Columns to leave out.</summary>
    public IReadOnlyList<string> Ignore { get; init; } = [];

    /// <summary>A numeric column with more distinct values than this is inferred continuous; otherwise categorical.</summary>
    public int MaxCategoriesForNumbers { get; init; } = 20;

    /// <summary>The task (default: inferred from the target).</summary>
    public TabularTask Task { get; init; } = TabularTask.Auto;

    /// <summary>The embedding width rule.</summary>
    public EmbeddingSizeRule SizeRule { get; init; } = EmbeddingSizeRule.FastAi;

    /// <summary>Embeddings (default) or one-hot inputs.</summary>
    public CategoricalEncoding Encoding { get; init; } = CategoricalEncoding.Embedding;

    /// <summary>Hidden widths of the MLP head (fastai's tabular default is 200, 100).</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [200, 100];

    /// <summary>Dropout after each hidden activation.</summary>
    public float Dropout { get; init; }

    /// <summary>Passes over the training rows.</summary>
    public int Epochs { get; init; } = 5;

    /// <summary>Rows per step.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Adam learning rate for the head and the tables.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>AdamW weight decay of the head.</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Seed of initialisation, shuffling and dropout.</summary>
    public ulong Seed { get; init; } = 42;

    internal void Validate()
    {
        const string op = "tabular.train";
        Guard.NotNull(op, Target, nameof(Target));
        Guard.NotNull(op, Hidden, nameof(Hidden));
        Guard.Positive(op, Epochs, nameof(Epochs));
        Guard.Positive(op, BatchSize, nameof(BatchSize));
        Guard.PositiveFinite(op, LearningRate, nameof(LearningRate));
        Guard.Finite(op, WeightDecay, nameof(WeightDecay));
        Guard.Positive(op, MaxCategoriesForNumbers, nameof(MaxCategoriesForNumbers));
        foreach (int h in Hidden)
            Guard.InRange(op, h, 1, 65537, "Hidden[i]");
        if (!(Dropout >= 0 && Dropout < 1))
            ThrowHelper.ArgumentOutOfRange(op, nameof(Dropout), Dropout, $"Dropout must be in [0, 1) but was {Dropout}");
    }

    /// <summary>The embedding width of a column with <paramref name="n"/> rows (categories + unknown) under <paramref name="rule"/>.</summary>
    public static int EmbeddingDims(EmbeddingSizeRule rule, int n) => rule switch
    {
        EmbeddingSizeRule.FastAi => Math.Min(600, Math.Max(1, (int)Math.Round(1.6 * Math.Pow(n, 0.56)))),
        EmbeddingSizeRule.SquareRoot => Math.Min(600, Math.Max(1, (int)Math.Ceiling(Math.Sqrt(n)))),
        _ => Math.Max(1, (int)Math.Ceiling(Math.Pow(n, 0.25))),
    };
}
