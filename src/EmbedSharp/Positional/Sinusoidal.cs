using EmbedSharp.Diagnostics;

namespace EmbedSharp.Positional;

/// <summary>
/// Channel layouts and frequency schedules of the fixed sinusoidal position encoding. The labels
/// follow <c>torch-embedding-semantics.md</c> §5.
/// </summary>
public enum SinusoidalLayout
{
    /// <summary>
    /// The paper's layout (Vaswani et al. 2017, §3.5; the PyTorch tutorial):
    /// <c>PE[p, 2i] = sin(p·w_i)</c>, <c>PE[p, 2i+1] = cos(p·w_i)</c>, <c>w_i = base^(−2i/d)</c>.
    /// </summary>
    Interleaved = 0,

    /// <summary>Same frequencies; the first <c>d/2</c> channels are the sines, the last <c>d/2</c> the cosines.</summary>
    ConcatHalves = 1,

    /// <summary>
    /// tensor2tensor <c>get_timing_signal_1d</c> and fairseq: sines then cosines, with
    /// <c>w_i = base^(−i/(d/2 − 1))</c> so the slowest frequency is exactly <c>1/base</c>.
    /// </summary>
    ConcatHalvesT2T = 2,
}

/// <summary>
/// Fixed sinusoidal position encodings as pure span functions. Angles are formed and evaluated in
/// float64 and rounded once to float32, so far positions (p ≈ 4000) keep full float32 accuracy
/// instead of drifting by <c>p·6e−8</c> rad as a float32 <c>p·w</c> would.
/// </summary>
public static class Sinusoidal
{
    /// <summary>The default base, 10000.</summary>
    public const double DefaultBase = 10000.0;

    /// <summary>
    /// Writes the <c>d/2</c> angular frequencies <c>w_i</c> of <paramref name="layout"/>.
    /// </summary>
    /// <remarks>
    /// <c>Interleaved</c> and <c>ConcatHalves</c>: <c>w_i = exp(−(2i/d)·ln base)</c>.
    /// <c>ConcatHalvesT2T</c>: <c>w_i = exp(−(i/(d/2−1))·ln base)</c>; for <c>d = 2</c> (one frequency,
    /// where tensor2tensor would divide by zero) the single frequency is 1.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dims"/> is odd or negative, the base is not a finite number &gt; 1, or the layout is unknown.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <c>dims/2</c>.</exception>
    public static void Frequencies(int dims, SinusoidalLayout layout, Span<double> destination, double @base = DefaultBase)
    {
        const string op = "sinusoidal.frequencies";
        Validate(op, dims, layout, @base);
        Guard.MinLength(op, destination.Length, dims / 2, "dims / 2 frequencies");
        FrequenciesUnchecked(dims, layout, @base, destination);
    }

    /// <summary>
    /// Writes the encoding of each position: <c>destination[k, :] = PE[positions[k], :]</c>, a row-major
    /// <c>positions.Length × dims</c> block.
    /// </summary>
    /// <remarks>
    /// Position 0 gives <c>[0, 1, 0, 1, …]</c> (interleaved) or <c>[0, …, 0, 1, …, 1]</c> (the
    /// concatenated layouts). Positions are used as given (fairseq's <c>padding_idx + 1</c> shift is
    /// the caller's choice). Negative positions are allowed and give <c>sin(−x) = −sin x</c>.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dims"/> is odd or negative, the base is invalid, or the layout is unknown.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <c>positions.Length · dims</c>.</exception>
    public static void Encode(ReadOnlySpan<int> positions, int dims, SinusoidalLayout layout, Span<float> destination,
        double @base = DefaultBase)
    {
        const string op = "sinusoidal.encode";
        Validate(op, dims, layout, @base);
        Guard.MinLength(op, destination.Length, (long)positions.Length * dims, "positions.Length × dims");
        int half = dims / 2;
        double[] freq = new double[half];
        FrequenciesUnchecked(dims, layout, @base, freq);
        for (int k = 0; k < positions.Length; k++)
            EncodeRow(positions[k], freq, layout, destination.Slice(k * dims, dims));
    }

    /// <summary>
    /// Adds the encoding in place: <c>x[k, :] += PE[positions[k], :]</c> for a row-major
    /// <c>positions.Length × dims</c> block <paramref name="x"/> (for example token embeddings).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dims"/> is odd or negative, the base is invalid, or the layout is unknown.</exception>
    /// <exception cref="ArgumentException"><paramref name="x"/> is shorter than <c>positions.Length · dims</c>.</exception>
    public static void AddTo(Span<float> x, ReadOnlySpan<int> positions, int dims, SinusoidalLayout layout, double @base = DefaultBase)
    {
        const string op = "sinusoidal.add";
        Validate(op, dims, layout, @base);
        Guard.MinLength(op, x.Length, (long)positions.Length * dims, "positions.Length × dims");
        int half = dims / 2;
        double[] freq = new double[half];
        FrequenciesUnchecked(dims, layout, @base, freq);
        float[] row = new float[dims];
        for (int k = 0; k < positions.Length; k++)
        {
            EncodeRow(positions[k], freq, layout, row);
            System.Numerics.Tensors.TensorPrimitives.Add(x.Slice(k * dims, dims), row, x.Slice(k * dims, dims));
        }
    }

    internal static void EncodeRow(long position, ReadOnlySpan<double> freq, SinusoidalLayout layout, Span<float> row)
    {
        int half = freq.Length;
        for (int i = 0; i < half; i++)
        {
            double angle = position * freq[i];
            (double s, double c) = Math.SinCos(angle);
            if (layout == SinusoidalLayout.Interleaved)
            {
                row[2 * i] = (float)s;
                row[2 * i + 1] = (float)c;
            }
            else
            {
                row[i] = (float)s;
                row[half + i] = (float)c;
            }
        }
    }

    internal static void FrequenciesUnchecked(int dims, SinusoidalLayout layout, double @base, Span<double> destination)
    {
        int half = dims / 2;
        double logBase = Math.Log(@base);
        for (int i = 0; i < half; i++)
        {
            double exponent = layout == SinusoidalLayout.ConcatHalvesT2T
                ? (half > 1 ? (double)i / (half - 1) : 0.0)
                : 2.0 * i / dims;
            destination[i] = Math.Exp(-exponent * logBase);
        }
    }

    internal static void Validate(string op, int dims, SinusoidalLayout layout, double @base)
    {
        Guard.NonNegative(op, dims);
        if ((dims & 1) != 0)
            ThrowHelper.ArgumentOutOfRange(op, nameof(dims), dims, $"dims {dims} is odd; sinusoidal encodings pair a sine with a cosine, so dims must be even");
        if (!Enum.IsDefined(layout))
            ThrowHelper.ArgumentOutOfRange(op, nameof(layout), layout, $"layout {layout} is unknown; valid values are Interleaved, ConcatHalves, ConcatHalvesT2T");
        if (!(@base > 1) || double.IsInfinity(@base))
            ThrowHelper.ArgumentOutOfRange(op, nameof(@base), @base, $"base {@base} is invalid; it must be a finite number > 1");
    }
}
