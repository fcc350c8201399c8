using EmbedSharp.Diagnostics;

namespace EmbedSharp.Positional;

/// <summary>How RoPE stretches to contexts longer than the one it was trained on.</summary>
public enum RopeScaling
{
    /// <summary>Plain RoPE.</summary>
    None = 0,

    /// <summary>Linear position interpolation (Chen et al. 2023; HF <c>"linear"</c>): <c>p_eff = p / factor</c>.</summary>
    Linear = 1,

    /// <summary>Static NTK-aware: <c>base' = base · factor^(r/(r−2))</c>, positions unchanged.</summary>
    NtkAware = 2,

    /// <summary>Dynamic NTK (HF <c>"dynamic"</c>): the NTK base grows with the current length once it passes <see cref="RopeOptions.OriginalMaxPositions"/>.</summary>
    DynamicNtk = 3,

    /// <summary>YaRN (HF <c>"yarn"</c>): per-frequency blend of interpolation and extrapolation plus an attention temperature.</summary>
    Yarn = 4,
}

/// <summary>Configuration of a <see cref="RotaryEmbedding"/>.</summary>
public sealed record RopeOptions
{
    /// <summary>Rotary width <c>r</c> (GPT-J <c>rotary_dim</c>); null means the whole head. Must be even.</summary>
    public int? RotaryDim { get; init; }

    /// <summary>Frequency base (10000; Llama 3 uses 500000).</summary>
    public double Base { get; init; } = Rope.DefaultBase;

    /// <summary>Channel pairing; <see cref="RopeConvention.Interleaved"/> is MLX's <c>traditional=True</c>.</summary>
    public RopeConvention Convention { get; init; } = RopeConvention.RotateHalf;

    /// <summary>Context-extension method.</summary>
    public RopeScaling Scaling { get; init; } = RopeScaling.None;

    /// <summary>The scaling factor: the interpolation divisor (Linear), α (NtkAware), <c>s</c> (DynamicNtk, Yarn). Must be ≥ 1.</summary>
    public double Factor { get; init; } = 1.0;

    /// <summary>Trained context length <c>L0</c>, required by DynamicNtk and Yarn.</summary>
    public int OriginalMaxPositions { get; init; }

    /// <summary>YaRN: turns over <c>L0</c> above which a frequency is kept as is (32).</summary>
    public double BetaFast { get; init; } = 32;

    /// <summary>YaRN: turns over <c>L0</c> below which a frequency is fully interpolated (1).</summary>
    public double BetaSlow { get; init; } = 1;

    /// <summary>YaRN: factor on cos and sin; null means <see cref="Rope.YarnAttentionFactor"/> of <see cref="Factor"/>.</summary>
    public double? AttentionFactor { get; init; }
}

/// <summary>
/// A RoPE layer for heads of width <see cref="HeadDim"/>: precomputes its inverse frequencies from
/// <see cref="RopeOptions"/> and rotates query/key blocks in place.
/// </summary>
/// <remarks>
/// See <see cref="Rope"/> for the formulas. Blocks are row-major <c>[n, seq, headDim]</c> (for example
/// Hugging Face's <c>[batch, heads, seq, headDim]</c> flattened). Dynamic NTK recomputes the base
/// from the sequence length each call (the cache length plus the new positions), as Hugging Face does.
/// </remarks>
public sealed class RotaryEmbedding
{
    private readonly double[] _inverseFrequencies;

    /// <summary>Creates the layer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The head or rotary width, base, factor, scaling or original length is invalid.</exception>
    public RotaryEmbedding(int headDim, RopeOptions? options = null)
    {
        const string op = "rope.create";
        options ??= new RopeOptions();
        Guard.Positive(op, headDim);
        int rotaryDim = options.RotaryDim ?? headDim;
        Rope.ValidateRotaryDim(op, rotaryDim);
        if (rotaryDim > headDim)
            ThrowHelper.ArgumentOutOfRange(op, nameof(options.RotaryDim), rotaryDim, $"rotaryDim {rotaryDim} exceeds headDim {headDim}; valid values are even numbers 2..{headDim}");
        Rope.ValidateBase(op, options.Base);
        if (!Enum.IsDefined(options.Convention))
            ThrowHelper.ArgumentOutOfRange(op, nameof(options.Convention), options.Convention, "convention is unknown; valid values are RotateHalf, Interleaved");
        if (!Enum.IsDefined(options.Scaling))
            ThrowHelper.ArgumentOutOfRange(op, nameof(options.Scaling), options.Scaling, "scaling is unknown; valid values are None, Linear, NtkAware, DynamicNtk, Yarn");
        Rope.ValidateFactor(op, options.Factor, nameof(options.Factor));
        if (options.Scaling is RopeScaling.DynamicNtk or RopeScaling.Yarn && options.OriginalMaxPositions <= 0)
            ThrowHelper.ArgumentOutOfRange(op, nameof(options.OriginalMaxPositions), options.OriginalMaxPositions,
                $"{options.Scaling} scaling needs OriginalMaxPositions > 0 (the trained context length) but it was {options.OriginalMaxPositions}");
        if (options.AttentionFactor is double af && (!(af > 0) || double.IsInfinity(af)))
            ThrowHelper.ArgumentOutOfRange(op, nameof(options.AttentionFactor), af, $"AttentionFactor must be a finite number > 0 but was {af}");

        HeadDim = headDim;
        RotaryDim = rotaryDim;
        Options = options;
        _inverseFrequencies = new double[rotaryDim / 2];
        switch (options.Scaling)
        {
            case RopeScaling.NtkAware:
                Rope.InverseFrequencies(rotaryDim, Rope.NtkAwareBase(options.Base, rotaryDim, options.Factor), _inverseFrequencies);
                break;
            case RopeScaling.Yarn:
                Rope.YarnInverseFrequencies(rotaryDim, options.Base, options.Factor, options.OriginalMaxPositions, _inverseFrequencies,
                    options.BetaFast, options.BetaSlow);
                AttentionScale = options.AttentionFactor ?? Rope.YarnAttentionFactor(options.Factor);
                break;
            default:
                Rope.InverseFrequencies(rotaryDim, options.Base, _inverseFrequencies);
                break;
        }
    }

    /// <summary>Width of each head.</summary>
    public int HeadDim { get; }

    /// <summary>Number of leading channels that rotate.</summary>
    public int RotaryDim { get; }

    /// <summary>The options the layer was built with.</summary>
    public RopeOptions Options { get; }

    /// <summary>Factor on cos and sin (YaRN's temperature; 1 otherwise).</summary>
    public double AttentionScale { get; } = 1.0;

    /// <summary>The inverse frequencies in use (for Dynamic NTK, those at lengths up to <see cref="RopeOptions.OriginalMaxPositions"/>).</summary>
    public ReadOnlySpan<double> InverseFrequencies => _inverseFrequencies;

    /// <summary>
    /// Rotates <paramref name="x"/> (<c>[n, seqLength, HeadDim]</c>) in place for positions
    /// <c>offset, offset + 1, …, offset + seqLength − 1</c> (a KV cache continues at <paramref name="offset"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="offset"/> or <paramref name="seqLength"/> is negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not a whole number of <c>seqLength × HeadDim</c> blocks.</exception>
    public void Apply(Span<float> x, int seqLength, int offset = 0)
    {
        const string op = "rope.apply";
        Guard.NonNegative(op, seqLength);
        Guard.NonNegative(op, offset);
        double[] positions = new double[seqLength];
        for (int s = 0; s < seqLength; s++)
            positions[s] = (double)offset + s;
        ApplyCore(x, positions, (long)offset + seqLength);
    }

    /// <summary>
    /// Rotates <paramref name="x"/> (<c>[n, positions.Length, HeadDim]</c>) in place at the given raw
    /// positions; scaling (linear division, NTK bases, YaRN) is applied here. Dynamic NTK takes the
    /// current length as <c>max(positions) + 1</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A position is negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not a whole number of <c>positions.Length × HeadDim</c> blocks.</exception>
    public void Apply(Span<float> x, ReadOnlySpan<int> positions)
    {
        const string op = "rope.apply";
        double[] p = new double[positions.Length];
        long length = 0;
        for (int s = 0; s < positions.Length; s++)
        {
            if (positions[s] < 0)
                ThrowHelper.ArgumentOutOfRange(op, nameof(positions), positions[s], $"positions[{s}] = {positions[s]} is negative; positions must be ≥ 0");
            p[s] = positions[s];
            length = Math.Max(length, positions[s] + 1L);
        }
        ApplyCore(x, p, length);
    }

    private void ApplyCore(Span<float> x, double[] positions, long sequenceLength)
    {
        ReadOnlySpan<double> invFreq = _inverseFrequencies;
        if (Options.Scaling == RopeScaling.Linear)
        {
            for (int s = 0; s < positions.Length; s++)
                positions[s] /= Options.Factor;
        }
        else if (Options.Scaling == RopeScaling.DynamicNtk && sequenceLength > Options.OriginalMaxPositions)
        {
            int length = (int)Math.Min(sequenceLength, int.MaxValue);
            double dynBase = Rope.DynamicNtkBase(Options.Base, RotaryDim, Options.Factor, Options.OriginalMaxPositions, length);
            double[] scaled = new double[RotaryDim / 2];
            Rope.InverseFrequencies(RotaryDim, dynBase, scaled);
            invFreq = scaled;
        }
        Rope.Apply(x, HeadDim, positions, invFreq, Options.Convention, x, (float)AttentionScale);
    }
}
