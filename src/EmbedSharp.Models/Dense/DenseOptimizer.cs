using System.Runtime.CompilerServices;
using EmbedSharp.Diagnostics;
using EmbedSharp.Optimizers;

namespace EmbedSharp.Models.Dense;

/// <summary>
/// An optimizer for dense <see cref="Parameter"/>s (the layers' weights), beside core's fused sparse
/// optimizers for embedding tables. <see cref="Step"/> reads each parameter's gradient and updates its
/// values; <see cref="ZeroGrad"/> clears the gradients for the next batch.
/// </summary>
public abstract class DenseOptimizer
{
    private readonly Parameter[] _parameters;

    /// <summary>Creates the optimizer over <paramref name="parameters"/>.</summary>
    /// <exception cref="ArgumentException">A parameter is null or listed twice.</exception>
    protected DenseOptimizer(IEnumerable<Parameter> parameters, double learningRate)
    {
        string op = $"{Name}.create";
        Guard.NotNull(op, parameters);
        _parameters = [.. parameters];
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (Parameter p in _parameters)
        {
            Guard.NotNull(op, p, "parameter");
            if (!seen.Add(p))
                ThrowHelper.Argument(op, nameof(parameters), $"parameter '{p.Name}' is listed twice");
        }
        Guard.PositiveFinite(op, learningRate);
        LearningRate = learningRate;
    }

    /// <summary>The parameters this optimizer updates.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The step size (may be changed between steps, e.g. by a schedule).</summary>
    public double LearningRate { get; set; }

    /// <summary>Steps taken so far.</summary>
    public long StepCount { get; private set; }

    /// <summary>The rule's name for messages (<c>sgd</c>, <c>adam</c>, <c>adamw</c>).</summary>
    protected abstract string Name { get; }

    /// <summary>Clears every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (Parameter p in _parameters)
            p.ZeroGrad();
    }

    /// <summary>Applies one update to every parameter from its gradient.</summary>
    /// <exception cref="NonFiniteException">A gradient is NaN or infinite; nothing is changed.</exception>
    public void Step()
    {
        for (int k = 0; k < _parameters.Length; k++)
        {
            float[] g = _parameters[k].Grad;
            for (int i = 0; i < g.Length; i++)
                if (!float.IsFinite(g[i]))
                    throw new NonFiniteException(ThrowHelper.Format($"{Name}.step", $"the gradient of '{_parameters[k].Name}' is {g[i]} at element {i}; lower the learning rate or check the inputs"),
                        StepCount + 1, k, i);
        }
        StepCount++;
        for (int k = 0; k < _parameters.Length; k++)
            Update(k, _parameters[k].Value, _parameters[k].Grad);
    }

    /// <summary>Updates parameter <paramref name="index"/> (values <paramref name="w"/>, gradient <paramref name="g"/>) at step <see cref="StepCount"/>.</summary>
    private protected abstract void Update(int index, Span<float> w, ReadOnlySpan<float> g);
}

/// <summary>
/// SGD with optional momentum and L2 weight decay (PyTorch's <c>torch.optim.SGD</c>):
/// <c>g' = g + λw; v = μv + g'; w −= lr·v</c> (<c>v = g'</c> when μ = 0).
/// </summary>
public sealed class DenseSgd : DenseOptimizer
{
    private readonly float[][] _velocity;

    /// <summary>Creates the optimizer.</summary>
    public DenseSgd(IEnumerable<Parameter> parameters, double learningRate, double momentum = 0, double weightDecay = 0)
        : base(parameters, learningRate)
    {
        Guard.Finite("sgd.create", momentum);
        Guard.Finite("sgd.create", weightDecay);
        if (momentum < 0 || weightDecay < 0)
            ThrowHelper.ArgumentOutOfRange("sgd.create", nameof(momentum), momentum, "momentum and weightDecay must be ≥ 0");
        Momentum = momentum;
        WeightDecay = weightDecay;
        _velocity = [.. Parameters.Select(p => momentum > 0 ? new float[p.Length] : [])];
    }

    /// <summary>Momentum μ.</summary>
    public double Momentum { get; }

    /// <summary>L2 weight decay λ (added to the gradient).</summary>
    public double WeightDecay { get; }

    /// <inheritdoc/>
    protected override string Name => "sgd";

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private protected override void Update(int index, Span<float> w, ReadOnlySpan<float> g)
    {
        float lr = (float)LearningRate, mu = (float)Momentum, wd = (float)WeightDecay;
        float[] v = _velocity[index];
        for (int i = 0; i < w.Length; i++)
        {
            float gi = g[i] + wd * w[i];
            if (mu > 0)
                gi = v[i] = mu * v[i] + gi;
            w[i] -= lr * gi;
        }
    }
}

/// <summary>
/// Adam (Kingma &amp; Ba) with bias correction, as <c>torch.optim.Adam</c>:
/// <c>m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; w −= lr·m̂/(√v̂ + eps)</c>, where <c>g</c> includes
/// L2 weight decay <c>λw</c> if set. <see cref="DenseAdamW"/> decouples the decay instead.
/// </summary>
public class DenseAdam : DenseOptimizer
{
    private readonly float[][] _m, _v;

    /// <summary>Creates the optimizer.</summary>
    public DenseAdam(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0)
        : base(parameters, learningRate)
    {
        string op = $"{Name}.create";
        if (!(beta1 >= 0 && beta1 < 1))
            ThrowHelper.ArgumentOutOfRange(op, nameof(beta1), beta1, $"beta1 must be in [0, 1) but was {beta1}");
        if (!(beta2 >= 0 && beta2 < 1))
            ThrowHelper.ArgumentOutOfRange(op, nameof(beta2), beta2, $"beta2 must be in [0, 1) but was {beta2}");
        Guard.PositiveFinite(op, eps);
        if (!(weightDecay >= 0) || double.IsInfinity(weightDecay))
            ThrowHelper.ArgumentOutOfRange(op, nameof(weightDecay), weightDecay, $"weightDecay must be a finite number ≥ 0 but was {weightDecay}");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        _m = [.. Parameters.Select(p => new float[p.Length])];
        _v = [.. Parameters.Select(p => new float[p.Length])];
    }

    /// <summary>β₁.</summary>
    public double Beta1 { get; }

    /// <summary>β₂.</summary>
    public double Beta2 { get; }

    /// <summary>Added to √v̂.</summary>
    public double Eps { get; }

    /// <summary>Weight decay λ.</summary>
    public double WeightDecay { get; }

    /// <summary>Whether the decay is decoupled (AdamW) rather than added to the gradient.</summary>
    private protected virtual bool Decoupled => false;

    /// <inheritdoc/>
    protected override string Name => "adam";

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private protected override void Update(int index, Span<float> w, ReadOnlySpan<float> g)
    {
        long t = StepCount;
        float b1 = (float)Beta1, b2 = (float)Beta2, eps = (float)Eps;
        float c1 = (float)(1 - Math.Pow(Beta1, t)), c2 = (float)Math.Sqrt(1 - Math.Pow(Beta2, t));
        float lr = (float)LearningRate, wd = (float)WeightDecay;
        float stepSize = lr / c1;
        float[] m = _m[index], v = _v[index];
        bool decoupled = Decoupled;
        for (int i = 0; i < w.Length; i++)
        {
            float gi = g[i];
            if (decoupled)
                w[i] -= lr * wd * w[i];
            else
                gi += wd * w[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            w[i] -= stepSize * m[i] / (MathF.Sqrt(v[i]) / c2 + eps);
        }
    }
}

/// <summary>
/// AdamW (Loshchilov &amp; Hutter), as <c>torch.optim.AdamW</c>: Adam whose weight decay is applied
/// to the weights directly, <c>w −= lr·λ·w</c>, before the Adam step. Default λ = 0.01.
/// </summary>
public sealed class DenseAdamW(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
    double eps = 1e-8, double weightDecay = 0.01) : DenseAdam(parameters, learningRate, beta1, beta2, eps, weightDecay)
{
    /// <inheritdoc/>
    private protected override bool Decoupled => true;

    /// <inheritdoc/>
    protected override string Name => "adamw";
}
