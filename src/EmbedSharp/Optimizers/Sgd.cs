using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Optimizers;

/// <summary>
/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
/// PyTorch's <c>torch.optim.SGD</c>.
/// </summary>
/// <remarks>
/// Per element, at step t: <c>g' = g + weightDecay·w</c>; with momentum, <c>buf = g'</c> at t = 1
/// (no dampening on the first step) and <c>buf = momentum·buf + (1 − dampening)·g'</c> after;
/// the direction is <c>g' + momentum·buf</c> with Nesterov, else <c>buf</c> (or <c>g'</c> without
/// momentum); then <c>w −= lr·direction</c>. State: the momentum buffer, Dims floats per row (none
/// without momentum).
/// Untouched rows: with <see cref="UntouchedRows.Lazy"/> they do not move and their buffer does not
/// decay. With <see cref="UntouchedRows.Dense"/>, a row keeps moving by its decaying buffer after its
/// gradient stops and weight decay shrinks every row, as dense PyTorch SGD (and PyTorch's sparse SGD
/// with momentum, whose sparse buffer also keeps carrying rows). Plain SGD without momentum or decay
/// is the same in both modes. NaN: propagates into the row and is caught by the optimizer's guard.
/// </remarks>
public readonly struct Sgd : ISparseUpdateRule
{
    private readonly bool _initialized;
    private readonly float _lr, _momentum, _keep, _decay;

    /// <summary>Creates the rule.</summary>
    /// <exception cref="ArgumentOutOfRangeException">lr, momentum or weightDecay negative or not finite; dampening not finite.</exception>
    /// <exception cref="ArgumentException">Nesterov without momentum &gt; 0 and dampening 0.</exception>
    public Sgd(double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
    {
        const string op = "sgd";
        RuleChecks.LearningRate(op, lr);
        RuleChecks.NonNegative(op, momentum, nameof(momentum));
        RuleChecks.NonNegative(op, weightDecay, nameof(weightDecay));
        if (!double.IsFinite(dampening))
            Diagnostics.ThrowHelper.ArgumentOutOfRange(op, nameof(dampening), dampening, $"dampening {dampening} must be finite");
        if (nesterov && (momentum <= 0 || dampening != 0))
            Diagnostics.ThrowHelper.Argument(op, nameof(nesterov), $"Nesterov momentum requires momentum > 0 and dampening 0 (got momentum {momentum}, dampening {dampening})");
        LearningRate = lr;
        _initialized = true;
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        _lr = (float)lr;
        _momentum = (float)momentum;
        _keep = (float)(1 - dampening);
        _decay = (float)weightDecay;
    }

    /// <inheritdoc/>
    public string Name => "sgd";

    /// <inheritdoc/>
    public double LearningRate { get; }

    /// <summary>Momentum factor μ (0 = none).</summary>
    public double Momentum { get; }

    /// <summary>Dampening of the gradient added to the buffer after the first step.</summary>
    public double Dampening { get; }

    /// <summary>L2 penalty added to the gradient.</summary>
    public double WeightDecay { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    public int StateWidth(int dims) => _momentum != 0 ? dims : 0;

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
    /// <remarks>
    /// Plain SGD only (no momentum, no weight decay): w + (−lr)·g with |lr·g| ≤ 2¹⁰⁰ cannot round past
    /// float.MaxValue (2¹²⁸ − 2¹⁰⁴) when w is finite, since the result stays below 2¹²⁸ − 2¹⁰³, the point
    /// from which float32 rounds to ∞.
    /// </remarks>
    public float SafeGradientBound(in StepScalars scalars) =>
        _decay != 0 || _momentum != 0 ? 0f : scalars.LearningRate == 0 ? float.PositiveInfinity : TwoTo100 / MathF.Abs(scalars.LearningRate);

    private const float TwoTo100 = 1.2676506002282294e30f; // 2¹⁰⁰, exact in float32

    /// <summary>True without momentum and weight decay: the update is <c>w + (−lr)·g</c> and there is no state.</summary>
    internal bool IsPlain => _momentum == 0 && _decay == 0;

    /// <inheritdoc/>
    public float PlainStepFactor(in StepScalars scalars) => IsPlain ? -scalars.LearningRate : float.NaN;

    /// <inheritdoc/>
    public void UpdateRow(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars)
    {
        float negLr = -scalars.LearningRate;
        bool first = scalars.Step == 1;
        int i = 0;
        if (_decay == 0 && _momentum == 0 && Vector256.IsHardwareAccelerated && weight.Length >= Vector256<float>.Count)
        {
            // Plain SGD, w + (−lr)·g, with nothing tested inside the loop (the general loop below re-reads the
            // rule's fields on every vector); the same operations per lane, so bit for bit equal.
            ref float pw = ref MemoryMarshal.GetReference(weight);
            ref float pg = ref MemoryMarshal.GetReference(grad);
            var step = Vector256.Create(negLr);
            for (; i <= weight.Length - Vector256<float>.Count; i += Vector256<float>.Count)
                (Vector256.LoadUnsafe(ref pw, (nuint)i) + step * Vector256.LoadUnsafe(ref pg, (nuint)i)).StoreUnsafe(ref pw, (nuint)i);
        }
        if (Vector256.IsHardwareAccelerated && weight.Length - i >= Vector256<float>.Count)
        {
            // The same operations in the same order per lane as the scalar loop below: bit for bit equal.
            ref float wr = ref MemoryMarshal.GetReference(weight);
            ref float gr = ref MemoryMarshal.GetReference(grad);
            ref float sr = ref MemoryMarshal.GetReference(state);
            var vNegLr = Vector256.Create(negLr);
            var vDecay = Vector256.Create(_decay);
            var vMomentum = Vector256.Create(_momentum);
            var vKeep = Vector256.Create(_keep);
            for (; i <= weight.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var w = Vector256.LoadUnsafe(ref wr, (nuint)i);
                var g = Vector256.LoadUnsafe(ref gr, (nuint)i);
                if (_decay != 0)
                    g += vDecay * w;
                if (_momentum != 0)
                {
                    var buf = first ? g : Vector256.LoadUnsafe(ref sr, (nuint)i) * vMomentum + vKeep * g;
                    buf.StoreUnsafe(ref sr, (nuint)i);
                    g = Nesterov ? g + vMomentum * buf : buf;
                }
                (w + vNegLr * g).StoreUnsafe(ref wr, (nuint)i);
            }
        }
        for (; i < weight.Length; i++)
        {
            float w = weight[i];
            float g = _decay != 0 ? grad[i] + _decay * w : grad[i];
            if (_momentum != 0)
            {
                float buf = first ? g : state[i] * _momentum + _keep * g;
                state[i] = buf;
                g = Nesterov ? g + _momentum * buf : buf;
            }
            weight[i] = w + negLr * g;
        }
    }
}
