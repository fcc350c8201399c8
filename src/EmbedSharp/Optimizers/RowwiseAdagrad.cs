namespace EmbedSharp.Optimizers;

/// <summary>
/// Row-wise Adagrad, FBGEMM's <c>EXACT_ROWWISE_ADAGRAD</c>: one accumulator per row instead of one
/// per element, so the state is a single float per row.
/// </summary>
/// <remarks>
/// Per row, at step t: <c>g' = g + weightDecay·w</c>; <c>s += (Σ_d g'_d²) / Dims</c>;
/// <c>w −= lr · g' / (√s + eps)</c>. Untouched rows: as <see cref="Adagrad"/>, a zero gradient is a
/// no-op, so Lazy and Dense agree without weight decay; with weight decay Lazy decays only touched
/// rows (FBGEMM's behaviour) and Dense decays every row.
/// </remarks>
public readonly struct RowwiseAdagrad : ISparseUpdateRule
{
    private readonly bool _initialized;
    private readonly float _eps, _decay;

    /// <summary>Creates the rule with the defaults (a struct's <c>new RowwiseAdagrad()</c> would otherwise zero every field).</summary>
    public RowwiseAdagrad() : this(1e-2) { }

    /// <summary>Creates the rule (defaults lr 1e-2, eps 1e-8, FBGEMM's eps).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is negative or not finite.</exception>
    public RowwiseAdagrad(double lr = 1e-2, double eps = 1e-8, double weightDecay = 0)
    {
        const string op = "rowwise_adagrad";
        RuleChecks.LearningRate(op, lr);
        RuleChecks.NonNegative(op, eps, nameof(eps));
        RuleChecks.NonNegative(op, weightDecay, nameof(weightDecay));
        LearningRate = lr;
        _initialized = true;
        Eps = eps;
        WeightDecay = weightDecay;
        _eps = (float)eps;
        _decay = (float)weightDecay;
    }

    /// <inheritdoc/>
    public string Name => "rowwise_adagrad";

    /// <inheritdoc/>
    public double LearningRate { get; }

    /// <summary>Added to √s.</summary>
    public double Eps { get; }

    /// <summary>L2 penalty added to the gradient.</summary>
    public double WeightDecay { get; }

    /// <inheritdoc/>
    public int StateWidth(int dims) => 1;

    /// <inheritdoc/>
    public void InitializeState(Span<float> state) => state.Clear();

    /// <inheritdoc/>
    public bool IdleIsNoOp => _decay == 0;

    /// <inheritdoc/>
    public bool IsInitialized => _initialized;

    /// <inheritdoc/>
    public bool SupportsDense => true;

    /// <inheritdoc/>
    public StepScalars Prepare(long step, double learningRateFactor) => new(step, (float)(LearningRate * learningRateFactor));

    /// <inheritdoc/>
    public void UpdateRow(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars)
    {
        int dims = weight.Length;
        float sum = 0;
        for (int i = 0; i < dims; i++)
        {
            float g = _decay != 0 ? grad[i] + _decay * weight[i] : grad[i];
            sum += g * g;
        }
        float s = state[0] + (dims > 0 ? sum / dims : 0f);
        state[0] = s;
        float step = scalars.LearningRate / (MathF.Sqrt(s) + _eps);
        for (int i = 0; i < dims; i++)
        {
            float w = weight[i];
            float g = _decay != 0 ? grad[i] + _decay * w : grad[i];
            weight[i] = w - step * g;
        }
    }
}
