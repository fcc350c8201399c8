using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Optimizers;

/// <summary>PyTorch's <c>torch.optim.Adam</c>, with L2 weight decay added to the gradient and optional AMSGrad.</summary>
/// <remarks>
/// Per element, at step t: <c>g' = g + weightDecay·w</c>; <c>m = β1·m + (1 − β1)·g'</c>;
/// <c>v = β2·v + (1 − β2)·g'²</c>; with AMSGrad <c>v̂ = max(v̂, v)</c> replaces v below;
/// <c>w −= (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)</c> (eps added after the bias
/// correction, unlike <see cref="LazyAdam"/>). State per row: m, v (and v̂), Dims floats each.
/// Untouched rows: with <see cref="UntouchedRows.Dense"/>, m and v decay on every row at every step
/// and a row that once had a gradient keeps drifting afterwards, exactly as dense PyTorch Adam (rows
/// never touched stay bit-identical when weightDecay is 0, because 0/(0 + eps) = 0). With
/// <see cref="UntouchedRows.Lazy"/> rows outside the gradient keep weights and moments, and t is still
/// the optimizer's global step (as SparseAdam).
/// </remarks>
public readonly struct Adam : ISparseUpdateRule
{
    private readonly AdamCore<L2Decay> _core;

    /// <summary>Creates the rule with PyTorch defaults (a struct's <c>new Adam()</c> would otherwise zero every field).</summary>
    public Adam() : this(1e-3) { }

    /// <summary>Creates the rule (PyTorch defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no decay).</summary>
    /// <exception cref="ArgumentOutOfRangeException">lr, eps or weightDecay negative or not finite; a beta outside [0, 1).</exception>
    public Adam(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0, bool amsgrad = false) =>
        _core = new("adam", lr, beta1, beta2, eps, weightDecay, amsgrad);

    /// <inheritdoc/>
    public string Name => _core.Name;

    /// <inheritdoc/>
    public double LearningRate => _core.LearningRate;

    /// <summary>Decay of the first moment.</summary>
    public double Beta1 => _core.Beta1;

    /// <summary>Decay of the second moment.</summary>
    public double Beta2 => _core.Beta2;

    /// <summary>Added to the bias-corrected √v.</summary>
    public double Eps => _core.Eps;

    /// <summary>L2 penalty added to the gradient.</summary>
    public double WeightDecay => _core.WeightDecay;

    /// <summary>Whether the running maximum of v is used (AMSGrad).</summary>
    public bool AmsGrad => _core.AmsGrad;

    /// <inheritdoc/>
    public int StateWidth(int dims) => _core.StateWidth(dims);

    /// <inheritdoc/>
    public void InitializeState(Span<float> state) => state.Clear();

    /// <inheritdoc/>
    public bool IdleIsNoOp => _core.IdleIsNoOp;

    /// <inheritdoc/>
    public bool IsInitialized => _core.IsInitialized;

    /// <inheritdoc/>
    public bool SupportsDense => true;

    /// <inheritdoc/>
    public StepScalars Prepare(long step, double learningRateFactor) => _core.Prepare(step, learningRateFactor);

    /// <inheritdoc/>
    public void UpdateRow(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars) =>
        _core.UpdateRow(weight, grad, state, scalars);
}

/// <summary>
/// AdamW (PyTorch's <c>torch.optim.AdamW</c>): Adam with decoupled weight decay,
/// <c>w *= 1 − lr·weightDecay</c> before the Adam step on the raw gradient.
/// </summary>
/// <remarks>
/// Untouched rows: with <see cref="UntouchedRows.Dense"/> every row shrinks every step (and moments
/// decay), as PyTorch. With <see cref="UntouchedRows.Lazy"/> only rows in the gradient shrink and move,
/// which keeps the cost proportional to the batch; the decay of a rarely seen row is then applied only
/// when it is seen. With weightDecay 0 it equals <see cref="Adam"/>.
/// </remarks>
public readonly struct AdamW : ISparseUpdateRule
{
    private readonly AdamCore<DecoupledDecay> _core;

    /// <summary>Creates the rule with PyTorch defaults (a struct's <c>new AdamW()</c> would otherwise zero every field).</summary>
    public AdamW() : this(1e-3) { }

    /// <summary>Creates the rule (PyTorch defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weightDecay 1e-2).</summary>
    /// <exception cref="ArgumentOutOfRangeException">lr, eps or weightDecay negative or not finite; a beta outside [0, 1).</exception>
    public AdamW(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false) =>
        _core = new("adamw", lr, beta1, beta2, eps, weightDecay, amsgrad);

    /// <inheritdoc/>
    public string Name => _core.Name;

    /// <inheritdoc/>
    public double LearningRate => _core.LearningRate;

    /// <summary>Decay of the first moment.</summary>
    public double Beta1 => _core.Beta1;

    /// <summary>Decay of the second moment.</summary>
    public double Beta2 => _core.Beta2;

    /// <summary>Added to the bias-corrected √v.</summary>
    public double Eps => _core.Eps;

    /// <summary>Decoupled decay rate: each step multiplies the row by <c>1 − lr·WeightDecay</c>.</summary>
    public double WeightDecay => _core.WeightDecay;

    /// <summary>Whether the running maximum of v is used (AMSGrad).</summary>
    public bool AmsGrad => _core.AmsGrad;

    /// <inheritdoc/>
    public int StateWidth(int dims) => _core.StateWidth(dims);

    /// <inheritdoc/>
    public void InitializeState(Span<float> state) => state.Clear();

    /// <inheritdoc/>
    public bool IdleIsNoOp => _core.IdleIsNoOp;

    /// <inheritdoc/>
    public bool IsInitialized => _core.IsInitialized;

    /// <inheritdoc/>
    public bool SupportsDense => true;

    /// <inheritdoc/>
    public StepScalars Prepare(long step, double learningRateFactor) => _core.Prepare(step, learningRateFactor);

    /// <inheritdoc/>
    public void UpdateRow(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars) =>
        _core.UpdateRow(weight, grad, state, scalars);
}

/// <summary>How Adam's weight decay enters: <see cref="L2Decay"/> adds it to the gradient (Adam), <see cref="DecoupledDecay"/> shrinks the row first (AdamW).</summary>
internal interface IAdamDecay
{
    /// <summary>True for decoupled decay.</summary>
    static abstract bool Decoupled { get; }
}

/// <inheritdoc cref="IAdamDecay"/>
internal readonly struct L2Decay : IAdamDecay
{
    public static bool Decoupled => false;
}

/// <inheritdoc cref="IAdamDecay"/>
internal readonly struct DecoupledDecay : IAdamDecay
{
    public static bool Decoupled => true;
}

/// <summary>The one body of <see cref="Adam"/> and <see cref="AdamW"/>, the decay mode a type parameter.</summary>
internal readonly struct AdamCore<TDecay> where TDecay : struct, IAdamDecay
{
    private readonly float _b1, _b2, _eps, _decay;
    private readonly string _name;

    public AdamCore(string op, double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad)
    {
        AdamMath.Check(op, lr, beta1, beta2, eps, weightDecay, false);
        _name = amsgrad ? op + "_amsgrad" : op;
        LearningRate = lr;
        IsInitialized = true;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        AmsGrad = amsgrad;
        _b1 = (float)beta1;
        _b2 = (float)beta2;
        _eps = (float)eps;
        _decay = (float)weightDecay;
    }

    public string Name => _name;

    public double LearningRate { get; }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Eps { get; }

    public double WeightDecay { get; }

    public bool AmsGrad { get; }

    public bool IsInitialized { get; }

    public int StateWidth(int dims) => (AmsGrad ? 3 : 2) * dims;

    public bool IdleIsNoOp => TDecay.Decoupled ? WeightDecay == 0 : _decay == 0;

    public StepScalars Prepare(long step, double learningRateFactor)
    {
        double lr = LearningRate * learningRateFactor;
        return AdamMath.Prepare(step, lr, Beta1, Beta2, TDecay.Decoupled ? 1 - lr * WeightDecay : 1);
    }

    public void UpdateRow(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars)
    {
        if (TDecay.Decoupled)
        {
            float shrink = scalars.C;
            if (shrink != 1f)
                for (int i = 0; i < weight.Length; i++)
                    weight[i] *= shrink;
        }
        AdamMath.Update(weight, grad, state, scalars, _b1, _b2, _eps, TDecay.Decoupled ? 0f : _decay, AmsGrad);
    }
}

/// <summary>The arithmetic Adam and AdamW share, in PyTorch 1.13's operation order.</summary>
internal static class AdamMath
{
    public static void Check(string op, double lr, double beta1, double beta2, double eps, double weightDecay, bool lrStrictlyPositive)
    {
        RuleChecks.LearningRate(op, lr, lrStrictlyPositive);
        RuleChecks.NonNegative(op, eps, nameof(eps));
        RuleChecks.Beta(op, beta1, 0);
        RuleChecks.Beta(op, beta2, 1);
        RuleChecks.NonNegative(op, weightDecay, nameof(weightDecay));
    }

    /// <summary>A = lr / (1 − β1^t), B = √(1 − β2^t), C = decoupled shrink factor.</summary>
    public static StepScalars Prepare(long step, double lr, double beta1, double beta2, double shrink)
    {
        double bc1 = 1 - Math.Pow(beta1, step);
        double bc2 = 1 - Math.Pow(beta2, step);
        return new StepScalars(step, (float)lr, (float)(lr / bc1), (float)Math.Sqrt(bc2), (float)shrink);
    }

    public static void Update(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars s,
        float b1, float b2, float eps, float decay, bool amsgrad)
    {
        int dims = weight.Length;
        Span<float> m = state.Slice(0, dims);
        Span<float> v = state.Slice(dims, dims);
        Span<float> vmax = amsgrad ? state.Slice(2 * dims, dims) : default;
        float negStep = -s.A, bc2Sqrt = s.B;
        float c1 = 1f - b1, c2 = 1f - b2;
        int i = 0;
        if (!amsgrad && Vector256.IsHardwareAccelerated && dims >= Vector256<float>.Count)
        {
            // The same operations in the same order per lane as the scalar loop below: bit for bit equal.
            ref float wr = ref MemoryMarshal.GetReference(weight);
            ref float gr = ref MemoryMarshal.GetReference(grad);
            ref float mr = ref MemoryMarshal.GetReference(m);
            ref float vr = ref MemoryMarshal.GetReference(v);
            Vector256<float> vb1 = Vector256.Create(b1), vb2 = Vector256.Create(b2), vc1 = Vector256.Create(c1), vc2 = Vector256.Create(c2);
            Vector256<float> vEps = Vector256.Create(eps), vDecay = Vector256.Create(decay), vStep = Vector256.Create(negStep), vBc2 = Vector256.Create(bc2Sqrt);
            for (; i <= dims - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var w = Vector256.LoadUnsafe(ref wr, (nuint)i);
                var g = Vector256.LoadUnsafe(ref gr, (nuint)i);
                if (decay != 0)
                    g += vDecay * w;
                var mi = Vector256.LoadUnsafe(ref mr, (nuint)i) * vb1 + vc1 * g;
                var vi = Vector256.LoadUnsafe(ref vr, (nuint)i) * vb2 + vc2 * g * g;
                mi.StoreUnsafe(ref mr, (nuint)i);
                vi.StoreUnsafe(ref vr, (nuint)i);
                var denom = Vector256.Sqrt(vi) / vBc2 + vEps;
                (w + vStep * mi / denom).StoreUnsafe(ref wr, (nuint)i);
            }
        }
        for (; i < dims; i++)
        {
            float w = weight[i];
            float g = decay != 0 ? grad[i] + decay * w : grad[i];
            float mi = m[i] * b1 + c1 * g;
            float vi = v[i] * b2 + c2 * g * g;
            m[i] = mi;
            v[i] = vi;
            if (amsgrad)
            {
                vi = MathF.Max(vmax[i], vi);
                vmax[i] = vi;
            }
            float denom = MathF.Sqrt(vi) / bc2Sqrt + eps;
            weight[i] = w + negStep * mi / denom;
        }
    }
}
