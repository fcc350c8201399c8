using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Optimizers;

/// <summary>PyTorch's <c>torch.optim.Adagrad</c>: a per-element sum of squared gradients scales each step.</summary>
/// <remarks>
/// Per element, at step t: <c>clr = lr / (1 + (t − 1)·lrDecay)</c>; <c>g' = g + weightDecay·w</c>;
/// <c>s += g'²</c>; <c>w −= clr · g' / (√s + eps)</c>, the square root taken of the updated sum.
/// State: the sum s, Dims floats per row, starting at <c>initialAccumulatorValue</c>.
/// Untouched rows: a zero gradient gives a zero update, so without weight decay
/// <see cref="UntouchedRows.Lazy"/> and <see cref="UntouchedRows.Dense"/> agree bit for bit (PyTorch's
/// sparse and dense paths agree too). With weight decay, Lazy decays only the rows in the gradient
/// (PyTorch refuses weight decay with sparse gradients) and Dense decays every row, as dense PyTorch.
/// </remarks>
public readonly struct Adagrad : ISparseUpdateRule
{
    private readonly bool _initialized;
    private readonly float _eps, _decay, _init;

    /// <summary>Creates the rule with PyTorch defaults (a struct's <c>new Adagrad()</c> would otherwise zero every field).</summary>
    public Adagrad() : this(1e-2) { }

    /// <summary>Creates the rule (PyTorch defaults: lr 1e-2, no decay, accumulator 0, eps 1e-10).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is negative or not finite.</exception>
    public Adagrad(double lr = 1e-2, double lrDecay = 0, double weightDecay = 0, double initialAccumulatorValue = 0, double eps = 1e-10)
    {
        const string op = "adagrad";
        RuleChecks.LearningRate(op, lr);
        RuleChecks.NonNegative(op, lrDecay, nameof(lrDecay));
        RuleChecks.NonNegative(op, weightDecay, nameof(weightDecay));
        RuleChecks.NonNegative(op, initialAccumulatorValue, nameof(initialAccumulatorValue));
        RuleChecks.NonNegative(op, eps, nameof(eps));
        LearningRate = lr;
        _initialized = true;
        LrDecay = lrDecay;
        WeightDecay = weightDecay;
        InitialAccumulatorValue = initialAccumulatorValue;
        Eps = eps;
        _eps = (float)eps;
        _decay = (float)weightDecay;
        _init = (float)initialAccumulatorValue;
    }

    /// <inheritdoc/>
    public string Name => "adagrad";

    /// <inheritdoc/>
    public double LearningRate { get; }

    /// <summary>Learning-rate decay per step.</summary>
    public double LrDecay { get; }

    /// <summary>L2 penalty added to the gradient.</summary>
    public double WeightDecay { get; }

    /// <summary>Initial value of every accumulator element.</summary>
    public double InitialAccumulatorValue { get; }

    /// <summary>Added to √s.</summary>
    public double Eps { get; }

    /// <inheritdoc/>
    public int StateWidth(int dims) => dims;

    /// <inheritdoc/>
    public void InitializeState(Span<float> state) => state.Fill(_init);

    /// <inheritdoc/>
    public bool IdleIsNoOp => _decay == 0;

    /// <inheritdoc/>
    public bool IsInitialized => _initialized;

    /// <inheritdoc/>
    public bool SupportsDense => true;

    /// <inheritdoc/>
    public StepScalars Prepare(long step, double learningRateFactor) =>
        new(step, (float)(LearningRate * learningRateFactor / (1 + (step - 1) * LrDecay)));

    /// <inheritdoc/>
    static bool ISparseUpdateRule.HasGuardedUpdate => true;

    /// <inheritdoc/>
    /// <remarks>The backup stores and the check ride in the update's own loop (as separate passes they were the first to touch the row's cold lines).</remarks>
    public bool UpdateRowGuarded(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars, Span<float> weightBackup, Span<float> stateBackup) =>
        Update<WithBackup>(weight, grad, state, scalars, weightBackup, stateBackup);

    /// <inheritdoc/>
    public void UpdateRow(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars) =>
        Update<WithoutBackup>(weight, grad, state, scalars, default, default);

    /// <summary>The update, with (<see cref="WithBackup"/>) or without the guard's backup stores and finiteness check.</summary>
    private bool Update<TBackup>(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars, Span<float> weightBackup, Span<float> stateBackup)
        where TBackup : struct
    {
        bool backup = typeof(TBackup) == typeof(WithBackup);
        int dims = weight.Length;
        _ = grad[..dims];
        _ = state[..dims];
        if (backup)
        {
            _ = weightBackup[..dims];
            _ = stateBackup[..dims];
        }
        float negClr = -scalars.LearningRate;
        int i = 0;
        var bad = Vector256<uint>.Zero;
        if (Vector256.IsHardwareAccelerated && dims >= Vector256<float>.Count)
        {
            // The same operations in the same order per lane as the scalar loop below: bit for bit equal.
            ref float wr = ref MemoryMarshal.GetReference(weight);
            ref float gr = ref MemoryMarshal.GetReference(grad);
            ref float sr = ref MemoryMarshal.GetReference(state);
            ref float wbr = ref MemoryMarshal.GetReference(weightBackup);
            ref float sbr = ref MemoryMarshal.GetReference(stateBackup);
            var vNegClr = Vector256.Create(negClr);
            var vDecay = Vector256.Create(_decay);
            var vEps = Vector256.Create(_eps);
            for (; i <= dims - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var w = Vector256.LoadUnsafe(ref wr, (nuint)i);
                var g = Vector256.LoadUnsafe(ref gr, (nuint)i);
                var s0 = Vector256.LoadUnsafe(ref sr, (nuint)i);
                if (backup)
                {
                    w.StoreUnsafe(ref wbr, (nuint)i);
                    s0.StoreUnsafe(ref sbr, (nuint)i);
                }
                if (_decay != 0)
                    g += vDecay * w;
                var sum = s0 + g * g;
                var wi = w + vNegClr * (g / (Vector256.Sqrt(sum) + vEps));
                sum.StoreUnsafe(ref sr, (nuint)i);
                wi.StoreUnsafe(ref wr, (nuint)i);
                if (backup)
                    bad |= (sum - sum).AsUInt32() | (wi - wi).AsUInt32();
            }
        }
        bool ok = bad == Vector256<uint>.Zero;
        for (; i < dims; i++)
        {
            float w = weight[i];
            if (backup)
            {
                weightBackup[i] = w;
                stateBackup[i] = state[i];
            }
            float g = _decay != 0 ? grad[i] + _decay * w : grad[i];
            float s = state[i] + g * g;
            state[i] = s;
            weight[i] = w + negClr * (g / (MathF.Sqrt(s) + _eps));
            if (backup)
                ok &= float.IsFinite(s) && float.IsFinite(weight[i]);
        }
        return ok;
    }
}
