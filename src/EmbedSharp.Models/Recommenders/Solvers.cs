using System.Numerics.Tensors;

namespace EmbedSharp.Models.Recommenders;

/// <summary>The small linear solves behind ALS and fold-in (double precision, dimension = factors (+1)).</summary>
internal static class Solvers
{
    /// <summary><c>G = Qᵀ Q</c> for a <c>[rows, k]</c> table, k × k in double.</summary>
    public static double[] Gram(float[] table, int rows, int k)
    {
        var g = new double[k * k];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> q = table.AsSpan(r * k, k);
            for (int a = 0; a < k; a++)
            {
                double qa = q[a];
                for (int b = a; b < k; b++)
                    g[a * k + b] += qa * q[b];
            }
        }
        for (int a = 0; a < k; a++)
            for (int b = 0; b < a; b++)
                g[a * k + b] = g[b * k + a];
        return g;
    }

    /// <summary>
    /// The implicit-ALS penalty of one row: <c>λ·(n + α·Σ_j r_j)^ν</c>, where n is the other side's row
    /// count, so <c>n + α·Σ r</c> is the row's total confidence <c>Σ_j c_j</c> (Rendle et al. 2021's
    /// frequency scaling); ν = 0 gives plain λ.
    /// </summary>
    public static double ImplicitPenalty(double lambda, double exponent, double alpha, int otherRows, ReadOnlySpan<float> values)
    {
        if (exponent == 0)
            return lambda;
        double weight = otherRows;
        foreach (float v in values)
            weight += alpha * v;
        return lambda * Math.Pow(weight, exponent);
    }

    /// <summary>Solves the symmetric positive definite <c>A x = b</c> in place (A overwritten by its Cholesky factor, b by x).</summary>
    public static void CholeskySolve(double[] a, double[] b, int n)
    {
        for (int j = 0; j < n; j++)
        {
            double d = a[j * n + j];
            for (int p = 0; p < j; p++)
                d -= a[j * n + p] * a[j * n + p];
            d = Math.Sqrt(Math.Max(d, 1e-12));
            a[j * n + j] = d;
            for (int i = j + 1; i < n; i++)
            {
                double s = a[i * n + j];
                for (int p = 0; p < j; p++)
                    s -= a[i * n + p] * a[j * n + p];
                a[i * n + j] = s / d;
            }
        }
        for (int i = 0; i < n; i++)
        {
            double s = b[i];
            for (int p = 0; p < i; p++)
                s -= a[i * n + p] * b[p];
            b[i] = s / a[i * n + i];
        }
        for (int i = n - 1; i >= 0; i--)
        {
            double s = b[i];
            for (int p = i + 1; p < n; p++)
                s -= a[p * n + i] * b[p];
            b[i] = s / a[i * n + i];
        }
    }

    /// <summary>
    /// One biased ALS row: minimises <c>Σ_j (r_j − μ − c_j − x·q_j − β)² + λ|x|² + λ_b β²</c> over the
    /// other side's rows <paramref name="rows"/> (factors q, biases c); writes x, returns β.
    /// </summary>
    public static float SolveExplicitRow(float[] other, float[] otherBias, float mu, int k, ReadOnlySpan<int> rows, ReadOnlySpan<float> values,
        double lambda, double lambdaBias, Span<float> destination)
    {
        int n = k + 1;
        var a = new double[n * n];
        var b = new double[n];
        for (int t = 0; t < rows.Length; t++)
        {
            ReadOnlySpan<float> q = other.AsSpan(rows[t] * k, k);
            double target = values[t] - mu - otherBias[rows[t]];
            for (int x = 0; x < k; x++)
            {
                double qx = q[x];
                for (int y = x; y < k; y++)
                    a[x * n + y] += qx * q[y];
                a[x * n + k] += qx;
                b[x] += target * qx;
            }
            a[k * n + k] += 1;
            b[k] += target;
        }
        for (int x = 0; x < n; x++)
            for (int y = 0; y < x; y++)
                a[x * n + y] = a[y * n + x];
        for (int x = 0; x < k; x++)
            a[x * n + x] += lambda;
        a[k * n + k] += lambdaBias;
        CholeskySolve(a, b, n);
        for (int x = 0; x < k; x++)
            destination[x] = (float)b[x];
        return (float)b[k];
    }

    /// <summary>
    /// Hu–Koren–Volinsky row by conjugate gradient, warm-started from <paramref name="x"/> (the implicit
    /// library's scheme): solves <c>(YᵀY + Σ_j (c_j − 1) y_j y_jᵀ + λI) x = Σ_j c_j y_j</c>, <c>c_j = 1 + α·r_j</c>,
    /// without forming the matrix.
    /// </summary>
    public static void SolveImplicitRowCg(float[] other, double[] gram, int k, ReadOnlySpan<int> rows, ReadOnlySpan<float> values,
        double alpha, double lambda, int steps, Span<float> x, Span<double> scratch)
    // scratch: 4·k doubles.
    {
        Span<double> r = scratch[..k], p = scratch.Slice(k, k), ap = scratch.Slice(2 * k, k), xd = scratch.Slice(3 * k, k);
        for (int d = 0; d < k; d++)
            xd[d] = x[d];
        // r = b − A x.
        MultiplyA(other, gram, k, rows, values, alpha, lambda, xd, ap);
        r.Clear();
        for (int t = 0; t < rows.Length; t++)
        {
            double c = 1 + alpha * values[t];
            ReadOnlySpan<float> y = other.AsSpan(rows[t] * k, k);
            for (int d = 0; d < k; d++)
                r[d] += c * y[d];
        }
        for (int d = 0; d < k; d++)
            r[d] -= ap[d];
        r.CopyTo(p);
        double rsOld = Dot(r, r);
        if (rsOld < 1e-20)
            return;
        for (int it = 0; it < steps; it++)
        {
            MultiplyA(other, gram, k, rows, values, alpha, lambda, p, ap);
            double pAp = Dot(p, ap);
            if (pAp <= 0)
                break;
            double step = rsOld / pAp;
            for (int d = 0; d < k; d++)
            {
                x[d] = (float)(x[d] + step * p[d]);
                r[d] -= step * ap[d];
            }
            double rsNew = Dot(r, r);
            if (rsNew < 1e-20)
                break;
            for (int d = 0; d < k; d++)
                p[d] = r[d] + rsNew / rsOld * p[d];
            rsOld = rsNew;
        }
    }

    private static void MultiplyA(float[] other, double[] gram, int k, ReadOnlySpan<int> rows, ReadOnlySpan<float> values,
        double alpha, double lambda, ReadOnlySpan<double> v, Span<double> destination)
    {
        for (int a = 0; a < k; a++)
        {
            double s = lambda * v[a];
            for (int b = 0; b < k; b++)
                s += gram[a * k + b] * v[b];
            destination[a] = s;
        }
        AddWeighted(other, k, rows, values, alpha, v, destination);
    }

    private static void AddWeighted(float[] other, int k, ReadOnlySpan<int> rows, ReadOnlySpan<float> values, double alpha,
        ReadOnlySpan<double> v, Span<double> destination)
    {
        for (int t = 0; t < rows.Length; t++)
        {
            ReadOnlySpan<float> y = other.AsSpan(rows[t] * k, k);
            double dot = 0;
            for (int d = 0; d < k; d++)
                dot += y[d] * v[d];
            double w = alpha * values[t] * dot;
            for (int d = 0; d < k; d++)
                destination[d] += w * y[d];
        }
    }

    /// <summary>The same row solved exactly by Cholesky (fold-in, and the tests' reference for CG).</summary>
    public static void SolveImplicitRowExact(float[] other, double[] gram, int k, ReadOnlySpan<int> rows, ReadOnlySpan<float> values,
        double alpha, double lambda, Span<float> destination)
    {
        var a = (double[])gram.Clone();
        var b = new double[k];
        for (int d = 0; d < k; d++)
            a[d * k + d] += lambda;
        for (int t = 0; t < rows.Length; t++)
        {
            ReadOnlySpan<float> y = other.AsSpan(rows[t] * k, k);
            double c = 1 + alpha * values[t];
            for (int x = 0; x < k; x++)
            {
                b[x] += c * y[x];
                for (int z = 0; z < k; z++)
                    a[x * k + z] += (c - 1) * y[x] * y[z];
            }
        }
        CholeskySolve(a, b, k);
        for (int d = 0; d < k; d++)
            destination[d] = (float)b[d];
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b) => TensorPrimitives.Dot(a, b);
}
