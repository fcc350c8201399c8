using EmbedSharp.Diagnostics;

namespace EmbedSharp.Models.Dense;

/// <summary>
/// A dense trainable tensor stored flat in row-major order, with a gradient of the same length that
/// backward passes add to (PyTorch's accumulate-then-zero convention).
/// </summary>
public sealed class Parameter
{
    /// <summary>Creates a zero parameter of <paramref name="length"/> elements.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative.</exception>
    public Parameter(string name, int length)
    {
        Guard.NotNull("parameter.create", name);
        Guard.NonNegative("parameter.create", length);
        Name = name;
        Value = new float[length];
        Grad = new float[length];
    }

    /// <summary>A name for messages and exports, e.g. <c>fc1.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The values; layers read them on every forward pass, optimizers write them.</summary>
    public float[] Value { get; }

    /// <summary>The accumulated gradient of the loss with respect to <see cref="Value"/>.</summary>
    public float[] Grad { get; }

    /// <summary>Number of elements.</summary>
    public int Length => Value.Length;

    /// <summary>Sets <see cref="Grad"/> to zero.</summary>
    public void ZeroGrad() => Array.Clear(Grad);
}
