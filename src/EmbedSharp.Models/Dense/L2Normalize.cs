namespace EmbedSharp.Models.Dense;

/// <summary>
/// Scales each row to unit Euclidean length, <c>y = x / max(‖x‖, eps)</c> (PyTorch's
/// <c>F.normalize</c>); backward <c>∂x = (∂y − y·(y·∂y)) / ‖x‖</c> (and <c>∂y/eps</c> where the norm is below eps).
/// </summary>
public sealed class L2Normalize(int features, float eps = 1e-12f) : Activation(features)
{
    /// <inheritdoc/>
    protected override string OpName => "l2_normalize";

    /// <inheritdoc/>
    protected internal override void ForwardCore(ReadOnlySpan<float> input, int batch, Span<float> output, bool training)
    {
        int n = Features;
        for (int r = 0; r < batch; r++)
        {
            ReadOnlySpan<float> x = input.Slice(r * n, n);
            double norm = Math.Max(Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(x, x)), eps);
            for (int i = 0; i < n; i++)
                output[r * n + i] = (float)(x[i] / norm);
        }
    }

    /// <inheritdoc/>
    protected internal override void BackwardCore(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, int batch, Span<float> gradInput)
    {
        int n = Features;
        for (int r = 0; r < batch; r++)
        {
            ReadOnlySpan<float> x = input.Slice(r * n, n), y = output.Slice(r * n, n), dy = gradOutput.Slice(r * n, n);
            double raw = Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(x, x));
            Span<float> dx = gradInput.Slice(r * n, n);
            if (raw < eps)
            {
                for (int i = 0; i < n; i++)
                    dx[i] = (float)(dy[i] / eps);
                continue;
            }
            double ydy = System.Numerics.Tensors.TensorPrimitives.Dot(y, dy);
            for (int i = 0; i < n; i++)
                dx[i] = (float)((dy[i] - y[i] * ydy) / raw);
        }
    }
}
