using EmbedSharp.Diagnostics;

namespace EmbedSharp.Models.Dense;

/// <summary>
/// One step of a small, explicit module chain (not an autograd): a batch-major map from
/// <c>[batch, InFeatures]</c> to <c>[batch, OutFeatures]</c>, both row-major, with a hand-derived backward pass.
/// </summary>
/// <remarks>
/// <para>The caller owns the activations: <see cref="Backward"/> is given the same input and output
/// spans the matching <see cref="Forward"/> read and wrote, so a layer keeps only what it cannot
/// recompute cheaply (a dropout mask, layer-norm statistics). Call <see cref="Backward"/> right after the
/// forward pass it belongs to, before the next forward.</para>
/// <para>Backward adds the parameter gradients to each <see cref="Parameter.Grad"/> (zero them with the
/// optimizer between steps) and writes — overwrites — <c>gradInput</c>; pass an empty span to skip it
/// (the first layer of a network). A layer instance is not safe to use from two threads at once.</para>
/// </remarks>
public abstract class Layer
{
    /// <summary>Width of one input row.</summary>
    public abstract int InFeatures { get; }

    /// <summary>Width of one output row.</summary>
    public abstract int OutFeatures { get; }

    /// <summary>The trainable parameters, in a fixed order (empty for activations).</summary>
    public virtual IReadOnlyList<Parameter> Parameters => [];

    /// <summary>Computes <c>output = f(input)</c> for <paramref name="batch"/> rows.</summary>
    /// <param name="input"><c>[batch, InFeatures]</c>.</param>
    /// <param name="batch">Number of rows (≥ 0).</param>
    /// <param name="output"><c>[batch, OutFeatures]</c>, written.</param>
    /// <param name="training">Whether dropout is active (other layers ignore it).</param>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    public void Forward(ReadOnlySpan<float> input, int batch, Span<float> output, bool training = false)
    {
        string op = $"{OpName}.forward";
        Guard.NonNegative(op, batch);
        Guard.Length(op, input.Length, (long)batch * InFeatures, $"batch × InFeatures = {batch} × {InFeatures}");
        Guard.Length(op, output.Length, (long)batch * OutFeatures, $"batch × OutFeatures = {batch} × {OutFeatures}");
        ForwardCore(input, batch, output, training);
    }

    /// <summary>
    /// Adds the parameter gradients for upstream gradient <paramref name="gradOutput"/> and writes
    /// <c>∂loss/∂input</c> into <paramref name="gradInput"/> (skipped when empty).
    /// </summary>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    public void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, int batch, Span<float> gradInput)
    {
        string op = $"{OpName}.backward";
        Guard.NonNegative(op, batch);
        Guard.Length(op, input.Length, (long)batch * InFeatures, $"batch × InFeatures = {batch} × {InFeatures}");
        Guard.Length(op, output.Length, (long)batch * OutFeatures, $"batch × OutFeatures = {batch} × {OutFeatures}");
        Guard.Length(op, gradOutput.Length, (long)batch * OutFeatures, $"batch × OutFeatures = {batch} × {OutFeatures}");
        if (!gradInput.IsEmpty)
            Guard.Length(op, gradInput.Length, (long)batch * InFeatures, $"batch × InFeatures = {batch} × {InFeatures}, or empty to skip");
        BackwardCore(input, output, gradOutput, batch, gradInput);
    }

    /// <summary>The op name used in messages, e.g. <c>linear</c>.</summary>
    protected abstract string OpName { get; }

    /// <summary>Forward pass on validated spans.</summary>
    protected internal abstract void ForwardCore(ReadOnlySpan<float> input, int batch, Span<float> output, bool training);

    /// <summary>Backward pass on validated spans.</summary>
    protected internal abstract void BackwardCore(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, int batch, Span<float> gradInput);

    /// <summary>Grows <paramref name="buffer"/> to at least <paramref name="length"/> elements (never shrinks).</summary>
    private protected static float[] Ensure(ref float[]? buffer, long length)
    {
        if (buffer is null || buffer.Length < length)
            buffer = new float[Math.Max(length, 1)];
        return buffer;
    }
}
