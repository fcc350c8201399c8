using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Models.Dense;

/// <summary>
/// Inverted dropout: while training each value is zeroed with probability <see cref="P"/> and the
/// rest are scaled by <c>1/(1 − P)</c>, so evaluation is the identity. The mask comes from a seeded
/// stream, so a run is repeatable.
/// </summary>
public sealed class Dropout : Layer
{
    private readonly SeededRandom _random;
    private float[]? _mask;
    private bool _lastTraining;

    /// <summary>Creates the layer.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> outside [0, 1).</exception>
    public Dropout(int features, float p, ulong seed = 0)
    {
        const string op = "dropout.create";
        Guard.NonNegative(op, features);
        if (!(p >= 0 && p < 1))
            ThrowHelper.ArgumentOutOfRange(op, nameof(p), p, $"p must be in [0, 1) but was {p}");
        Features = features;
        P = p;
        _random = new SeededRandom(seed);
    }

    /// <summary>Row width.</summary>
    public int Features { get; }

    /// <summary>Probability of zeroing a value while training.</summary>
    public float P { get; }

    /// <inheritdoc/>
    public override int InFeatures => Features;

    /// <inheritdoc/>
    public override int OutFeatures => Features;

    /// <inheritdoc/>
    protected override string OpName => "dropout";

    /// <inheritdoc/>
    protected internal override void ForwardCore(ReadOnlySpan<float> input, int batch, Span<float> output, bool training)
    {
        _lastTraining = training && P > 0;
        if (!_lastTraining)
        {
            input.CopyTo(output);
            return;
        }
        float[] mask = Ensure(ref _mask, input.Length);
        float keep = 1 / (1 - P);
        for (int i = 0; i < input.Length; i++)
        {
            mask[i] = _random.NextSingle() >= P ? keep : 0f;
            output[i] = input[i] * mask[i];
        }
    }

    /// <inheritdoc/>
    protected internal override void BackwardCore(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, int batch, Span<float> gradInput)
    {
        if (gradInput.IsEmpty)
            return;
        if (!_lastTraining)
        {
            gradOutput.CopyTo(gradInput);
            return;
        }
        for (int i = 0; i < gradInput.Length; i++)
            gradInput[i] = gradOutput[i] * _mask![i];
    }
}
