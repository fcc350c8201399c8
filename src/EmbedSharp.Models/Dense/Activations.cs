using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Models.Dense;

/// <summary>Element-wise activations available to <see cref="Mlp"/>.</summary>
public enum ActivationKind
{
    /// <summary><see cref="ReLU"/>.</summary>
    ReLU,

    /// <summary><see cref="GELU"/>.</summary>
    GELU,

    /// <summary><see cref="Sigmoid"/>.</summary>
    Sigmoid,

    /// <summary><see cref="Tanh"/>.</summary>
    Tanh,
}

/// <summary>An element-wise function of <c>Features</c> columns (input and output widths are equal).</summary>
public abstract class Activation : Layer
{
    /// <summary>Creates an activation over rows of <paramref name="features"/> values.</summary>
    protected Activation(int features)
    {
        Guard.NonNegative("activation.create", features);
        Features = features;
    }

    /// <summary>Row width.</summary>
    public int Features { get; }

    /// <inheritdoc/>
    public override int InFeatures => Features;

    /// <inheritdoc/>
    public override int OutFeatures => Features;

    /// <summary>The activation of <paramref name="kind"/> over <paramref name="features"/> columns.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Unknown kind.</exception>
    public static Activation Create(ActivationKind kind, int features) => kind switch
    {
        ActivationKind.ReLU => new ReLU(features),
        ActivationKind.GELU => new GELU(features),
        ActivationKind.Sigmoid => new Sigmoid(features),
        ActivationKind.Tanh => new Tanh(features),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind,
            ThrowHelper.Format("activation.create", $"kind {kind} is unknown; valid values are {string.Join(", ", Enum.GetNames<ActivationKind>())}")),
    };
}

/// <summary><c>max(0, x)</c>; the gradient at 0 is taken as 0 (PyTorch's choice).</summary>
public sealed class ReLU(int features) : Activation(features)
{
    /// <inheritdoc/>
    protected override string OpName => "relu";

    /// <inheritdoc/>
    protected internal override void ForwardCore(ReadOnlySpan<float> input, int batch, Span<float> output, bool training) =>
        TensorPrimitives.Max(input, 0f, output);

    /// <inheritdoc/>
    protected internal override void BackwardCore(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, int batch, Span<float> gradInput)
    {
        for (int i = 0; i < gradInput.Length; i++)
            gradInput[i] = input[i] > 0 ? gradOutput[i] : 0f;
    }
}

/// <summary>
/// The exact GELU, <c>x·Φ(x) = ½x(1 + erf(x/√2))</c> (PyTorch's default, not the tanh approximation);
/// its derivative is <c>Φ(x) + x·φ(x)</c>.
/// </summary>
public sealed class GELU(int features) : Activation(features)
{
    private const double InvSqrt2 = 0.70710678118654752440;
    private const double InvSqrt2Pi = 0.39894228040143267794;

    /// <inheritdoc/>
    protected override string OpName => "gelu";

    /// <inheritdoc/>
    protected internal override void ForwardCore(ReadOnlySpan<float> input, int batch, Span<float> output, bool training)
    {
        for (int i = 0; i < output.Length; i++)
        {
            double x = input[i];
            output[i] = (float)(0.5 * x * (1 + Erf(x * InvSqrt2)));
        }
    }

    /// <inheritdoc/>
    protected internal override void BackwardCore(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, int batch, Span<float> gradInput)
    {
        for (int i = 0; i < gradInput.Length; i++)
        {
            double x = input[i];
            double cdf = 0.5 * (1 + Erf(x * InvSqrt2));
            double pdf = InvSqrt2Pi * Math.Exp(-0.5 * x * x);
            gradInput[i] = (float)(gradOutput[i] * (cdf + x * pdf));
        }
    }

    /// <summary>
    /// The error function via the complementary error function's Chebyshev fit (Numerical Recipes'
    /// <c>erfcc</c>, fractional error below 1.2e-7 everywhere, well inside float32's precision).
    /// </summary>
    internal static double Erf(double z)
    {
        if (double.IsNaN(z))
            return double.NaN;
        double t = 1 / (1 + 0.5 * Math.Abs(z));
        double ans = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
            t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return z >= 0 ? 1 - ans : ans - 1;
    }
}

/// <summary><c>1 / (1 + e^{−x})</c>; derivative <c>y(1 − y)</c> from the output.</summary>
public sealed class Sigmoid(int features) : Activation(features)
{
    /// <inheritdoc/>
    protected override string OpName => "sigmoid";

    /// <inheritdoc/>
    protected internal override void ForwardCore(ReadOnlySpan<float> input, int batch, Span<float> output, bool training) =>
        TensorPrimitives.Sigmoid(input, output);

    /// <inheritdoc/>
    protected internal override void BackwardCore(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, int batch, Span<float> gradInput)
    {
        for (int i = 0; i < gradInput.Length; i++)
            gradInput[i] = gradOutput[i] * output[i] * (1 - output[i]);
    }
}

/// <summary><c>tanh(x)</c>; derivative <c>1 − y²</c> from the output.</summary>
public sealed class Tanh(int features) : Activation(features)
{
    /// <inheritdoc/>
    protected override string OpName => "tanh";

    /// <inheritdoc/>
    protected internal override void ForwardCore(ReadOnlySpan<float> input, int batch, Span<float> output, bool training) =>
        TensorPrimitives.Tanh(input, output);

    /// <inheritdoc/>
    protected internal override void BackwardCore(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, int batch, Span<float> gradInput)
    {
        for (int i = 0; i < gradInput.Length; i++)
            gradInput[i] = gradOutput[i] * (1 - output[i] * output[i]);
    }
}
