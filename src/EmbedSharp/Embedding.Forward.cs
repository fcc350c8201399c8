using System.Buffers;
using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp;

public sealed partial class Embedding
{
    /// <summary>
    /// Looks up <paramref name="indices"/> into <paramref name="destination"/>:
    /// <c>destination[i·Dims .. (i+1)·Dims) = Scale · Weight[indices[i]]</c>.
    /// </summary>
    /// <remarks>
    /// With <see cref="MaxNorm"/> set, each distinct looked-up row whose norm exceeds it is first
    /// rescaled in place by <c>MaxNorm / (norm + 1e-7)</c> (PyTorch's <c>embedding_renorm_</c>).
    /// All indices are validated before anything is read or written.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside <c>[0, NumEmbeddings)</c>; the message gives its position.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <c>indices.Length · Dims</c>.</exception>
    public void Forward(ReadOnlySpan<int> indices, Span<float> destination) =>
        ForwardCore("embedding.forward", indices, destination, default);

    /// <summary>As <see cref="Forward(ReadOnlySpan{int}, Span{float})"/> for int64 ids, each mapped to its row through <see cref="Remap"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id has no slot in the remap, or its slot is outside <c>[0, NumEmbeddings)</c>.</exception>
    public void Forward(ReadOnlySpan<long> indices, Span<float> destination)
    {
        const string op = "embedding.forward";
        int[] narrowed = NarrowIndices(op, indices, default);
        ForwardCore(op, narrowed, destination, default);
    }

    /// <summary>Looks up an index tensor of any rank; the result has shape <c>[..indices.Lengths, Dims]</c>.</summary>
    public Tensor<float> Forward(ReadOnlyTensorSpan<int> indices)
    {
        const string op = "embedding.forward";
        int[] flat = Flatten(indices);
        float[] output = NewOutput(flat.LongLength);
        ForwardCore(op, flat, output, indices.Lengths);
        return Tensor.Create(output, OutputShape(indices.Lengths));
    }

    /// <summary>Looks up an int64 index tensor of any rank; the result has shape <c>[..indices.Lengths, Dims]</c>.</summary>
    public Tensor<float> Forward(ReadOnlyTensorSpan<long> indices)
    {
        const string op = "embedding.forward";
        var flat = new long[indices.FlattenedLength];
        indices.FlattenTo(flat);
        int[] narrowed = NarrowIndices(op, flat, indices.Lengths);
        float[] output = NewOutput(narrowed.LongLength);
        ForwardCore(op, narrowed, output, indices.Lengths);
        return Tensor.Create(output, OutputShape(indices.Lengths));
    }

    /// <summary>Looks up an index tensor of any rank (see <see cref="Forward(ReadOnlyTensorSpan{int})"/>).</summary>
    public Tensor<float> Forward(Tensor<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return Forward(indices.AsReadOnlyTensorSpan());
    }

    /// <summary>Looks up an int64 index tensor of any rank.</summary>
    public Tensor<float> Forward(Tensor<long> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return Forward(indices.AsReadOnlyTensorSpan());
    }

    private void ForwardCore(string op, ReadOnlySpan<int> indices, Span<float> destination, ReadOnlySpan<nint> shape)
    {
        Guard.MinLength(op, destination.Length, (long)indices.Length * Dims, $"indices.Length × Dims = {indices.Length} × {Dims}");
        ValidateIndices(op, nameof(indices), indices, shape);
        if (Rows is QuantizedTable quantized)
        {
            quantized.GatherUnchecked(indices, destination);
            if (Scale != 1f)
                TensorPrimitives.Multiply(destination.Slice(0, indices.Length * Dims), Scale, destination.Slice(0, indices.Length * Dims));
            return;
        }
        if (MaxNorm is double maxNorm)
            PooledLookup.Renorm(Weight, indices, maxNorm, NormType);
        Weight.GatherUnchecked(indices, destination, Scale);
    }

    /// <summary>Checks every index against <c>[0, NumEmbeddings)</c>; throws naming the first bad one and its position.</summary>
    private void ValidateIndices(string op, string paramName, ReadOnlySpan<int> indices, ReadOnlySpan<nint> shape) =>
        LookupArguments.Indices(op, paramName, indices, NumEmbeddings, shape);

    /// <summary>int64 ids to rows through <see cref="Remap"/>, each checked.</summary>
    private int[] NarrowIndices(string op, ReadOnlySpan<long> indices, ReadOnlySpan<nint> shape) =>
        LookupArguments.Slots(op, indices, NumEmbeddings, Remap, shape);

    /// <summary>
    /// The output of an allocating lookup, not zeroed: the gather writes every element, and clearing it first
    /// would double the writes to fresh memory (which is what an allocating lookup mostly costs).
    /// </summary>
    private float[] NewOutput(long ids) => GC.AllocateUninitializedArray<float>(checked((int)(ids * Dims)));

    private static int[] Flatten(ReadOnlyTensorSpan<int> indices)
    {
        var flat = new int[indices.FlattenedLength];
        indices.FlattenTo(flat);
        return flat;
    }

    private nint[] OutputShape(ReadOnlySpan<nint> indexShape)
    {
        var shape = new nint[indexShape.Length + 1];
        indexShape.CopyTo(shape);
        shape[^1] = Dims;
        return shape;
    }
}
