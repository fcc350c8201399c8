using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Models.Dense;

/// <summary>
/// A fully connected layer with PyTorch's weight layout: <c>output = input · Wᵀ + bias</c>, W being
/// <c>[OutFeatures, InFeatures]</c> row-major.
/// </summary>
/// <remarks>
/// <para>All three products run on core's blocked GEMM (<c>C = A·Bᵀ</c>): forward is
/// <c>Y = X·Wᵀ</c> directly; <c>∂X = ∂Y·W</c> multiplies by a transposed copy of W; <c>∂W += ∂Yᵀ·X</c>
/// multiplies transposed copies of ∂Y and X (copies are O(batch·width), the products O(batch·in·out)).
/// Scratch buffers grow to the largest batch seen and are reused, so a step allocates nothing.</para>
/// <para>GEMM splits output columns across threads and each element is summed by one thread in a fixed
/// order, so results do not depend on <see cref="Threads"/>. NaN and infinities propagate.</para>
/// </remarks>
public sealed class Linear : Layer
{
    private readonly Parameter[] _parameters;
    private float[]? _transposedWeight, _transposedGrad, _transposedInput, _weightGrad;

    /// <summary>Creates the layer and initialises it by <paramref name="init"/> from <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    public Linear(int inFeatures, int outFeatures, bool bias = true, LinearInit init = LinearInit.PyTorch, ulong seed = 0)
    {
        const string op = "linear.create";
        Guard.NonNegative(op, inFeatures);
        Guard.NonNegative(op, outFeatures);
        if (!Enum.IsDefined(init))
            ThrowHelper.ArgumentOutOfRange(op, nameof(init), init, $"init {init} is unknown; valid values are {string.Join(", ", Enum.GetNames<LinearInit>())}");
        In = inFeatures;
        Out = outFeatures;
        Weight = new Parameter("weight", checked(inFeatures * outFeatures));
        Bias = bias ? new Parameter("bias", outFeatures) : null;
        _parameters = Bias is null ? [Weight] : [Weight, Bias];
        Init = init;
        Reset(seed);
    }

    private int In { get; }

    private int Out { get; }

    /// <inheritdoc/>
    public override int InFeatures => In;

    /// <inheritdoc/>
    public override int OutFeatures => Out;

    /// <summary><c>[OutFeatures, InFeatures]</c> row-major.</summary>
    public Parameter Weight { get; }

    /// <summary><c>[OutFeatures]</c>, or null without bias.</summary>
    public Parameter? Bias { get; }

    /// <summary>The initialisation rule.</summary>
    public LinearInit Init { get; }

    /// <summary>Worker threads for the products (default: the processor count). Results do not depend on it.</summary>
    public int Threads { get; set; } = Environment.ProcessorCount;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter> Parameters => _parameters;

    /// <inheritdoc/>
    protected override string OpName => "linear";

    /// <summary>Re-initialises weight and bias from <paramref name="seed"/> (same seed, same values).</summary>
    public void Reset(ulong seed)
    {
        var rng = new SeededRandom(seed);
        double fanIn = Math.Max(In, 1), fanOut = Math.Max(Out, 1);
        float[] w = Weight.Value;
        switch (Init)
        {
            case LinearInit.PyTorch:
                Uniform(w, 1 / Math.Sqrt(fanIn), rng);
                break;
            case LinearInit.XavierUniform:
                Uniform(w, Math.Sqrt(6 / (fanIn + fanOut)), rng);
                break;
            case LinearInit.XavierNormal:
                Normal(w, Math.Sqrt(2 / (fanIn + fanOut)), rng);
                break;
            case LinearInit.HeUniform:
                Uniform(w, Math.Sqrt(6 / fanIn), rng);
                break;
            case LinearInit.HeNormal:
                Normal(w, Math.Sqrt(2 / fanIn), rng);
                break;
        }
        if (Bias is not null)
        {
            if (Init == LinearInit.PyTorch)
                Uniform(Bias.Value, 1 / Math.Sqrt(fanIn), rng);
            else
                Array.Clear(Bias.Value);
        }
    }

    private static void Uniform(float[] values, double bound, SeededRandom rng)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)((2 * rng.NextDouble() - 1) * bound);
    }

    private static void Normal(float[] values, double std, SeededRandom rng)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(rng.NextNormal() * std);
    }

    /// <inheritdoc/>
    protected internal override unsafe void ForwardCore(ReadOnlySpan<float> input, int batch, Span<float> output, bool training)
    {
        if (batch == 0 || Out == 0)
            return;
        fixed (float* x = input)
        fixed (float* w = Weight.Value)
        fixed (float* y = output)
            Gemm.MultiplyTransposed(x, batch, In, w, Out, y, Out, Threads);
        if (Bias is not null)
        {
            ReadOnlySpan<float> b = Bias.Value;
            for (int r = 0; r < batch; r++)
            {
                Span<float> row = output.Slice(r * Out, Out);
                TensorPrimitives.Add(row, b, row);
            }
        }
    }

    /// <inheritdoc/>
    protected internal override unsafe void BackwardCore(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, int batch, Span<float> gradInput)
    {
        if (batch == 0)
            return;
        if (Out == 0)
        {
            gradInput.Clear();
            return;
        }
        if (Bias is not null)
        {
            Span<float> gb = Bias.Grad;
            for (int r = 0; r < batch; r++)
                TensorPrimitives.Add(gb, gradOutput.Slice(r * Out, Out), gb);
        }
        if (In > 0)
        {
            // ∂W[o, i] += Σ_b ∂Y[b, o] · X[b, i] = (∂Yᵀ) · (Xᵀ)ᵀ: both operands transposed so the batch is the reduction.
            float[] gt = Ensure(ref _transposedGrad, (long)batch * Out);
            float[] xt = Ensure(ref _transposedInput, (long)batch * In);
            float[] gw = Ensure(ref _weightGrad, (long)In * Out);
            DenseMath.Transpose(gradOutput, batch, Out, gt);
            DenseMath.Transpose(input, batch, In, xt);
            fixed (float* a = gt)
            fixed (float* b = xt)
            fixed (float* c = gw)
                Gemm.MultiplyTransposed(a, Out, batch, b, In, c, In, Threads);
            Span<float> weightGrad = Weight.Grad;
            TensorPrimitives.Add(weightGrad, gw.AsSpan(0, weightGrad.Length), weightGrad);
        }
        if (!gradInput.IsEmpty && In > 0)
        {
            // ∂X = ∂Y · W = ∂Y · (Wᵀ)ᵀ.
            float[] wt = Ensure(ref _transposedWeight, (long)In * Out);
            DenseMath.Transpose(Weight.Value, Out, In, wt);
            fixed (float* a = gradOutput)
            fixed (float* b = wt)
            fixed (float* c = gradInput)
                Gemm.MultiplyTransposed(a, batch, Out, b, In, c, In, Threads);
        }
    }
}
