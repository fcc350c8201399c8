using EmbedSharp.Models.Data;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Models.Recommenders;

/// <summary>Which factor model <see cref="RecommenderTrainer"/> fits.</summary>
public enum RecommenderKind
{
    /// <summary>Biased matrix factorisation on explicit ratings by SGD (Koren, Bell &amp; Volinsky 2009; Surprise's SVD).</summary>
    MatrixFactorization,

    /// <summary>Biased matrix factorisation on explicit ratings by alternating least squares with count-scaled regularisation (ALS-WR).</summary>
    ExplicitAls,

    /// <summary>Biased MF plus the SVD++ implicit term <c>|N(u)|^−½ Σ_{j∈N(u)} y_j</c> (Koren 2008), by SGD.</summary>
    SvdPlusPlus,

    /// <summary>Implicit-feedback ALS (Hu, Koren &amp; Volinsky 2008): confidence <c>1 + α·r</c>, conjugate-gradient solves.</summary>
    ImplicitAls,

    /// <summary>Bayesian personalised ranking (Rendle et al. 2009) with item biases, by SGD with uniform negatives; each interaction's value weights its pair's loss (1 for <see cref="Data.RatingData.Positives"/>).</summary>
    Bpr,

    /// <summary>
    /// A two-tower model over user and item id embeddings (<see cref="TwoTower"/>: MLP towers, unit
    /// vectors, in-batch softmax with log-Q correction and a learnable temperature); after training both
    /// towers are encoded into the factor tables (scaled by the learned inverse temperature).
    /// </summary>
    TwoTower,

    /// <summary>
    /// Bayesian biased matrix factorisation by Gibbs sampling (libFM's MCMC learner for a user-item
    /// factorisation; Salakhutdinov &amp; Mnih's BPMF): priors with sampled means and precisions instead of
    /// tuned penalties; the prediction averages <see cref="RecommenderOptions.Samples"/> posterior draws.
    /// </summary>
    BayesianMf,
}

/// <summary>Progress after an epoch (or ALS sweep).</summary>
/// <param name="Epoch">Epochs done.</param>
/// <param name="Epochs">Epochs in all.</param>
/// <param name="Loss">The epoch's mean training loss (squared error, BPR's −log σ, or the weighted implicit loss).</param>
public readonly record struct TrainingProgress(int Epoch, int Epochs, double Loss);

/// <summary>Hyper-parameters of <see cref="RecommenderTrainer"/>; defaults are sensible for MovieLens-100K.</summary>
public sealed record RecommenderOptions
{
    /// <summary>The model.</summary>
    public RecommenderKind Kind { get; init; } = RecommenderKind.MatrixFactorization;

    /// <summary>Latent factors per user and item.</summary>
    public int Factors { get; init; } = 100;

    /// <summary>Passes over the data (SGD), alternating sweeps (ALS) or Gibbs sweeps (<see cref="RecommenderKind.BayesianMf"/>, burn-in included).</summary>
    public int Epochs { get; init; } = 40;

    /// <summary>SGD step size (MF, SVD++, BPR).</summary>
    public double LearningRate { get; init; } = 0.01;

    /// <summary>Multiplies the step size after each epoch.</summary>
    public double LearningRateDecay { get; init; } = 0.96;

    /// <summary>L2 penalty on factors (ALS: scaled by each row's count, ALS-WR; implicit ALS: unscaled λ).</summary>
    public double Regularization { get; init; } = 0.05;

    /// <summary>
    /// Biased MF by SGD: the L2 penalty on item factors when it should differ from the user factors'
    /// (<see cref="Regularization"/>); null uses the same λ for both.
    /// </summary>
    public double? ItemRegularization { get; init; }

    /// <summary>L2 penalty on biases.</summary>
    public double BiasRegularization { get; init; } = 0.01;

    /// <summary>Standard deviation of the initial factors.</summary>
    public double InitStd { get; init; } = 0.1;

    /// <summary>Implicit ALS confidence slope α: <c>c = 1 + α·r</c>.</summary>
    public double Alpha { get; init; } = 10;

    /// <summary>
    /// Implicit ALS: exponent ν of frequency-scaled regularisation (Rendle et al. 2021, "Revisiting the
    /// performance of iALS"): row r's penalty is <c>λ·(N + α·Σ_j r_j)^ν</c>, N the other side's row count
    /// — the row's total confidence weight. 0 (the default) is the plain λ of Hu, Koren &amp; Volinsky.
    /// </summary>
    public double RegularizationExponent { get; init; }

    /// <summary>Conjugate-gradient iterations per implicit-ALS solve (warm-started; the implicit library uses 3).</summary>
    public int CgSteps { get; init; } = 3;

    /// <summary>
    /// <see cref="RecommenderKind.BayesianMf"/>: posterior draws averaged into the prediction (the model
    /// stores them side by side, so it has <c>Factors·Samples</c> columns; at most 4096).
    /// </summary>
    public int Samples { get; init; } = 20;

    /// <summary><see cref="RecommenderKind.BayesianMf"/>: sweeps discarded before the first kept draw (<see cref="Epochs"/> counts all sweeps).</summary>
    public int BurnIn { get; init; } = 20;

    /// <summary>
    /// <see cref="RecommenderKind.BayesianMf"/>: add SVD++'s implicit term — each user's vector gains
    /// <c>|N(u)|^−½ Σ_{j∈N(u)} y_j</c> and their bias <c>|N(u)|^−½ Σ w_j</c>, N(u) the items they rated in
    /// training (plus <see cref="ImplicitInteractions"/>).
    /// </summary>
    public bool ImplicitFeedback { get; init; }

    /// <summary>
    /// <see cref="RecommenderKind.BayesianMf"/>: the mirror of <see cref="ImplicitFeedback"/> on the item side —
    /// each item's vector gains <c>|N(i)|^−½ Σ_{u∈N(i)} x_u</c> and its bias <c>|N(i)|^−½ Σ w_u</c>, N(i) the users
    /// who rated it in training (plus <see cref="ImplicitInteractions"/>).
    /// </summary>
    public bool ItemImplicitFeedback { get; init; }

    /// <summary>
    /// <see cref="RecommenderKind.BayesianMf"/> with <see cref="ImplicitFeedback"/>: further (user, item)
    /// pairs that count as "the user rated this item" without a rating (their rating column is ignored;
    /// unknown users and items are skipped) — e.g. the pairs one is asked to predict, the Netflix-prize
    /// habit. Null: training items only.
    /// </summary>
    public RatingData? ImplicitInteractions { get; init; }

    /// <summary>
    /// <see cref="RecommenderKind.BayesianMf"/>: side features per raw user id (e.g. "gender=F",
    /// "occupation=writer"); each feature has a factor vector and a bias that the user's vector and bias
    /// add, weighted <c>m^−½</c> for a user with m features. Features sharing a prefix before '=' share a prior.
    /// </summary>
    public IReadOnlyDictionary<int, IReadOnlyList<string>>? UserFeatures { get; init; }

    /// <summary><see cref="RecommenderKind.BayesianMf"/>: side features per raw item id (e.g. "genre=Comedy"), as <see cref="UserFeatures"/>.</summary>
    public IReadOnlyDictionary<int, IReadOnlyList<string>>? ItemFeatures { get; init; }

    /// <summary>Pairs per step for <see cref="RecommenderKind.TwoTower"/> (the in-batch negatives).</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Seed of initialisation, shuffling and negative sampling.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>Smallest rating (predictions are clipped to the scale).</summary>
    public float MinRating { get; init; } = 1;

    /// <summary>Largest rating.</summary>
    public float MaxRating { get; init; } = 5;

    internal void Validate()
    {
        const string op = "recommender.train";
        if (!Enum.IsDefined(Kind))
            ThrowHelper.ArgumentOutOfRange(op, nameof(Kind), Kind, $"kind {Kind} is unknown; valid values are {string.Join(", ", Enum.GetNames<RecommenderKind>())}");
        Guard.InRange(op, Factors, 1, 4097, nameof(Factors));
        Guard.InRange(op, Epochs, 0, 100_001, nameof(Epochs));
        Guard.PositiveFinite(op, LearningRate, nameof(LearningRate));
        Guard.PositiveFinite(op, LearningRateDecay, nameof(LearningRateDecay));
        Guard.Finite(op, Regularization, nameof(Regularization));
        Guard.Finite(op, BiasRegularization, nameof(BiasRegularization));
        if (ItemRegularization is double itemReg && !(itemReg >= 0 && double.IsFinite(itemReg)))
            ThrowHelper.ArgumentOutOfRange(op, nameof(ItemRegularization), itemReg, "ItemRegularization must be finite and ≥ 0");
        if (Regularization < 0 || BiasRegularization < 0)
            ThrowHelper.ArgumentOutOfRange(op, nameof(Regularization), Regularization, "Regularization and BiasRegularization must be ≥ 0");
        Guard.PositiveFinite(op, InitStd, nameof(InitStd));
        Guard.PositiveFinite(op, Alpha, nameof(Alpha));
        Guard.Finite(op, RegularizationExponent, nameof(RegularizationExponent));
        if (RegularizationExponent < 0 || RegularizationExponent > 2)
            ThrowHelper.ArgumentOutOfRange(op, nameof(RegularizationExponent), RegularizationExponent, "RegularizationExponent must lie in 0..2");
        Guard.InRange(op, CgSteps, 1, 1001, nameof(CgSteps));
        Guard.InRange(op, Samples, 1, 4097, nameof(Samples));
        Guard.InRange(op, BurnIn, 0, 100_001, nameof(BurnIn));
        if (Kind == RecommenderKind.BayesianMf)
        {
            if ((long)Factors * Samples > 4096)
                ThrowHelper.ArgumentOutOfRange(op, nameof(Samples), Samples, $"Factors·Samples must be ≤ 4096 (got {Factors}·{Samples}); lower one of them");
            if (Epochs < BurnIn + Samples)
                ThrowHelper.ArgumentOutOfRange(op, nameof(Epochs), Epochs, $"Epochs must be ≥ BurnIn + Samples ({BurnIn} + {Samples}) so that every kept draw is a separate sweep");
        }
        foreach (var features in new[] { UserFeatures, ItemFeatures })
            if (features is not null)
                foreach (var (id, list) in features)
                    if (list is null || list.Any(string.IsNullOrEmpty))
                        ThrowHelper.Argument(op, nameof(UserFeatures), $"the features of id {id} are null or hold an empty name; give each id a list of non-empty names");
        if (Kind != RecommenderKind.BayesianMf && (ImplicitFeedback || ItemImplicitFeedback || ImplicitInteractions is not null || UserFeatures is not null || ItemFeatures is not null))
            ThrowHelper.Argument(op, nameof(ImplicitFeedback), $"ImplicitFeedback, ImplicitInteractions and side features are used by BayesianMf only, not {Kind}");
        Guard.InRange(op, BatchSize, 2, 1 << 16, nameof(BatchSize));
        Guard.Finite(op, MinRating, nameof(MinRating));
        Guard.Finite(op, MaxRating, nameof(MaxRating));
        if (!(MinRating <= MaxRating))
            ThrowHelper.ArgumentOutOfRange(op, nameof(MaxRating), MaxRating, $"MaxRating {MaxRating} must be ≥ MinRating {MinRating}");
    }
}
