using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Positional;

/// <summary>Which channels of a head RoPE pairs up and rotates together.</summary>
public enum RopeConvention
{
    /// <summary>
    /// Pairs <c>(x[i], x[i + r/2])</c>: GPT-NeoX, Hugging Face Llama/Mistral/Qwen, MLX <c>traditional=False</c>.
    /// <c>out = x·cos + rotate_half(x)·sin</c> with <c>rotate_half(x) = cat(−x[r/2:], x[:r/2])</c>.
    /// </summary>
    RotateHalf = 0,

    /// <summary>
    /// Pairs <c>(x[2i], x[2i+1])</c>: GPT-J <c>rotate_every_two</c>, RoFormer, Meta's reference Llama,
    /// MLX <c>traditional=True</c>.
    /// </summary>
    Interleaved = 1,
}

/// <summary>
/// Rotary position embedding (RoPE) as pure span functions: inverse frequencies, the scaled bases
/// of the NTK variants, YaRN's blended frequencies, and the rotation itself.
/// </summary>
/// <remarks>
/// With <c>r</c> the rotary width, <c>inv_freq[i] = base^(−2i/r)</c> for <c>i = 0 … r/2 − 1</c> and the angle
/// at effective position <c>p</c> is <c>θ[p, i] = p · inv_freq[i]</c>. Each pair <c>(a, b)</c> becomes
/// <c>(a·cosθ − b·sinθ, a·sinθ + b·cosθ)</c>; the conventions differ only in which channels form a
/// pair (<see cref="RopeConvention"/>). Channels <c>[r, headDim)</c> pass through unchanged. Angles are
/// computed in float64 and their cosine and sine rounded once to float32.
/// </remarks>
public static class Rope
{
    /// <summary>The default base, 10000.</summary>
    public const double DefaultBase = 10000.0;

    /// <summary>Writes <c>inv_freq[i] = base^(−2i/rotaryDim)</c> for <c>i = 0 … rotaryDim/2 − 1</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rotaryDim"/> is odd or not positive, or <paramref name="base"/> is not a finite number &gt; 1.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <c>rotaryDim/2</c>.</exception>
    public static void InverseFrequencies(int rotaryDim, double @base, Span<double> destination)
    {
        const string op = "rope.inv_freq";
        ValidateRotaryDim(op, rotaryDim);
        ValidateBase(op, @base);
        Guard.MinLength(op, destination.Length, rotaryDim / 2, "rotaryDim / 2 frequencies");
        InverseFrequenciesUnchecked(rotaryDim, @base, destination);
    }

    /// <summary>
    /// Static NTK-aware scaling: positions stay as they are and the base grows to
    /// <c>base' = base · α^(r/(r−2))</c>, which leaves the fastest frequency untouched and divides the
    /// slowest by exactly α.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rotaryDim"/> is odd or below 4, the base is invalid, or <paramref name="alpha"/> is not a finite number ≥ 1.</exception>
    public static double NtkAwareBase(double @base, int rotaryDim, double alpha)
    {
        const string op = "rope.ntk_aware";
        ValidateBase(op, @base);
        ValidateNtkDim(op, rotaryDim);
        ValidateFactor(op, alpha, nameof(alpha));
        return @base * Math.Pow(alpha, (double)rotaryDim / (rotaryDim - 2));
    }

    /// <summary>
    /// Dynamic NTK scaling (Hugging Face <c>rope_type="dynamic"</c>): for a current length
    /// <c>L &gt; L0</c> the base becomes <c>base · ((s·L/L0) − (s − 1))^(r/(r−2))</c>; for <c>L ≤ L0</c> it is
    /// unchanged.
    /// </summary>
    /// <param name="base">The model's base.</param>
    /// <param name="rotaryDim">The rotary width <c>r</c>.</param>
    /// <param name="factor">The scaling factor <c>s</c> (≥ 1).</param>
    /// <param name="originalMaxPositions">The trained context length <c>L0</c>.</param>
    /// <param name="sequenceLength">The current length <c>L</c> (positions seen so far, cache included).</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of its range (see each parameter).</exception>
    public static double DynamicNtkBase(double @base, int rotaryDim, double factor, int originalMaxPositions, int sequenceLength)
    {
        const string op = "rope.dynamic_ntk";
        ValidateBase(op, @base);
        ValidateNtkDim(op, rotaryDim);
        ValidateFactor(op, factor, nameof(factor));
        Guard.Positive(op, originalMaxPositions);
        Guard.NonNegative(op, sequenceLength);
        if (sequenceLength <= originalMaxPositions)
            return @base;
        double growth = factor * sequenceLength / originalMaxPositions - (factor - 1);
        return @base * Math.Pow(growth, (double)rotaryDim / (rotaryDim - 2));
    }

    /// <summary>
    /// YaRN frequencies (Peng et al. 2023, as in Hugging Face <c>rope_type="yarn"</c>): each frequency is a
    /// blend of the original one (extrapolation) and the one divided by <paramref name="factor"/>
    /// (interpolation), chosen by how many full turns it makes over the original context.
    /// </summary>
    /// <remarks>
    /// The dimension that makes <c>n</c> turns over <c>L0</c> positions is
    /// <c>dim(n) = r · ln(L0 / (2π·n)) / (2 ln base)</c>. With <c>lo = max(⌊dim(betaFast)⌋, 0)</c> and
    /// <c>hi = min(⌈dim(betaSlow)⌉, r − 1)</c> (<c>hi</c> nudged by 0.001 when equal to <c>lo</c>),
    /// <c>ramp[i] = clamp((i − lo)/(hi − lo), 0, 1)</c> and
    /// <c>inv_freq[i] = base^(−2i/r) · (ramp[i]/factor + (1 − ramp[i]))</c>: fast dimensions (below
    /// <c>lo</c>) keep their frequency, slow ones (above <c>hi</c>) are interpolated. Use
    /// <see cref="YarnAttentionFactor"/> to scale cos and sin.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range: rotaryDim odd or not positive, base ≤ 1, factor &lt; 1, originalMaxPositions ≤ 0, betas not finite and positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <c>rotaryDim/2</c>.</exception>
    public static void YarnInverseFrequencies(int rotaryDim, double @base, double factor, int originalMaxPositions,
        Span<double> destination, double betaFast = 32, double betaSlow = 1)
    {
        const string op = "rope.yarn";
        ValidateRotaryDim(op, rotaryDim);
        ValidateBase(op, @base);
        ValidateFactor(op, factor, nameof(factor));
        Guard.Positive(op, originalMaxPositions);
        Guard.PositiveFinite(op, betaFast);
        Guard.PositiveFinite(op, betaSlow);
        Guard.MinLength(op, destination.Length, rotaryDim / 2, "rotaryDim / 2 frequencies");

        double CorrectionDim(double turns) =>
            rotaryDim * Math.Log(originalMaxPositions / (turns * 2 * Math.PI)) / (2 * Math.Log(@base));
        double lo = Math.Max(Math.Floor(CorrectionDim(betaFast)), 0);
        double hi = Math.Min(Math.Ceiling(CorrectionDim(betaSlow)), rotaryDim - 1);
        if (hi == lo)
            hi += 0.001;
        InverseFrequenciesUnchecked(rotaryDim, @base, destination);
        for (int i = 0; i < rotaryDim / 2; i++)
        {
            double ramp = Math.Clamp((i - lo) / (hi - lo), 0, 1);
            destination[i] *= ramp / factor + (1 - ramp);
        }
    }

    /// <summary>
    /// YaRN's attention temperature, the factor by which cos and sin are scaled:
    /// <c>0.1 · ln(factor) + 1</c> for <c>factor &gt; 1</c>, else 1.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="factor"/> is not a finite number &gt; 0.</exception>
    public static double YarnAttentionFactor(double factor)
    {
        Guard.PositiveFinite("rope.yarn", factor);
        return factor <= 1 ? 1.0 : 0.1 * Math.Log(factor) + 1.0;
    }

    /// <summary>
    /// Applies the rotation: for every row <c>k</c> of the row-major block <c>x</c> of shape
    /// <c>[n, positions.Length, headDim]</c> (any leading batch/head dimensions flattened into <c>n</c>), the
    /// row at sequence slot <c>s</c> is rotated by angles <c>positions[s] · inverseFrequencies[i]</c>.
    /// </summary>
    /// <remarks>
    /// Effectively computes, for each pair <c>(a, b)</c> of the convention and
    /// <c>θ = positions[s]·inv_freq[i]</c>: <c>(a, b) → (m·(a·cosθ − b·sinθ), m·(a·sinθ + b·cosθ))</c> with
    /// <c>m = attentionScale</c>. The rotary width is <c>r = 2·inverseFrequencies.Length</c>; channels
    /// <c>[r, headDim)</c> are copied unchanged (not scaled). Positions are effective positions: divide
    /// by the linear-interpolation factor before calling. <paramref name="destination"/> may be the same
    /// span as <paramref name="x"/> (in place) but must not overlap it otherwise. NaN propagates.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The convention is unknown, <paramref name="headDim"/> is not positive, <c>r</c> exceeds it, a position is not finite, or <paramref name="attentionScale"/> is not finite.</exception>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not a whole number of <c>positions.Length × headDim</c> blocks, or <paramref name="destination"/> is shorter than <paramref name="x"/>.</exception>
    public static void Apply(ReadOnlySpan<float> x, int headDim, ReadOnlySpan<double> positions, ReadOnlySpan<double> inverseFrequencies,
        RopeConvention convention, Span<float> destination, float attentionScale = 1f)
    {
        const string op = "rope.apply";
        int half = ValidateApply(op, x, headDim, positions, inverseFrequencies, convention, destination, attentionScale);
        if (x.IsEmpty)
            return;
        int seq = positions.Length;
        int blocks = x.Length / (seq * headDim);

        // Cos/sin of each (slot, frequency), computed once in float64 and shared by every block.
        float[] cos = new float[seq * half];
        float[] sin = new float[seq * half];
        FillCosSin(positions, inverseFrequencies, attentionScale, cos, sin);

        float[] scratch = new float[3 * half];
        Span<float> a = scratch.AsSpan(0, half), b = scratch.AsSpan(half, half), t = scratch.AsSpan(2 * half, half);
        for (int blk = 0; blk < blocks; blk++)
        {
            for (int s = 0; s < seq; s++)
            {
                int rowStart = (blk * seq + s) * headDim;
                ReadOnlySpan<float> src = x.Slice(rowStart, headDim);
                Span<float> dst = destination.Slice(rowStart, headDim);
                ReadOnlySpan<float> c = cos.AsSpan(s * half, half), sn = sin.AsSpan(s * half, half);
                if (convention == RopeConvention.RotateHalf)
                {
                    // Lanes: a = x[0, r/2), b = x[r/2, r); both copied first so an in-place call reads the old values.
                    src.Slice(0, half).CopyTo(a);
                    src.Slice(half, half).CopyTo(b);
                    Span<float> lo = dst.Slice(0, half), hi = dst.Slice(half, half);
                    TensorPrimitives.Multiply(a, c, lo);
                    TensorPrimitives.Multiply(b, sn, t);
                    TensorPrimitives.Subtract(lo, t, lo);
                    TensorPrimitives.Multiply(b, c, hi);
                    TensorPrimitives.Multiply(a, sn, t);
                    TensorPrimitives.Add(hi, t, hi);
                }
                else
                {
                    for (int i = 0; i < half; i++)
                    {
                        float av = src[2 * i], bv = src[2 * i + 1];
                        dst[2 * i] = av * c[i] - bv * sn[i];
                        dst[2 * i + 1] = av * sn[i] + bv * c[i];
                    }
                }
                if (2 * half < headDim)
                    src.Slice(2 * half).CopyTo(dst.Slice(2 * half));
            }
        }
    }

    /// <summary>Plain scalar version of <see cref="Apply"/> (same rounding of cos and sin), for tests.</summary>
    internal static void ApplyReference(ReadOnlySpan<float> x, int headDim, ReadOnlySpan<double> positions, ReadOnlySpan<double> inverseFrequencies,
        RopeConvention convention, Span<float> destination, float attentionScale = 1f)
    {
        int half = inverseFrequencies.Length;
        int seq = positions.Length;
        if (x.IsEmpty)
            return;
        float[] row = new float[headDim];
        for (int start = 0; start < x.Length; start += headDim)
        {
            int s = start / headDim % seq;
            x.Slice(start, headDim).CopyTo(row);
            for (int i = 0; i < half; i++)
            {
                (double sd, double cd) = Math.SinCos(positions[s] * inverseFrequencies[i]);
                float c = (float)(cd * attentionScale), sn = (float)(sd * attentionScale);
                int ia = convention == RopeConvention.RotateHalf ? i : 2 * i;
                int ib = convention == RopeConvention.RotateHalf ? i + half : 2 * i + 1;
                float a = row[ia], b = row[ib];
                destination[start + ia] = a * c - b * sn;
                destination[start + ib] = a * sn + b * c;
            }
            for (int j = 2 * half; j < headDim; j++)
                destination[start + j] = row[j];
        }
    }

    internal static void FillCosSin(ReadOnlySpan<double> positions, ReadOnlySpan<double> inverseFrequencies, float attentionScale,
        Span<float> cos, Span<float> sin)
    {
        int half = inverseFrequencies.Length;
        for (int s = 0; s < positions.Length; s++)
        {
            for (int i = 0; i < half; i++)
            {
                (double sd, double cd) = Math.SinCos(positions[s] * inverseFrequencies[i]);
                cos[s * half + i] = (float)(cd * attentionScale);
                sin[s * half + i] = (float)(sd * attentionScale);
            }
        }
    }

    internal static void InverseFrequenciesUnchecked(int rotaryDim, double @base, Span<double> destination)
    {
        double logBase = Math.Log(@base);
        for (int i = 0; i < rotaryDim / 2; i++)
            destination[i] = Math.Exp(-(2.0 * i / rotaryDim) * logBase);
    }

    private static int ValidateApply(string op, ReadOnlySpan<float> x, int headDim, ReadOnlySpan<double> positions,
        ReadOnlySpan<double> inverseFrequencies, RopeConvention convention, Span<float> destination, float attentionScale)
    {
        if (!Enum.IsDefined(convention))
            ThrowHelper.ArgumentOutOfRange(op, nameof(convention), convention, $"convention {convention} is unknown; valid values are RotateHalf, Interleaved");
        Guard.Positive(op, headDim);
        int half = inverseFrequencies.Length;
        if (2L * half > headDim)
            ThrowHelper.ArgumentOutOfRange(op, nameof(inverseFrequencies), half,
                $"{half} inverse frequencies rotate {2L * half} channels but headDim is {headDim}; valid counts are 0..{headDim / 2}");
        if (!float.IsFinite(attentionScale))
            ThrowHelper.ArgumentOutOfRange(op, nameof(attentionScale), attentionScale, $"attentionScale must be finite but was {attentionScale}");
        for (int s = 0; s < positions.Length; s++)
            if (!double.IsFinite(positions[s]))
                ThrowHelper.ArgumentOutOfRange(op, nameof(positions), positions[s], $"positions[{s}] = {positions[s]} is not finite");
        long block = (long)positions.Length * headDim;
        if (block == 0 ? !x.IsEmpty : x.Length % block != 0)
            ThrowHelper.Argument(op, nameof(x),
                $"x has {x.Length} elements, not a whole number of [positions.Length = {positions.Length}, headDim = {headDim}] blocks");
        Guard.MinLength(op, destination.Length, x.Length, "as many elements as x");
        return half;
    }

    internal static void ValidateRotaryDim(string op, int rotaryDim)
    {
        if (rotaryDim <= 0 || (rotaryDim & 1) != 0)
            ThrowHelper.ArgumentOutOfRange(op, nameof(rotaryDim), rotaryDim, $"rotaryDim {rotaryDim} is invalid; it must be even and > 0");
    }

    internal static void ValidateNtkDim(string op, int rotaryDim)
    {
        if (rotaryDim < 4 || (rotaryDim & 1) != 0)
            ThrowHelper.ArgumentOutOfRange(op, nameof(rotaryDim), rotaryDim, $"rotaryDim {rotaryDim} is invalid for NTK scaling; it must be even and ≥ 4 (the exponent is r/(r−2))");
    }

    internal static void ValidateBase(string op, double @base)
    {
        if (!(@base > 1) || double.IsInfinity(@base))
            ThrowHelper.ArgumentOutOfRange(op, nameof(@base), @base, $"base {@base} is invalid; it must be a finite number > 1");
    }

    internal static void ValidateFactor(string op, double factor, string name)
    {
        if (!(factor >= 1) || double.IsInfinity(factor))
            ThrowHelper.ArgumentOutOfRange(op, name, factor, $"{name} {factor} is invalid; it must be a finite number ≥ 1");
    }
}
