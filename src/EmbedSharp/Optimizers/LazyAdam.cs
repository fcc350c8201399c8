using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Optimizers;

/// <summary>
/// Lazy Adam with PyTorch <c>torch.optim.SparseAdam</c> semantics: only rows in the gradient update
/// their moments and weights.
/// </summary>
/// <remarks>
/// For each row r in the coalesced gradient, per element: <c>m += (g − m)·(1 − β1)</c>;
/// <c>v += (g² − v)·(1 − β2)</c>; <c>w −= lr · √(1 − β2^t)/(1 − β1^t) · m / (√v + eps)</c>.
/// Two PyTorch choices are kept on purpose: t is the optimizer's global step (a row first seen at
/// step 3 is bias-corrected with t = 3), and eps is added to √v before the bias-correction factor,
/// so the effective eps differs from <see cref="Adam"/>'s by √(1 − β2^t). A row listed with an exactly
/// zero gradient still decays its moments and moves. Untouched rows keep weights and moments bit for
/// bit; the rule is lazy by definition, so <see cref="UntouchedRows.Dense"/> is refused. No weight decay
/// (SparseAdam has none). lr must be &gt; 0, as in PyTorch.
/// </remarks>
public readonly struct LazyAdam : ISparseUpdateRule
{
    private readonly bool _initialized;
    private readonly float _c1, _c2, _eps;

    /// <summary>Creates the rule with PyTorch defaults (a struct's <c>new LazyAdam()</c> would otherwise zero every field).</summary>
    public LazyAdam() : this(1e-3) { }

    /// <summary>Creates the rule (PyTorch defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8).</summary>
    /// <exception cref="ArgumentOutOfRangeException">lr not &gt; 0, eps negative, or a beta outside [0, 1).</exception>
    public LazyAdam(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        AdamMath.Check("lazy_adam", lr, beta1, beta2, eps, 0, lrStrictlyPositive: true);
        LearningRate = lr;
        _initialized = true;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        _c1 = (float)(1 - beta1);
        _c2 = (float)(1 - beta2);
        _eps = (float)eps;
    }

    /// <inheritdoc/>
    public string Name => "lazy_adam";

    /// <inheritdoc/>
    public double LearningRate { get; }

    /// <summary>Decay of the first moment.</summary>
    public double Beta1 { get; }

    /// <summary>Decay of the second moment.</summary>
    public double Beta2 { get; }

    /// <summary>Added to √v before the bias-correction factor.</summary>
    public double Eps { get; }

    /// <inheritdoc/>
    public int StateWidth(int dims) => 2 * dims;

    /// <inheritdoc/>
    public void InitializeState(Span<float> state) => state.Clear();

    /// <inheritdoc/>
    public bool IdleIsNoOp => true;

    /// <inheritdoc/>
    public bool IsInitialized => _initialized;

    /// <inheritdoc/>
    public bool SupportsDense => false;

    /// <inheritdoc/>
    public StepScalars Prepare(long step, double learningRateFactor)
    {
        double lr = LearningRate * learningRateFactor;
        double bc1 = 1 - Math.Pow(Beta1, step);
        double bc2 = 1 - Math.Pow(Beta2, step);
        return new StepScalars(step, (float)lr, (float)(lr * Math.Sqrt(bc2) / bc1));
    }

    /// <inheritdoc/>
    static bool ISparseUpdateRule.HasGuardedUpdate => true;

    /// <inheritdoc/>
    static bool ISparseUpdateRule.AcceptsUnsummedRow => true; // see UpdateRow's remarks

    /// <inheritdoc/>
    /// <remarks>The backup stores and the check ride in the update's own loop (as separate passes they were the first to touch the row's cold lines).</remarks>
    public bool UpdateRowGuarded(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars, Span<float> weightBackup, Span<float> stateBackup) =>
        Update<WithBackup>(weight, grad, state, scalars, weightBackup, stateBackup);

    /// <inheritdoc/>
    /// <remarks>
    /// A gradient element of −0 gives the same bits as +0 here (g enters as <c>g − m</c>, where
    /// <c>±0 − m</c> differ only for m = ±0 and then both add to m as +0, and as <c>g·g</c>), so the fused
    /// step hands a single position's upstream row over as it is instead of its sum <c>0 + g</c>.
    /// </remarks>
    public void UpdateRow(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars) =>
        Update<WithoutBackup>(weight, grad, state, scalars, default, default);

    /// <summary>The update, with (<see cref="WithBackup"/>) or without the guard's backup stores and finiteness check.</summary>
    private bool Update<TBackup>(Span<float> weight, ReadOnlySpan<float> grad, Span<float> state, in StepScalars scalars, Span<float> weightBackup, Span<float> stateBackup)
        where TBackup : struct
    {
        bool backup = typeof(TBackup) == typeof(WithBackup);
        int dims = weight.Length;
        Span<float> m = state.Slice(0, dims);
        Span<float> v = state.Slice(dims, dims);
        Span<float> mb = backup ? stateBackup.Slice(0, dims) : default;
        Span<float> vb = backup ? stateBackup.Slice(dims, dims) : default;
        _ = grad[..dims];
        if (backup)
            _ = weightBackup[..dims];
        float negStep = -scalars.A;
        int i = 0;
        var bad = Vector256<uint>.Zero;
        if (Vector256.IsHardwareAccelerated && dims >= Vector256<float>.Count)
        {
            // The same operations in the same order per lane as the scalar loop below: bit for bit equal.
            ref float wr = ref MemoryMarshal.GetReference(weight);
            ref float gr = ref MemoryMarshal.GetReference(grad);
            ref float mr = ref MemoryMarshal.GetReference(m);
            ref float vr = ref MemoryMarshal.GetReference(v);
            ref float wbr = ref MemoryMarshal.GetReference(weightBackup);
            ref float mbr = ref MemoryMarshal.GetReference(mb);
            ref float vbr = ref MemoryMarshal.GetReference(vb);
            var c1 = Vector256.Create(_c1);
            var c2 = Vector256.Create(_c2);
            var eps = Vector256.Create(_eps);
            var step = Vector256.Create(negStep);
            for (; i <= dims - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var g = Vector256.LoadUnsafe(ref gr, (nuint)i);
                var m0 = Vector256.LoadUnsafe(ref mr, (nuint)i);
                var v0 = Vector256.LoadUnsafe(ref vr, (nuint)i);
                var w0 = Vector256.LoadUnsafe(ref wr, (nuint)i);
                if (backup)
                {
                    m0.StoreUnsafe(ref mbr, (nuint)i);
                    v0.StoreUnsafe(ref vbr, (nuint)i);
                    w0.StoreUnsafe(ref wbr, (nuint)i);
                }
                var mi = m0 + (g - m0) * c1;
                var vi = v0 + (g * g - v0) * c2;
                var wi = w0 + step * (mi / (Vector256.Sqrt(vi) + eps));
                mi.StoreUnsafe(ref mr, (nuint)i);
                vi.StoreUnsafe(ref vr, (nuint)i);
                wi.StoreUnsafe(ref wr, (nuint)i);
                if (backup)
                    bad |= (mi - mi).AsUInt32() | (vi - vi).AsUInt32() | (wi - wi).AsUInt32();
            }
        }
        bool ok = bad == Vector256<uint>.Zero;
        for (; i < dims; i++)
        {
            float g = grad[i];
            if (backup)
            {
                mb[i] = m[i];
                vb[i] = v[i];
                weightBackup[i] = weight[i];
            }
            float mi = m[i] + (g - m[i]) * _c1;
            float vi = v[i] + (g * g - v[i]) * _c2;
            m[i] = mi;
            v[i] = vi;
            weight[i] += negStep * (mi / (MathF.Sqrt(vi) + _eps));
            if (backup)
                ok &= float.IsFinite(mi) && float.IsFinite(vi) && float.IsFinite(weight[i]);
        }
        return ok;
    }
}
