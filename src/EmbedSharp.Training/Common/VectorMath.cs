using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Training.Common;

/// <summary>
/// The few vector kernels the trainers' inner loops need, on raw row pointers (rows live in a table's
/// native memory, so they never move). Each has a scalar <c>…Reference</c> beside it.
/// </summary>
/// <remarks>
/// Lanes: Vector256 of 8 floats when the CPU accelerates it, else Vector128 of 4, else scalar. The tail
/// (<c>n mod width</c> elements) is done by a scalar loop, never by an overlapping vector: for the
/// accumulating kernels an overlap would apply the tail twice. Dot products accumulate in lanes and
/// reduce at the end, so their rounding differs slightly from the strictly sequential reference.
/// Callers guarantee that every pointer addresses at least <c>n</c> floats.
/// </remarks>
internal static unsafe class VectorMath
{
    /// <summary><c>Σ a[i]·b[i]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
            for (; i <= n - 16; i += 16)
            {
                acc0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), acc1);
            }
            if (i <= n - 8)
            {
                acc0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
                i += 8;
            }
            sum = Vector256.Sum(acc0 + acc1);
        }
        else if (Vector128.IsHardwareAccelerated && n >= 4)
        {
            Vector128<float> acc = Vector128<float>.Zero;
            for (; i <= n - 4; i += 4)
                acc = Vector128.FusedMultiplyAdd(Vector128.Load(a + i), Vector128.Load(b + i), acc);
            sum = Vector128.Sum(acc);
        }
        for (; i < n; i++)
            sum += a[i] * b[i];
        return sum;
    }

    /// <summary><c>y[i] += alpha·x[i]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float alpha, float* x, float* y, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(alpha);
            for (; i <= n - 8; i += 8)
                Vector256.FusedMultiplyAdd(va, Vector256.Load(x + i), Vector256.Load(y + i)).Store(y + i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var va = Vector128.Create(alpha);
            for (; i <= n - 4; i += 4)
                Vector128.FusedMultiplyAdd(va, Vector128.Load(x + i), Vector128.Load(y + i)).Store(y + i);
        }
        for (; i < n; i++)
            y[i] = MathF.FusedMultiplyAdd(alpha, x[i], y[i]);
    }

    /// <summary>
    /// The skip-gram/CBOW output step in one pass over the output row: <c>e[i] += g·w[i]</c> with the old
    /// <c>w[i]</c>, then <c>w[i] += g·h[i]</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateAndUpdate(float g, float* h, float* w, float* e, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vg = Vector256.Create(g);
            for (; i <= n - 8; i += 8)
            {
                var wv = Vector256.Load(w + i);
                Vector256.FusedMultiplyAdd(vg, wv, Vector256.Load(e + i)).Store(e + i);
                Vector256.FusedMultiplyAdd(vg, Vector256.Load(h + i), wv).Store(w + i);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var vg = Vector128.Create(g);
            for (; i <= n - 4; i += 4)
            {
                var wv = Vector128.Load(w + i);
                Vector128.FusedMultiplyAdd(vg, wv, Vector128.Load(e + i)).Store(e + i);
                Vector128.FusedMultiplyAdd(vg, Vector128.Load(h + i), wv).Store(w + i);
            }
        }
        for (; i < n; i++)
        {
            float wi = w[i];
            e[i] = MathF.FusedMultiplyAdd(g, wi, e[i]);
            w[i] = MathF.FusedMultiplyAdd(g, h[i], wi);
        }
    }

    /// <summary><c>y[i] += x[i]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(float* x, float* y, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
                (Vector256.Load(x + i) + Vector256.Load(y + i)).Store(y + i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - 4; i += 4)
                (Vector128.Load(x + i) + Vector128.Load(y + i)).Store(y + i);
        }
        for (; i < n; i++)
            y[i] += x[i];
    }

    /// <summary><c>y[i] *= s</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scale(float s, float* y, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(s);
            for (; i <= n - 8; i += 8)
                (Vector256.Load(y + i) * vs).Store(y + i);
        }
        for (; i < n; i++)
            y[i] *= s;
    }

    /// <summary><c>y[i] = 0</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Clear(float* y, int n) => new Span<float>(y, n).Clear();

    // ---- scalar references (the oracles the tests compare the kernels with) ----

    internal static float DotReference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
            s += (double)a[i] * b[i];
        return (float)s;
    }

    internal static void AxpyReference(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++)
            y[i] += alpha * x[i];
    }

    internal static void AccumulateAndUpdateReference(float g, ReadOnlySpan<float> h, Span<float> w, Span<float> e)
    {
        for (int i = 0; i < h.Length; i++)
        {
            e[i] += g * w[i];
            w[i] += g * h[i];
        }
    }

    // ---- span entry points for tests and cold code ----

    internal static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        System.Diagnostics.Debug.Assert(a.Length == b.Length);
        fixed (float* pa = a, pb = b)
            return Dot(pa, pb, a.Length);
    }

    internal static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        System.Diagnostics.Debug.Assert(x.Length == y.Length);
        fixed (float* px = x, py = y)
            Axpy(alpha, px, py, x.Length);
    }

    internal static void AccumulateAndUpdate(float g, ReadOnlySpan<float> h, Span<float> w, Span<float> e)
    {
        System.Diagnostics.Debug.Assert(h.Length == w.Length && w.Length == e.Length);
        fixed (float* ph = h, pw = w, pe = e)
            AccumulateAndUpdate(g, ph, pw, pe, h.Length);
    }
}
