using EmbedSharp.Diagnostics;

namespace EmbedSharp.Models.Dense;

/// <summary>
/// Layer normalisation over each row (PyTorch's <c>nn.LayerNorm(features)</c>):
/// <c>y = (x − μ)/√(σ² + eps) · γ + β</c>, μ and the biased σ² taken over the row.
/// </summary>
/// <remarks>
/// Backward, with <c>x̂ = (x − μ)·r</c>, <c>r = 1/√(σ² + eps)</c> and <c>g = ∂y·γ</c>:
/// <c>∂x = r·(g − mean(g) − x̂·mean(g·x̂))</c>, <c>∂γ += Σ_rows ∂y·x̂</c>, <c>∂β += Σ_rows ∂y</c>.
/// μ and r of the last forward are kept per row (statistics in double).
/// </remarks>
public sealed class LayerNorm : Layer
{
    private readonly Parameter[] _parameters;
    private float[]? _mean, _rstd;

    /// <summary>Creates the layer with γ = 1 and β = 0.</summary>
    public LayerNorm(int features, double eps = 1e-5, bool elementwiseAffine = true)
    {
        const string op = "layer_norm.create";
        Guard.Positive(op, features);
        Guard.PositiveFinite(op, eps);
        Features = features;
        Eps = eps;
        if (elementwiseAffine)
        {
            Gamma = new Parameter("weight", features);
            Beta = new Parameter("bias", features);
            Array.Fill(Gamma.Value, 1f);
            _parameters = [Gamma, Beta];
        }
        else
        {
            _parameters = [];
        }
    }

    /// <summary>Row width.</summary>
    public int Features { get; }

    /// <summary>Added to the variance.</summary>
    public double Eps { get; }

    /// <summary>Scale γ (null without affine parameters).</summary>
    public Parameter? Gamma { get; }

    /// <summary>Shift β (null without affine parameters).</summary>
    public Parameter? Beta { get; }

    /// <inheritdoc/>
    public override int InFeatures => Features;

    /// <inheritdoc/>
    public override int OutFeatures => Features;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter> Parameters => _parameters;

    /// <inheritdoc/>
    protected override string OpName => "layer_norm";

    /// <inheritdoc/>
    protected internal override void ForwardCore(ReadOnlySpan<float> input, int batch, Span<float> output, bool training)
    {
        int n = Features;
        float[] means = Ensure(ref _mean, batch), rstds = Ensure(ref _rstd, batch);
        for (int r = 0; r < batch; r++)
        {
            ReadOnlySpan<float> x = input.Slice(r * n, n);
            Span<float> y = output.Slice(r * n, n);
            double sum = 0;
            for (int i = 0; i < n; i++)
                sum += x[i];
            double mean = sum / n;
            double sq = 0;
            for (int i = 0; i < n; i++)
                sq += (x[i] - mean) * (x[i] - mean);
            double rstd = 1 / Math.Sqrt(sq / n + Eps);
            means[r] = (float)mean;
            rstds[r] = (float)rstd;
            for (int i = 0; i < n; i++)
            {
                float xh = (float)((x[i] - mean) * rstd);
                y[i] = Gamma is null ? xh : xh * Gamma.Value[i] + Beta!.Value[i];
            }
        }
    }

    /// <inheritdoc/>
    protected internal override void BackwardCore(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, int batch, Span<float> gradInput)
    {
        int n = Features;
        for (int r = 0; r < batch; r++)
        {
            ReadOnlySpan<float> x = input.Slice(r * n, n);
            ReadOnlySpan<float> dy = gradOutput.Slice(r * n, n);
            float mean = _mean![r], rstd = _rstd![r];
            double sumG = 0, sumGx = 0;
            for (int i = 0; i < n; i++)
            {
                float xh = (x[i] - mean) * rstd;
                float g = Gamma is null ? dy[i] : dy[i] * Gamma.Value[i];
                sumG += g;
                sumGx += g * xh;
                if (Gamma is not null)
                {
                    Gamma.Grad[i] += dy[i] * xh;
                    Beta!.Grad[i] += dy[i];
                }
            }
            if (gradInput.IsEmpty)
                continue;
            float meanG = (float)(sumG / n), meanGx = (float)(sumGx / n);
            Span<float> dx = gradInput.Slice(r * n, n);
            for (int i = 0; i < n; i++)
            {
                float xh = (x[i] - mean) * rstd;
                float g = Gamma is null ? dy[i] : dy[i] * Gamma.Value[i];
                dx[i] = rstd * (g - meanG - xh * meanGx);
            }
        }
    }
}
