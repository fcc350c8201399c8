using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Training.Glove;

/// <summary>GloVe's AdaGrad step on a word row and a context row, vectorised, with its scalar reference.</summary>
internal static unsafe class GloveKernels
{
    /// <summary>
    /// For every d: <c>t₁ = f·w₂[d]</c>, <c>t₂ = f·w₁[d]</c> (old values), <c>w₁[d] −= t₁/√G₁[d]</c>,
    /// <c>w₂[d] −= t₂/√G₂[d]</c>, <c>G₁[d] += t₁²</c>, <c>G₂[d] += t₂²</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AdaGradStep(float f, float* w1, float* w2, float* g1, float* g2, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vf = Vector256.Create(f);
            for (; i <= n - 8; i += 8)
            {
                var a = Vector256.Load(w1 + i);
                var b = Vector256.Load(w2 + i);
                var ga = Vector256.Load(g1 + i);
                var gb = Vector256.Load(g2 + i);
                var t1 = vf * b;
                var t2 = vf * a;
                (a - t1 / Vector256.Sqrt(ga)).Store(w1 + i);
                (b - t2 / Vector256.Sqrt(gb)).Store(w2 + i);
                Vector256.FusedMultiplyAdd(t1, t1, ga).Store(g1 + i);
                Vector256.FusedMultiplyAdd(t2, t2, gb).Store(g2 + i);
            }
        }
        for (; i < n; i++)
        {
            float t1 = f * w2[i], t2 = f * w1[i];
            w1[i] -= t1 / MathF.Sqrt(g1[i]);
            w2[i] -= t2 / MathF.Sqrt(g2[i]);
            g1[i] = MathF.FusedMultiplyAdd(t1, t1, g1[i]);
            g2[i] = MathF.FusedMultiplyAdd(t2, t2, g2[i]);
        }
    }

    internal static void AdaGradStepReference(float f, Span<float> w1, Span<float> w2, Span<float> g1, Span<float> g2)
    {
        for (int i = 0; i < w1.Length; i++)
        {
            float t1 = f * w2[i], t2 = f * w1[i];
            w1[i] -= t1 / MathF.Sqrt(g1[i]);
            w2[i] -= t2 / MathF.Sqrt(g2[i]);
            g1[i] += t1 * t1;
            g2[i] += t2 * t2;
        }
    }

    internal static void AdaGradStep(float f, Span<float> w1, Span<float> w2, Span<float> g1, Span<float> g2)
    {
        fixed (float* a = w1, b = w2, c = g1, d = g2)
            AdaGradStep(f, a, b, c, d, w1.Length);
    }
}
