namespace EmbedSharp.Optimizers;

/// <summary>
/// Per-step constants of an update rule (learning rate after the schedule, bias corrections, ...),
/// computed once per step by <see cref="ISparseUpdateRule.Prepare"/> and read in the row loop.
/// </summary>
/// <param name="Step">The optimizer's step counter t, 1-based.</param>
/// <param name="LearningRate">The learning rate for this step, after the schedule, as float32.</param>
/// <param name="A">Rule-specific constant.</param>
/// <param name="B">Rule-specific constant.</param>
/// <param name="C">Rule-specific constant.</param>
public readonly record struct StepScalars(long Step, float LearningRate, float A = 0, float B = 0, float C = 0);

/// <summary>
/// One optimizer's row update, as a struct so <see cref="FusedSparseBackward{TRule}"/> is specialised
/// per rule and its row loop never branches on the optimizer kind. Implemented by <see cref="Sgd"/>,
/// <see cref="Adagrad"/>, <see cref="RowwiseAdagrad"/>, <see cref="Adam"/>, <see cref="LazyAdam"/> and
/// <see cref="AdamW"/>.
/// </summary>
public interface ISparseUpdateRule
{
    /// <summary>A short name (<c>"adam"</c>), used in messages and checked when state is loaded.</summary>
    string Name { get; }

    /// <summary>The base learning rate the schedule scales.</summary>
    double LearningRate { get; }

    /// <summary>Floats of optimizer state per row for rows <paramref name="dims"/> wide (0 = stateless).</summary>
    int StateWidth(int dims);

    /// <summary>Writes the initial state of one row (zeros, or Adagrad's initial accumulator).</summary>
    void InitializeState(Span<float> state);

    /// <summary>
    /// True when a row with initial state and a zero gradient is left exactly unchanged, weights and
    /// state (no weight decay). <see cref="UntouchedRows.Dense"/> then skips rows that never had state.
    /// </summary>
    bool IdleIsNoOp { get; }

    /// <summary>False for <c>default(TRule)</c>, whose fields are all zero; optimizers refuse such a rule.</summary>
    bool IsInitialized { get; }

    /// <summary>False for rules defined only lazily (<see cref="LazyAdam"/>).</summary>
    bool SupportsDense { get; }

    /// <summary>The constants of step <paramref name="step"/> with the learning rate scaled by <paramref name="learningRateFactor"/>.</summary>
    StepScalars Prepare(long step, double learningRateFactor);

    /// <summary>Updates one row in place from its (clipped) gradient; <paramref name="state"/> is <see cref="StateWidth"/> long.</summary>
    void UpdateRow(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars);

    /// <summary>
    /// A bound G such that <see cref="UpdateRow"/> of a stateless rule, given finite weights and a
    /// gradient with every |g| ≤ G, provably yields finite float32 weights; 0 (the default) when the rule
    /// has state or no such bound is known. The optimizer's non-finite guard then checks each row's
    /// weights before its update instead of backing the row up and checking it after.
    /// </summary>
    float SafeGradientBound(in StepScalars scalars) => 0f;
}
