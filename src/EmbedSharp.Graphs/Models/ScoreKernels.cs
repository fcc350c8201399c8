using System.Numerics.Tensors;

namespace EmbedSharp.Graphs.Models;

/// <summary>How a query vector q is compared with an entity vector e.</summary>
internal enum ScoreKind
{
    /// <summary><c>q · e</c> (DistMult, ComplEx with real and imaginary halves side by side).</summary>
    Dot,

    /// <summary><c>−Σ|q − e|</c> (TransE L1).</summary>
    L1,

    /// <summary><c>−‖q − e‖₂</c> (TransE L2).</summary>
    L2,

    /// <summary><c>−Σₖ |qₖ − eₖ|</c> over complex coordinates stored as [re | im] halves (RotatE).</summary>
    ComplexL1,
}

/// <summary>
/// Score of one query against one entity and its gradient: <see cref="Score"/> and <see cref="Backward"/>
/// are vectorised (TensorPrimitives over the difference, with a per-thread scratch row);
/// <see cref="ScoreReference"/> and <see cref="BackwardReference"/> are the plain loops they are tested against.
/// </summary>
internal static class ScoreKernels
{
    [ThreadStatic]
    private static float[]? t_scratch;

    private static Span<float> Scratch(int length)
    {
        var s = t_scratch;
        if (s is null || s.Length < length)
            t_scratch = s = new float[Math.Max(length, 64)];
        return s.AsSpan(0, length);
    }

    public static float Score(ScoreKind kind, ReadOnlySpan<float> q, ReadOnlySpan<float> e)
    {
        if (q.IsEmpty)
            return 0;
        if (kind == ScoreKind.Dot)
            return TensorPrimitives.Dot(q, e);
        if (kind == ScoreKind.L2)
            return -TensorPrimitives.Distance(q, e);
        var diff = Scratch(q.Length);
        TensorPrimitives.Subtract(q, e, diff);
        if (kind == ScoreKind.L1)
            return -TensorPrimitives.SumOfMagnitudes<float>(diff);
        int d = q.Length / 2;
        var re = diff[..d];
        TensorPrimitives.Hypot<float>(re, diff[d..], re);
        return -TensorPrimitives.Sum<float>(re);
    }

    /// <summary><c>gq += g · ∂s/∂q</c> and <c>ge += g · ∂s/∂e</c> (either may be empty to skip it).</summary>
    public static void Backward(ScoreKind kind, ReadOnlySpan<float> q, ReadOnlySpan<float> e, float g, Span<float> gq, Span<float> ge)
    {
        if (g == 0 || q.IsEmpty)
            return;
        if (kind == ScoreKind.Dot)
        {
            if (!gq.IsEmpty)
                TensorPrimitives.MultiplyAdd(e, g, gq, gq);
            if (!ge.IsEmpty)
                TensorPrimitives.MultiplyAdd(q, g, ge, ge);
            return;
        }
        int n = q.Length;
        var scratch = Scratch(2 * n);
        var diff = scratch[..n];
        var unit = scratch[n..];
        TensorPrimitives.Subtract(q, e, diff);
        switch (kind)
        {
            case ScoreKind.L1:
                // sign(diff), 0 where diff = 0.
                TensorPrimitives.Abs<float>(diff, unit);
                TensorPrimitives.Max(unit, float.Epsilon, unit);
                TensorPrimitives.Divide(diff, unit, unit);
                break;
            case ScoreKind.L2:
            {
                float dist = TensorPrimitives.Norm<float>(diff);
                if (dist == 0)
                    return;
                TensorPrimitives.Multiply(diff, 1 / dist, unit);
                break;
            }
            default:
            {
                // Per complex coordinate k: (Δre, Δim) / |Δ|, 0 where |Δ| = 0.
                int d = n / 2;
                var m = unit[..d];
                TensorPrimitives.Hypot<float>(diff[..d], diff[d..], m);
                TensorPrimitives.Max(m, float.Epsilon, m);
                TensorPrimitives.Divide(diff[d..], m, unit[d..]);
                TensorPrimitives.Divide(diff[..d], m, unit[..d]);
                break;
            }
        }
        // s = −distance: ∂s/∂q = −unit, ∂s/∂e = +unit.
        if (!gq.IsEmpty)
            TensorPrimitives.MultiplyAdd(unit, -g, gq, gq);
        if (!ge.IsEmpty)
            TensorPrimitives.MultiplyAdd(unit, g, ge, ge);
    }

    /// <summary>
    /// The score of a distance kind and, in <paramref name="unit"/>, the direction u with
    /// <c>∂s/∂q = −u</c> and <c>∂s/∂e = u</c>, so a caller can form both gradients later without
    /// recomputing the difference (what <see cref="Backward"/> does in one call).
    /// </summary>
    public static float ScoreWithUnit(ScoreKind kind, ReadOnlySpan<float> q, ReadOnlySpan<float> e, Span<float> unit)
    {
        if (q.IsEmpty)
            return 0;
        int n = q.Length;
        var diff = Scratch(n);
        TensorPrimitives.Subtract(q, e, diff);
        switch (kind)
        {
            case ScoreKind.L1:
            {
                float s = TensorPrimitives.SumOfMagnitudes<float>(diff);
                TensorPrimitives.Abs<float>(diff, unit);
                TensorPrimitives.Max(unit, float.Epsilon, unit);
                TensorPrimitives.Divide(diff, unit, unit);
                return -s;
            }
            case ScoreKind.L2:
            {
                float dist = TensorPrimitives.Norm<float>(diff);
                TensorPrimitives.Multiply(diff, dist == 0 ? 0 : 1 / dist, unit);
                return -dist;
            }
            default:
            {
                int d = n / 2;
                var m = unit[..d];
                TensorPrimitives.Hypot<float>(diff[..d], diff[d..], m);
                float s = TensorPrimitives.Sum<float>(m);
                TensorPrimitives.Max(m, float.Epsilon, m);
                TensorPrimitives.Divide(diff[d..], m, unit[d..]);
                TensorPrimitives.Divide(diff[..d], m, unit[..d]);
                return -s;
            }
        }
    }

    public static float ScoreReference(ScoreKind kind, ReadOnlySpan<float> q, ReadOnlySpan<float> e)
    {
        if (q.IsEmpty)
            return 0;
        switch (kind)
        {
            case ScoreKind.Dot:
                return TensorPrimitives.Dot(q, e);
            case ScoreKind.L1:
            {
                double s = 0;
                for (int i = 0; i < q.Length; i++)
                    s += Math.Abs(q[i] - e[i]);
                return (float)-s;
            }
            case ScoreKind.L2:
                return -TensorPrimitives.Distance(q, e);
            default:
            {
                int d = q.Length / 2;
                double s = 0;
                for (int k = 0; k < d; k++)
                {
                    float dr = q[k] - e[k], di = q[d + k] - e[d + k];
                    s += MathF.Sqrt(dr * dr + di * di);
                }
                return (float)-s;
            }
        }
    }

    /// <summary>The plain-loop form of <see cref="Backward"/>.</summary>
    public static void BackwardReference(ScoreKind kind, ReadOnlySpan<float> q, ReadOnlySpan<float> e, float g, Span<float> gq, Span<float> ge)
    {
        if (g == 0 || q.IsEmpty)
            return;
        switch (kind)
        {
            case ScoreKind.Dot:
                if (!gq.IsEmpty)
                    TensorPrimitives.MultiplyAdd(e, g, gq, gq);
                if (!ge.IsEmpty)
                    TensorPrimitives.MultiplyAdd(q, g, ge, ge);
                return;
            case ScoreKind.L1:
                for (int i = 0; i < q.Length; i++)
                {
                    float diff = q[i] - e[i];
                    float s = diff > 0 ? -g : diff < 0 ? g : 0;
                    if (!gq.IsEmpty)
                        gq[i] += s;
                    if (!ge.IsEmpty)
                        ge[i] -= s;
                }
                return;
            case ScoreKind.L2:
            {
                float dist = TensorPrimitives.Distance(q, e);
                if (dist == 0)
                    return;
                float f = -g / dist;
                for (int i = 0; i < q.Length; i++)
                {
                    float diff = (q[i] - e[i]) * f;
                    if (!gq.IsEmpty)
                        gq[i] += diff;
                    if (!ge.IsEmpty)
                        ge[i] -= diff;
                }
                return;
            }
            default:
            {
                int d = q.Length / 2;
                for (int k = 0; k < d; k++)
                {
                    float dr = q[k] - e[k], di = q[d + k] - e[d + k];
                    float m = MathF.Sqrt(dr * dr + di * di);
                    if (m == 0)
                        continue;
                    float f = -g / m;
                    if (!gq.IsEmpty)
                    {
                        gq[k] += dr * f;
                        gq[d + k] += di * f;
                    }
                    if (!ge.IsEmpty)
                    {
                        ge[k] -= dr * f;
                        ge[d + k] -= di * f;
                    }
                }
                return;
            }
        }
    }
}
