using System.Numerics.Tensors;

namespace EmbedSharp.Numerics;

public static partial class Kernels
{
    /// <summary>
    /// The p-norm of a row, computed in double: p = 1 (sum of |x|), p = 2 (Euclidean),
    /// p = ∞ (max |x|), otherwise <c>(Σ|x|^p)^(1/p)</c>. NaN in the row gives NaN.
    /// </summary>
    public static double Norm(ReadOnlySpan<float> x, double p)
    {
        if (p == 2)
        {
            // Float32 SIMD sum of squares is what PyTorch's CPU renorm does (float accumulation),
            // but double keeps long rows accurate; both agree to well under an ulp on short rows.
            double s = 0;
            foreach (float v in x)
                s += (double)v * v;
            return Math.Sqrt(s);
        }
        if (p == 1)
        {
            double s = 0;
            foreach (float v in x)
                s += Math.Abs(v);
            return s;
        }
        if (double.IsPositiveInfinity(p))
        {
            if (x.IsEmpty)
                return 0;
            float m = TensorPrimitives.MaxMagnitude(x);
            return Math.Abs((double)m);
        }
        double acc = 0;
        foreach (float v in x)
            acc += Math.Pow(Math.Abs(v), p);
        return Math.Pow(acc, 1 / p);
    }
}
