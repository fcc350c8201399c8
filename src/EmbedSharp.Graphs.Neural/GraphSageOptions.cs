using EmbedSharp.Diagnostics;

namespace EmbedSharp.Graphs.Neural;

/// <summary>Settings of <see cref="GraphSage"/> and <see cref="GraphSageTrainer"/>.</summary>
public sealed record GraphSageOptions
{
    /// <summary>Width of the input node embeddings (the <see cref="Embedding"/> table's <c>Dims</c>; default 64).</summary>
    public int Dims { get; init; } = 64;

    /// <summary>Width of every layer's output (default 64).</summary>
    public int HiddenDims { get; init; } = 64;

    /// <summary>
    /// Neighbours sampled per node at each hop, one entry per layer: <c>FanOuts[0]</c> for the targets'
    /// own neighbours (default [5, 5], sized for a CPU; the paper uses 10 then 25). Empty gives no layer at all: the output is
    /// the input embedding itself — a shallow embedding trained with the same loss, the natural baseline.
    /// </summary>
    public IReadOnlyList<int> FanOuts { get; init; } = [5, 5];

    /// <summary>Scale the output rows to unit length (the paper's last step; default true).</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Train the input embeddings too (default true); false keeps given features fixed.</summary>
    public bool TrainFeatures { get; init; } = true;

    /// <summary>Passes over the training edges or nodes (default 10).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Positive edges (link prediction) or labelled nodes (classification) per step (default 512).</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>Adam's learning rate, for the layers and (lazy Adam) the embedding table (default 0.01, as in the paper's code).</summary>
    public double LearningRate { get; init; } = 0.01;

    /// <summary>
    /// Negatives for the link-prediction loss, per positive edge (or per batch with <see cref="SharedNegatives"/>), drawn
    /// ∝ degree^0.75 (default 1). The paper shares 20 per batch with random-walk co-occurrences as positives; with edges
    /// as positives, measured on umls, more shared negatives ranked worse (valid MRR of the shallow baseline 0.53 with 1,
    /// 0.39 with 5, 0.18 with 20).
    /// </summary>
    public int Negatives { get; init; } = 1;

    /// <summary>
    /// One set of <see cref="Negatives"/> for the whole batch, as the paper's code does (cheaper: the batch's tree grows
    /// by Q targets, not B·Q), instead of a set per positive edge as word2vec does (default false).
    /// </summary>
    public bool SharedNegatives { get; init; }

    /// <summary>Temperature τ of the link-prediction loss: logits are <c>z_u · z_v / τ</c> (default 1; below 1 sharpens unit-length outputs).</summary>
    public double Temperature { get; init; } = 1;

    /// <summary>Seed of initialisation, shuffling and sampling (default 1).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Threads for the dense products (default: the processor count; results do not depend on it).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Called after every epoch.</summary>
    public Action<GraphSageEpoch>? Progress { get; init; }

    internal void Validate(string op)
    {
        Guard.Positive(op, Dims, nameof(Dims));
        Guard.Positive(op, HiddenDims, nameof(HiddenDims));
        Guard.NotNull(op, FanOuts, nameof(FanOuts));
        foreach (int f in FanOuts)
            if (f < 1)
                ThrowHelper.ArgumentOutOfRange(op, nameof(FanOuts), f, $"every fan-out must be ≥ 1 but got [{string.Join(", ", FanOuts)}]");
        Guard.Positive(op, Epochs, nameof(Epochs));
        Guard.Positive(op, BatchSize, nameof(BatchSize));
        Guard.PositiveFinite(op, LearningRate, nameof(LearningRate));
        Guard.Positive(op, Negatives, nameof(Negatives));
        Guard.PositiveFinite(op, Temperature, nameof(Temperature));
        Guard.Positive(op, Threads, nameof(Threads));
    }
}

/// <summary>One finished epoch: its number (1-based), mean loss per step, and seconds since training began.</summary>
public sealed record GraphSageEpoch(int Epoch, double Loss, double Seconds);
