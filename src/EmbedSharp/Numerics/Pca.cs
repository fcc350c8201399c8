using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Numerics;

public static partial class Kernels
{
    /// <summary>
    /// Principal-component projection: centres the <paramref name="rows"/> × <paramref name="dims"/>
    /// matrix <paramref name="data"/> (row-major), finds its top <paramref name="components"/>
    /// principal axes, and writes each row's coordinates on them into <paramref name="destination"/>
    /// (<c>rows × components</c>).
    /// </summary>
    /// <remarks>
    /// Axes come from power iteration with deflation on the <c>dims × dims</c> covariance, seeded
    /// deterministically, so the same input always gives the same picture. Each axis's sign is fixed
    /// so that its largest-magnitude entry is positive. Computed in double.
    /// </remarks>
    public static void Pca(ReadOnlySpan<float> data, int rows, int dims, int components, Span<float> destination)
    {
        const string op = "pca";
        Guard.NonNegative(op, rows);
        Guard.Positive(op, dims);
        Guard.InRange(op, components, 1, dims + 1);
        Guard.Length(op, data.Length, (long)rows * dims, "rows × dims");
        Guard.MinLength(op, destination.Length, (long)rows * components, "rows × components");
        if (rows == 0)
            return;

        var mean = new double[dims];
        for (int r = 0; r < rows; r++)
            for (int d = 0; d < dims; d++)
                mean[d] += data[r * dims + d];
        for (int d = 0; d < dims; d++)
            mean[d] /= rows;

        var cov = new double[dims * dims];
        var centred = new double[dims];
        for (int r = 0; r < rows; r++)
        {
            for (int d = 0; d < dims; d++)
                centred[d] = data[r * dims + d] - mean[d];
            for (int i = 0; i < dims; i++)
            {
                double ci = centred[i];
                if (ci == 0)
                    continue;
                Span<double> row = cov.AsSpan(i * dims, dims);
                TensorPrimitives.MultiplyAdd(centred, ci, row, row);
            }
        }

        var axes = new double[components * dims];
        var v = new double[dims];
        var w = new double[dims];
        var rng = new SeededRandom(0x5CA);
        for (int c = 0; c < components; c++)
        {
            for (int d = 0; d < dims; d++)
                v[d] = rng.NextNormal();
            for (int iter = 0; iter < 500; iter++)
            {
                for (int i = 0; i < dims; i++)
                    w[i] = TensorPrimitives.Dot<double>(cov.AsSpan(i * dims, dims), v);
                // Deflate: remove the axes already found.
                for (int k = 0; k < c; k++)
                {
                    ReadOnlySpan<double> axis = axes.AsSpan(k * dims, dims);
                    TensorPrimitives.MultiplyAdd(axis, -TensorPrimitives.Dot(axis, (ReadOnlySpan<double>)w), w, w);
                }
                double norm = Math.Sqrt(TensorPrimitives.Dot<double>(w, w));
                if (norm == 0)
                    break; // no variance left: keep the previous (orthogonalised) direction
                TensorPrimitives.Divide(w, norm, w);
                double change = 0;
                for (int d = 0; d < dims; d++)
                    change = Math.Max(change, Math.Abs(w[d] - v[d]));
                w.CopyTo(v);
                if (change < 1e-10)
                    break;
            }
            // Orthonormalise once more and fix the sign.
            for (int k = 0; k < c; k++)
            {
                ReadOnlySpan<double> axis = axes.AsSpan(k * dims, dims);
                TensorPrimitives.MultiplyAdd(axis, -TensorPrimitives.Dot(axis, (ReadOnlySpan<double>)v), v, v);
            }
            double n = Math.Sqrt(TensorPrimitives.Dot<double>(v, v));
            if (n > 0)
                TensorPrimitives.Divide(v, n, v);
            int big = TensorPrimitives.IndexOfMaxMagnitude<double>(v);
            if (v[big] < 0)
                TensorPrimitives.Negate<double>(v, v);
            v.CopyTo(axes.AsSpan(c * dims, dims));
        }

        for (int r = 0; r < rows; r++)
        {
            for (int d = 0; d < dims; d++)
                centred[d] = data[r * dims + d] - mean[d];
            for (int c = 0; c < components; c++)
                destination[r * components + c] = (float)TensorPrimitives.Dot<double>(axes.AsSpan(c * dims, dims), centred);
        }
    }
}
