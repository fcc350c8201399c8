using EmbedSharp.Quantization;

namespace EmbedSharp.Search.Ivf;

/// <summary>
/// Optimised product quantization (Ge, He, Ke &amp; Sun 2013, the non-parametric method): an
/// orthogonal rotation <c>R</c> (Dims × Dims, row-major; a vector <c>x</c> is coded as <c>x·R</c>) learned
/// by alternating, from a random rotation, between training the product quantizer on the rotated data and the orthogonal
/// Procrustes step <c>R = U·Vᵀ</c> from the SVD <c>Xᵀ·Ŷ = U·Σ·Vᵀ</c>, which minimises
/// <c>‖X·R − Ŷ‖</c> for the current reconstructions Ŷ.
/// </summary>
internal static class Opq
{
    /// <summary>
    /// Learns the rotation on the row-major <paramref name="x"/> (rows of <paramref name="dims"/>) and returns it
    /// with the product quantizer trained on the rotated rows.
    /// </summary>
    public static (float[] Rotation, ProductQuantizer Pq) Train(float[] x, int dims, int m, int opqIterations, int pqIterations, ulong seed, int threads)
    {
        // The rotation is learned on at most 16,384 rows; the final quantizer on all of them.
        var all = x;
        x = IvfIndex.Subsample(x, dims, 16384, seed + 77);
        int n = x.Length / dims;
        var r = RandomOrthogonal(dims, seed + 99);
        var rotated = new float[x.Length];
        var decoded = new float[x.Length];
        for (int it = 0; it < opqIterations; it++)
        {
            Rotate(x, dims, r, rotated);
            var pq = ProductQuantizer.Train(rotated, dims, m, Math.Max(1, pqIterations / 2), seed + (ulong)it, threads);
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = threads <= 0 ? Environment.ProcessorCount : threads }, () => new byte[m], (i, _, c) =>
            {
                pq.Encode(rotated.AsSpan(i * dims, dims), c);
                pq.Decode(c, decoded.AsSpan(i * dims, dims));
                return c;
            }, _ => { });
            // Procrustes: Xᵀ·Ŷ = U·Σ·Vᵀ, R = U·Vᵀ.
            var crossF = new float[dims * dims];
            for (int i = 0; i < n; i++)
            {
                var yi = decoded.AsSpan(i * dims, dims);
                for (int a = 0; a < dims; a++)
                {
                    float xa = x[i * dims + a];
                    if (xa != 0)
                        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(yi, xa, crossF.AsSpan(a * dims, dims), crossF.AsSpan(a * dims, dims));
                }
            }
            var cross = Array.ConvertAll(crossF, v => (double)v);
            r = Procrustes(cross, dims);
        }
        rotated = new float[all.Length];
        Rotate(all, dims, r, rotated);
        return (r, ProductQuantizer.Train(rotated, dims, m, pqIterations, seed + 1000, threads));
    }

    /// <summary><c>y = x·R</c> for every row of <paramref name="x"/>.</summary>
    public static void Rotate(ReadOnlySpan<float> x, int dims, ReadOnlySpan<float> r, Span<float> y)
    {
        int n = x.Length / dims;
        Span<float> row = dims <= 1024 ? stackalloc float[dims] : new float[dims];
        for (int i = 0; i < n; i++)
        {
            row.Clear();
            var xi = x.Slice(i * dims, dims);
            for (int a = 0; a < dims; a++)
            {
                float xa = xi[a];
                if (xa == 0)
                    continue;
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(r.Slice(a * dims, dims), xa, row, row);
            }
            row.CopyTo(y.Slice(i * dims, dims));
        }
    }

    /// <summary>The plain reference of <see cref="Rotate"/>: one sum per output element.</summary>
    public static void RotateReference(ReadOnlySpan<float> x, int dims, ReadOnlySpan<float> r, Span<float> y)
    {
        for (int i = 0; i < x.Length / dims; i++)
        {
            for (int b = 0; b < dims; b++)
            {
                float s = 0;
                for (int a = 0; a < dims; a++)
                    s += x[i * dims + a] * r[a * dims + b];
                y[i * dims + b] = s;
            }
        }
    }

    /// <summary>A seeded random rotation (Gram–Schmidt on a Gaussian matrix), the starting point, as FAISS's OPQ.</summary>
    public static float[] RandomOrthogonal(int d, ulong seed)
    {
        var rng = new EmbedSharp.Numerics.SeededRandom(seed);
        var g = new double[d * d];
        for (int i = 0; i < g.Length; i++)
            g[i] = rng.NextNormal();
        return Procrustes(g, d);
    }

    public static float[] Identity(int dims)
    {
        var r = new float[dims * dims];
        for (int i = 0; i < dims; i++)
            r[i * dims + i] = 1;
        return r;
    }

    /// <summary>
    /// The orthogonal matrix nearest <paramref name="a"/> (<c>U·Vᵀ</c> of its SVD), by one-sided Jacobi
    /// rotations on the columns of <c>A</c> (accumulated in V) in double precision; columns that vanish
    /// (rank deficiency) are completed to an orthonormal basis.
    /// </summary>
    public static float[] Procrustes(double[] a, int d)
    {
        var u = (double[])a.Clone();
        var v = new double[d * d];
        for (int i = 0; i < d; i++)
            v[i * d + i] = 1;
        for (int sweep = 0; sweep < 60; sweep++)
        {
            bool rotated = false;
            for (int p = 0; p < d - 1; p++)
            {
                for (int q = p + 1; q < d; q++)
                {
                    double alpha = 0, beta = 0, gamma = 0;
                    for (int i = 0; i < d; i++)
                    {
                        double up = u[i * d + p], uq = u[i * d + q];
                        alpha += up * up;
                        beta += uq * uq;
                        gamma += up * uq;
                    }
                    if (Math.Abs(gamma) <= 1e-15 * Math.Sqrt(alpha * beta) || gamma == 0)
                        continue;
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.Sign(zeta == 0 ? 1 : zeta) / (Math.Abs(zeta) + Math.Sqrt(1 + zeta * zeta));
                    double c = 1 / Math.Sqrt(1 + t * t), s = c * t;
                    for (int i = 0; i < d; i++)
                    {
                        double up = u[i * d + p], uq = u[i * d + q];
                        u[i * d + p] = c * up - s * uq;
                        u[i * d + q] = s * up + c * uq;
                        double vp = v[i * d + p], vq = v[i * d + q];
                        v[i * d + p] = c * vp - s * vq;
                        v[i * d + q] = s * vp + c * vq;
                    }
                }
            }
            if (!rotated)
                break;
        }
        // Columns of U are σ_j·u_j: normalise; complete vanished ones by Gram–Schmidt on unit vectors.
        double largest = 0;
        var norms = new double[d];
        for (int j = 0; j < d; j++)
        {
            double s = 0;
            for (int i = 0; i < d; i++)
                s += u[i * d + j] * u[i * d + j];
            norms[j] = Math.Sqrt(s);
            largest = Math.Max(largest, norms[j]);
        }
        var ok = new bool[d];
        for (int j = 0; j < d; j++)
        {
            if (norms[j] > 1e-10 * Math.Max(largest, 1e-300))
            {
                for (int i = 0; i < d; i++)
                    u[i * d + j] /= norms[j];
                ok[j] = true;
            }
        }
        int basis = 0;
        for (int j = 0; j < d; j++)
        {
            if (ok[j])
                continue;
            while (true)
            {
                var e = new double[d];
                e[basis++ % d] = 1;
                for (int k = 0; k < d; k++)
                {
                    if (!ok[k])
                        continue;
                    double dot = 0;
                    for (int i = 0; i < d; i++)
                        dot += u[i * d + k] * e[i];
                    for (int i = 0; i < d; i++)
                        e[i] -= dot * u[i * d + k];
                }
                double norm = Math.Sqrt(e.Sum(z => z * z));
                if (norm > 1e-6)
                {
                    for (int i = 0; i < d; i++)
                        u[i * d + j] = e[i] / norm;
                    ok[j] = true;
                    break;
                }
            }
        }
        var r = new float[d * d];
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                double s = 0;
                for (int k = 0; k < d; k++)
                    s += u[i * d + k] * v[j * d + k];
                r[i * d + j] = (float)s;
            }
        }
        return r;
    }
}
