namespace EmbedSharp.Graphs.Training;

/// <summary>How a knowledge-graph model is trained.</summary>
public enum KgLoss
{
    /// <summary>The model's usual loss: 1-N cross-entropy for DistMult and ComplEx, margin ranking for TransE, self-adversarial negative sampling for RotatE.</summary>
    Auto = 0,

    /// <summary>
    /// 1-N scoring (Lacroix et al. 2018): each (anchor, r) query is scored against every entity with one
    /// GEMM and trained with softmax cross-entropy on the true answer; both directions of every triple are
    /// queries. Dot-product models only.
    /// </summary>
    OneToN = 1,

    /// <summary>Margin ranking over k corrupted triples per positive: mean of max(0, margin − f(pos) + f(neg)).</summary>
    Margin = 2,

    /// <summary>
    /// RotatE's loss: −log σ(f(pos)) − Σⱼ pⱼ log σ(−f(negⱼ)), halved, with pⱼ = softmax(α · f(negⱼ)) held
    /// constant (self-adversarial weights; α = 0 gives uniform weights).
    /// </summary>
    SelfAdversarial = 3,
}

/// <summary>Which end of a positive triple negative sampling replaces.</summary>
public enum CorruptionMode
{
    /// <summary>Head or tail with probability ½ each.</summary>
    Uniform = 0,

    /// <summary>Wang et al. 2014: the head with probability tph / (tph + hpt) of the triple's relation, so the side with more answers is corrupted less often (fewer false negatives).</summary>
    Bernoulli = 1,
}

/// <summary>Penalty on the rows a batch uses (anchor, relation, target), per example.</summary>
public enum KgRegularizer
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>λ Σ x² (weight decay on the rows used).</summary>
    L2 = 1,

    /// <summary>The nuclear 3-norm of Lacroix et al. 2018: λ Σ |x|³, with |x| the modulus of each complex coordinate for complex models.</summary>
    N3 = 2,
}

/// <summary>Which fused sparse optimizer updates the tables.</summary>
public enum KgOptimizer
{
    /// <summary>Adagrad (the 1-N default, learning rate 0.1 in Lacroix et al.).</summary>
    Adagrad = 0,

    /// <summary>Adam (the negative-sampling default).</summary>
    Adam = 1,

    /// <summary>Row-wise Adagrad (one accumulator per row).</summary>
    RowwiseAdagrad = 2,
}

/// <summary>How the learning rate changes over a run (both tables' optimizers, step by step).</summary>
public enum KgLearningRateDecay
{
    /// <summary>The same rate throughout.</summary>
    Constant = 0,

    /// <summary>Straight down from the full rate at the first step to <see cref="KgTrainingOptions.FinalLearningRateFactor"/> × rate at the last step of the planned epochs.</summary>
    Linear = 1,

    /// <summary>Cosine annealing from the full rate to <see cref="KgTrainingOptions.FinalLearningRateFactor"/> × rate over the planned epochs: for a fixed budget, plan the epochs that fit and the run ends annealed.</summary>
    Cosine = 2,

    /// <summary>
    /// The full rate for the first half of the planned steps, then <see cref="KgTrainingOptions.FinalLearningRateFactor"/> × rate
    /// (RotatE's reference code divides Adam's rate by 10 at half its steps: factor 0.1).
    /// </summary>
    Step = 3,
}

/// <summary>Settings of <see cref="KgTrainer.Train"/>.</summary>
public sealed record KgTrainingOptions
{
    /// <summary>Passes over the training triples (default 50).</summary>
    public int Epochs { get; init; } = 50;

    /// <summary>Positive triples per step (1-N: queries per step) (default 500).</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>Loss (default: the model's usual one).</summary>
    public KgLoss Loss { get; init; } = KgLoss.Auto;

    /// <summary>Optimizer; null takes Adagrad for 1-N and Adam otherwise.</summary>
    public KgOptimizer? Optimizer { get; init; }

    /// <summary>Learning rate; null takes 0.1 for Adagrad and row-wise Adagrad, 1e-3 for Adam.</summary>
    public double? LearningRate { get; init; }

    /// <summary>
    /// Learning rate of the relation table; null (the default) takes <see cref="LearningRate"/>. RotatE's reference code
    /// stores each relation as <c>θ · range / π</c> with <c>range = (γ + 2) / Dims</c>; under Adam (whose steps do not
    /// depend on the gradient's scale) that is the same as phases stored in radians with this rate set to
    /// <c>LearningRate · π · Dims / (γ + 2)</c>.
    /// </summary>
    public double? RelationLearningRate { get; init; }

    /// <summary>Learning-rate decay over the planned <see cref="Epochs"/> (default constant).</summary>
    public KgLearningRateDecay LearningRateDecay { get; init; } = KgLearningRateDecay.Constant;

    /// <summary>The fraction of the learning rate left at the last planned step under a decay, in [0, 1] (default 0).</summary>
    public double FinalLearningRateFactor { get; init; }

    /// <summary>Negatives per positive triple (negative-sampling losses; default 64).</summary>
    public int Negatives { get; init; } = 64;

    /// <summary>When true, one set of negatives is drawn per batch and shared by its positives (cheaper); otherwise each positive draws its own.</summary>
    public bool SharedNegatives { get; init; }

    /// <summary>Which end to corrupt (default uniform).</summary>
    public CorruptionMode Corruption { get; init; } = CorruptionMode.Uniform;

    /// <summary>
    /// Negative sampling: instead of choosing the corrupted end per triple, corrupt the tail of every triple in even-numbered
    /// batches (0, 2, ...) and the head in odd ones, as RotatE's reference code alternates tail-batch and head-batch steps.
    /// Needs <see cref="CorruptionMode.Uniform"/>. Default false.
    /// </summary>
    public bool AlternateSides { get; init; }

    /// <summary>
    /// Negative sampling: a drawn negative that makes a training triple true (a known tail of <c>(h, r)</c>, or a known head
    /// of <c>(r, t)</c>) is drawn again, as RotatE's reference data loader does. Needs per-sample negatives. Default false.
    /// </summary>
    public bool FilterNegatives { get; init; }

    /// <summary>
    /// Negative sampling: weight each positive triple's loss (its positive and its negatives' terms) by
    /// <c>1 / √(c(h, r) + c(t, r⁻¹))</c>, where c counts the training triples with that head and relation (tail and
    /// relation) plus 3, and normalise by the batch's weight sum instead of the batch size, as RotatE's reference
    /// code does (word2vec-style subsampling of frequent partial triples). Default false.
    /// </summary>
    public bool SubsamplingWeights { get; init; }

    /// <summary>Margin of <see cref="KgLoss.Margin"/> (default 1).</summary>
    public float Margin { get; init; } = 1;

    /// <summary>Temperature α of the self-adversarial weights (default 1).</summary>
    public float AdversarialTemperature { get; init; } = 1;

    /// <summary>Regularizer (default none).</summary>
    public KgRegularizer Regularizer { get; init; } = KgRegularizer.None;

    /// <summary>Weight λ of the regularizer (default 0).</summary>
    public float RegularizationWeight { get; init; }

    /// <summary>
    /// Weight of the regularizer on relation rows; null (the default) takes <see cref="RegularizationWeight"/>.
    /// Small-rank tuned configs (LibKGE's) penalise entities and relations very differently.
    /// </summary>
    public float? RelationRegularizationWeight { get; init; }

    /// <summary>
    /// 1-N training only: each coordinate of a query's anchor entity row is zeroed with this probability and the
    /// others scaled by 1 / (1 − p) (inverted dropout; a fresh mask per query and batch, drawn from the seed) before
    /// the query is formed. The answer side and evaluation are untouched. In [0, 1); default 0 (off).
    /// </summary>
    public float EntityDropout { get; init; }

    /// <summary>1-N training only: the same dropout as <see cref="EntityDropout"/> on the query's relation row. In [0, 1); default 0 (off).</summary>
    public float RelationDropout { get; init; }

    /// <summary>Seed of shuffling and negative sampling (default 1).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Worker threads (default: the processor count). Results are reproducible for a given count.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Called after every epoch (the model is consistent then: it may be evaluated inside the callback).</summary>
    public Action<KgEpochReport>? Progress { get; init; }
}

/// <summary>One finished epoch.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Epochs">Epochs planned.</param>
/// <param name="Loss">Mean loss per example over the epoch (regularizer included).</param>
/// <param name="Examples">Examples seen so far (1-N: queries, two per triple; otherwise positive triples).</param>
/// <param name="Elapsed">Training time so far.</param>
public sealed record KgEpochReport(int Epoch, int Epochs, double Loss, long Examples, TimeSpan Elapsed);

/// <summary>What a training run did.</summary>
/// <param name="Epochs">Epochs completed.</param>
/// <param name="Loss">Mean loss of the last complete epoch (if cancelled during the first, the mean over the batches that ran; NaN if none ran).</param>
/// <param name="Examples">Examples seen.</param>
/// <param name="Elapsed">Wall time.</param>
/// <param name="Cancelled">True when the token stopped training before the last epoch; the model holds what was learned.</param>
/// <param name="LossKind">The loss the run used (<see cref="KgLoss.Auto"/> resolved).</param>
public sealed record KgTrainingSummary(int Epochs, double Loss, long Examples, TimeSpan Elapsed, bool Cancelled, KgLoss LossKind);
