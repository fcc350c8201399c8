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

    // Capabilities: shortcuts a rule declares so the optimizer's one row loop can take them without
    // naming the rule. The static ones are constants of the rule type, folded by the JIT, and gate the
    // per-row calls (a default member called on a struct that does not define it boxes the struct).

    /// <summary>
    /// True when <see cref="UpdateRow"/> (and <see cref="UpdateRowGuarded"/>) give the same bits for a
    /// gradient row as for its sum <c>0 + g</c> (−0 and +0 alike), so a row fed by one position at scale 1
    /// is handed over as the upstream row itself, without the scratch row (<see cref="LazyAdam"/>).
    /// </summary>
    static virtual bool AcceptsUnsummedRow => false;

    /// <summary>
    /// True when the rule defines its own <see cref="UpdateRowGuarded"/>, with the guard's backup
    /// stores and finiteness check inside the update's loop; the optimizer calls it for every guarded
    /// row then (<see cref="LazyAdam"/>, <see cref="Adagrad"/>).
    /// </summary>
    static virtual bool HasGuardedUpdate => false;

    /// <summary>
    /// As <see cref="UpdateRow"/>, first copying the row's weights and state into
    /// <paramref name="weightBackup"/> and <paramref name="stateBackup"/>; returns false when any new
    /// weight or state value is not finite. The default backs up, updates, then checks, in three passes.
    /// </summary>
    bool UpdateRowGuarded(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars, Span<float> weightBackup, Span<float> stateBackup) =>
        RowGuard.BackupAndUpdate(this, weight, grad, state, scalars, weightBackup, stateBackup);

    /// <summary>
    /// A factor f such that this step's <see cref="UpdateRow"/> is exactly <c>w[i] + f·g[i]</c> with no
    /// state (plain SGD: f = −lr), or NaN (the default) when the update is anything else. The optimizer
    /// then updates rows fed by one position straight from their upstream rows with a pointer loop,
    /// <c>w[i] + f·(g[i] + 0)</c>: the same bits as the update of the summed row.
    /// </summary>
    float PlainStepFactor(in StepScalars scalars) => float.NaN;
}

/// <summary>The non-finite guard's default row update: back up, update, check.</summary>
internal static class RowGuard
{
    /// <summary>Copies the row and its state into the backups, applies <paramref name="rule"/>, and returns whether every new value is finite.</summary>
    public static bool BackupAndUpdate<TRule>(in TRule rule, Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars,
        Span<float> weightBackup, Span<float> stateBackup) where TRule : ISparseUpdateRule
    {
        weight.CopyTo(weightBackup);
        state.CopyTo(stateBackup);
        rule.UpdateRow(weight, grad, state, scalars);
        return Numerics.Kernels.FirstNonFinite(weight) < 0 && Numerics.Kernels.FirstNonFinite(state) < 0;
    }
}
