using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
// Size: ~410 lines because each scoring function's fused kernel (TransE L1/L2, DistMult, ComplEx, RotatE; score
// and score-with-direction) sits beside its plain reference, as every kernel here does.
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
        return kind == ScoreKind.L1 ? -L1Distance(q, e) : -ComplexL1Distance(q, e);
    }

    /// <summary>A lane mask selecting lanes <c>≥ counted</c>: those of a final, overlapping vector not yet summed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Fresh(int counted) =>
        Vector.AsVectorSingle(Vector.GreaterThanOrEqual(Vector<int>.Indices, new Vector<int>(counted)));

    /// <summary><c>Σᵢ |qᵢ − eᵢ|</c> in one vectorised pass (no scratch).</summary>
    public static float L1Distance(ReadOnlySpan<float> q, ReadOnlySpan<float> e)
    {
        int n = q.Length, i = 0;
        ref float qp = ref MemoryMarshal.GetReference(q);
        ref float ep = ref MemoryMarshal.GetReference(e);
        float sum = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                acc += Vector.Abs(Vector.LoadUnsafe(ref qp, (nuint)i) - Vector.LoadUnsafe(ref ep, (nuint)i));
            if (i < n)
            {
                // The remainder as one vector ending at n, its lanes already counted masked off.
                int last = n - Vector<float>.Count;
                var a = Vector.Abs(Vector.LoadUnsafe(ref qp, (nuint)last) - Vector.LoadUnsafe(ref ep, (nuint)last));
                acc += Vector.ConditionalSelect(Fresh(i - last), a, Vector<float>.Zero);
                i = n;
            }
            sum = Vector.Sum(acc);
        }
        for (; i < n; i++)
            sum += MathF.Abs(Unsafe.Add(ref qp, i) - Unsafe.Add(ref ep, i));
        return sum;
    }

    /// <summary><c>Σₖ |qₖ − eₖ|</c> over complex coordinates stored as [re | im] halves, in one vectorised pass.</summary>
    public static float ComplexL1Distance(ReadOnlySpan<float> q, ReadOnlySpan<float> e)
    {
        int d = q.Length / 2, k = 0;
        ref float qr = ref MemoryMarshal.GetReference(q);
        ref float er = ref MemoryMarshal.GetReference(e);
        ref float qi = ref Unsafe.Add(ref qr, d);
        ref float ei = ref Unsafe.Add(ref er, d);
        float sum = 0;
        if (Vector.IsHardwareAccelerated && d >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            for (; k <= d - Vector<float>.Count; k += Vector<float>.Count)
            {
                var dr = Vector.LoadUnsafe(ref qr, (nuint)k) - Vector.LoadUnsafe(ref er, (nuint)k);
                var di = Vector.LoadUnsafe(ref qi, (nuint)k) - Vector.LoadUnsafe(ref ei, (nuint)k);
                acc += Vector.SquareRoot(dr * dr + di * di);
            }
            if (k < d)
            {
                int last = d - Vector<float>.Count;
                var dr = Vector.LoadUnsafe(ref qr, (nuint)last) - Vector.LoadUnsafe(ref er, (nuint)last);
                var di = Vector.LoadUnsafe(ref qi, (nuint)last) - Vector.LoadUnsafe(ref ei, (nuint)last);
                acc += Vector.ConditionalSelect(Fresh(k - last), Vector.SquareRoot(dr * dr + di * di), Vector<float>.Zero);
                k = d;
            }
            sum = Vector.Sum(acc);
        }
        for (; k < d; k++)
        {
            float dr = Unsafe.Add(ref qr, k) - Unsafe.Add(ref er, k), di = Unsafe.Add(ref qi, k) - Unsafe.Add(ref ei, k);
            sum += MathF.Sqrt(dr * dr + di * di);
        }
        return sum;
    }

    /// <summary>The smallest normal float: its reciprocal is finite, so <c>0 · (1 / max(m, it)) = 0</c>.</summary>
    private const float SmallestNormal = 1.17549435E-38f;

    /// <summary>
    /// <see cref="ComplexL1Distance"/> and, in <paramref name="unit"/>, each coordinate's direction
    /// <c>(Δre, Δim) / max(|Δ|, 2⁻¹²⁶)</c> (0 where |Δ| = 0), in one pass: one reciprocal per coordinate, not two divisions.
    /// </summary>
    private static float ComplexL1WithUnit(ReadOnlySpan<float> q, ReadOnlySpan<float> e, Span<float> unit)
    {
        int d = q.Length / 2, k = 0;
        ref float qr = ref MemoryMarshal.GetReference(q);
        ref float er = ref MemoryMarshal.GetReference(e);
        ref float ur = ref MemoryMarshal.GetReference(unit);
        ref float qi = ref Unsafe.Add(ref qr, d);
        ref float ei = ref Unsafe.Add(ref er, d);
        ref float ui = ref Unsafe.Add(ref ur, d);
        float sum = 0;
        if (Vector.IsHardwareAccelerated && d >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            var tiny = new Vector<float>(SmallestNormal);
            for (; k <= d - Vector<float>.Count; k += Vector<float>.Count)
            {
                var dr = Vector.LoadUnsafe(ref qr, (nuint)k) - Vector.LoadUnsafe(ref er, (nuint)k);
                var di = Vector.LoadUnsafe(ref qi, (nuint)k) - Vector.LoadUnsafe(ref ei, (nuint)k);
                var m = Vector.SquareRoot(dr * dr + di * di);
                acc += m;
                var inv = Vector<float>.One / Vector.Max(m, tiny);
                (dr * inv).StoreUnsafe(ref ur, (nuint)k);
                (di * inv).StoreUnsafe(ref ui, (nuint)k);
            }
            if (k < d)
            {
                // Overlapping lanes recompute and rewrite the same directions; only their sum is masked.
                int last = d - Vector<float>.Count;
                var dr = Vector.LoadUnsafe(ref qr, (nuint)last) - Vector.LoadUnsafe(ref er, (nuint)last);
                var di = Vector.LoadUnsafe(ref qi, (nuint)last) - Vector.LoadUnsafe(ref ei, (nuint)last);
                var m = Vector.SquareRoot(dr * dr + di * di);
                acc += Vector.ConditionalSelect(Fresh(k - last), m, Vector<float>.Zero);
                var inv = Vector<float>.One / Vector.Max(m, tiny);
                (dr * inv).StoreUnsafe(ref ur, (nuint)last);
                (di * inv).StoreUnsafe(ref ui, (nuint)last);
                k = d;
            }
            sum = Vector.Sum(acc);
        }
        for (; k < d; k++)
        {
            float dr = Unsafe.Add(ref qr, k) - Unsafe.Add(ref er, k), di = Unsafe.Add(ref qi, k) - Unsafe.Add(ref ei, k);
            float m = MathF.Sqrt(dr * dr + di * di);
            sum += m;
            float inv = 1f / MathF.Max(m, SmallestNormal);
            Unsafe.Add(ref ur, k) = dr * inv;
            Unsafe.Add(ref ui, k) = di * inv;
        }
        return sum;
    }

    /// <summary><see cref="L1Distance"/> and, in <paramref name="unit"/>, <c>sign(q − e)</c> (0 where equal), in one pass.</summary>
    private static float L1WithUnit(ReadOnlySpan<float> q, ReadOnlySpan<float> e, Span<float> unit)
    {
        int n = q.Length, i = 0;
        ref float qp = ref MemoryMarshal.GetReference(q);
        ref float ep = ref MemoryMarshal.GetReference(e);
        ref float up = ref MemoryMarshal.GetReference(unit);
        float sum = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            var tiny = new Vector<float>(float.Epsilon);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var diff = Vector.LoadUnsafe(ref qp, (nuint)i) - Vector.LoadUnsafe(ref ep, (nuint)i);
                var a = Vector.Abs(diff);
                acc += a;
                (diff / Vector.Max(a, tiny)).StoreUnsafe(ref up, (nuint)i);
            }
            if (i < n)
            {
                int last = n - Vector<float>.Count;
                var diff = Vector.LoadUnsafe(ref qp, (nuint)last) - Vector.LoadUnsafe(ref ep, (nuint)last);
                var a = Vector.Abs(diff);
                acc += Vector.ConditionalSelect(Fresh(i - last), a, Vector<float>.Zero);
                (diff / Vector.Max(a, tiny)).StoreUnsafe(ref up, (nuint)last);
                i = n;
            }
            sum = Vector.Sum(acc);
        }
        for (; i < n; i++)
        {
            float diff = Unsafe.Add(ref qp, i) - Unsafe.Add(ref ep, i), a = MathF.Abs(diff);
            sum += a;
            Unsafe.Add(ref up, i) = diff / MathF.Max(a, float.Epsilon);
        }
        return sum;
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
        if (kind == ScoreKind.ComplexL1)
            return -ComplexL1WithUnit(q, e, unit[..q.Length]);
        if (kind == ScoreKind.L1)
            return -L1WithUnit(q, e, unit[..q.Length]);
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
