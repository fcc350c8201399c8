using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using EmbedSharp.Sparse;

namespace EmbedSharp;

public sealed partial class Embedding
{
    /// <summary>
    /// The gradient of <c>loss = Σ Forward(indices) ⊙ gradOutput</c> with respect to the weights, as a
    /// coalesced sparse gradient: distinct rows ascending, each the sum over its positions in batch order.
    /// </summary>
    /// <remarks>
    /// Effectively computes <c>grad[r] = Σ_{j : indices[j] = r} Scale · c(r) · gradOutput[j]</c> where
    /// <c>c(r) = 1 / count(r)</c> with <see cref="ScaleGradByFreq"/> (count over the whole batch) and 1
    /// otherwise. Positions holding <see cref="PaddingIdx"/> contribute nothing, and individually
    /// frozen rows (<see cref="FreezeRows"/>) are left out. Max-norm renormalisation is not
    /// differentiated, as in PyTorch. NaN in <paramref name="gradOutput"/> propagates to the rows it touches.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The table is frozen.</exception>
    /// <exception cref="ArgumentException"><paramref name="gradOutput"/> does not hold <c>indices.Length · Dims</c> values.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range.</exception>
    public SparseGradient Backward(ReadOnlySpan<int> indices, ReadOnlySpan<float> gradOutput)
    {
        const string op = "embedding.backward";
        ValidateBackward(op, indices, gradOutput, default);
        using RowGroups groups = Group(indices);
        return groups.Materialize(NumEmbeddings, GradientOf(gradOutput));
    }

    /// <summary>As <see cref="Backward(ReadOnlySpan{int}, ReadOnlySpan{float})"/> for int64 ids.</summary>
    public SparseGradient Backward(ReadOnlySpan<long> indices, ReadOnlySpan<float> gradOutput) =>
        Backward(NarrowIndices("embedding.backward", indices, default), gradOutput);

    /// <summary>
    /// Tensor form: <paramref name="gradOutput"/> must have shape <c>[..indices.Lengths, Dims]</c>.
    /// </summary>
    public SparseGradient Backward(ReadOnlyTensorSpan<int> indices, ReadOnlyTensorSpan<float> gradOutput)
    {
        const string op = "embedding.backward";
        CheckGradShape(op, indices.Lengths, gradOutput.Lengths);
        var grad = new float[gradOutput.FlattenedLength];
        gradOutput.FlattenTo(grad);
        int[] flat = Flatten(indices);
        ValidateBackward(op, flat, grad, indices.Lengths);
        using RowGroups groups = Group(flat);
        return groups.Materialize(NumEmbeddings, GradientOf(grad));
    }

    /// <summary>
    /// Backward fused with an optimizer step: the gradient of <see cref="Backward(ReadOnlySpan{int}, ReadOnlySpan{float})"/>
    /// is applied to <see cref="Weight"/> by <paramref name="optimizer"/> row by row, each row's sum formed
    /// in a scratch row just before its update, so no batch-sized gradient is ever allocated.
    /// </summary>
    /// <remarks>
    /// The result is bit for bit <c>optimizer.Step(Backward(indices, gradOutput))</c> (for any thread
    /// count); it is several times faster on large batches because the coalesced gradient is never
    /// written and read back. Every argument is validated before any row changes.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="optimizer"/> does not update this layer's <see cref="Weight"/>, or <paramref name="gradOutput"/> has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range.</exception>
    /// <exception cref="InvalidOperationException">The table is frozen.</exception>
    /// <exception cref="Diagnostics.NonFiniteException">The gradient or an update is not finite (see the optimizer's guard).</exception>
    public void BackwardAndStep(ReadOnlySpan<int> indices, ReadOnlySpan<float> gradOutput, Optimizers.SparseOptimizer optimizer)
    {
        const string op = "embedding.backward_step";
        Optimizers.SparseOptimizer.CheckUpdates(op, optimizer, Weight);
        ValidateBackward(op, indices, gradOutput, default);
        optimizer.Step(indices, PaddingIdx ?? -1, FrozenRowMask, GradientOf(gradOutput));
    }

    /// <summary>As <see cref="BackwardAndStep(ReadOnlySpan{int}, ReadOnlySpan{float}, Optimizers.SparseOptimizer)"/> for int64 ids.</summary>
    public void BackwardAndStep(ReadOnlySpan<long> indices, ReadOnlySpan<float> gradOutput, Optimizers.SparseOptimizer optimizer)
    {
        Optimizers.SparseOptimizer.CheckUpdates("embedding.backward_step", optimizer, Weight);
        BackwardAndStep(NarrowIndices("embedding.backward_step", indices, default), gradOutput, optimizer);
    }

    /// <summary>Positions grouped by row, padding positions and frozen rows left out.</summary>
    private RowGroups Group(ReadOnlySpan<int> indices) => RowGroups.Build(indices, NumEmbeddings, PaddingIdx ?? -1, FrozenRowMask);

    /// <summary>Position j contributes <c>Scale · c(r) · gradOutput[j]</c>, c(r) = 1/count(r) with <see cref="ScaleGradByFreq"/>.</summary>
    private GradientSource GradientOf(ReadOnlySpan<float> gradOutput) => new(gradOutput, Dims, default, default, Scale, ScaleGradByFreq);

    /// <summary>
    /// Dense variant: adds the same gradient into a caller's row-major <c>NumEmbeddings × Dims</c>
    /// buffer (<c>gradWeight[r] += Scale · c(r) · gradOutput[j]</c> position by position, exactly as
    /// PyTorch's dense CPU backward accumulates). Padding and frozen rows receive nothing.
    /// </summary>
    public void BackwardDense(ReadOnlySpan<int> indices, ReadOnlySpan<float> gradOutput, Span<float> gradWeight)
    {
        const string op = "embedding.backward_dense";
        Guard.Length(op, gradWeight.Length, (long)NumEmbeddings * Dims, $"NumEmbeddings × Dims = {NumEmbeddings} × {Dims}");
        ValidateBackward(op, indices, gradOutput, default);
        float[] scale = PositionScales(indices);
        int pad = PaddingIdx ?? -1;
        var frozen = FrozenRowMask;
        for (int j = 0; j < indices.Length; j++)
        {
            int r = indices[j];
            if (r == pad || (frozen is not null && frozen[r]))
                continue;
            Span<float> dst = gradWeight.Slice(r * Dims, Dims);
            TensorPrimitives.MultiplyAdd(gradOutput.Slice(j * Dims, Dims), scale[j], dst, dst);
        }
    }

    private void ValidateBackward(string op, ReadOnlySpan<int> indices, ReadOnlySpan<float> gradOutput, ReadOnlySpan<nint> shape)
    {
        if (Frozen)
            ThrowHelper.InvalidOperation(op, "the table is frozen (FromPretrained freezes by default); call Unfreeze() or pass freeze: false to train it");
        Guard.Length(op, gradOutput.Length, (long)indices.Length * Dims, $"indices.Length × Dims = {indices.Length} × {Dims}");
        ValidateIndices(op, nameof(indices), indices, shape);
    }

    private void CheckGradShape(string op, ReadOnlySpan<nint> indexShape, ReadOnlySpan<nint> gradShape)
    {
        bool ok = gradShape.Length == indexShape.Length + 1 && gradShape[^1] == Dims && gradShape[..^1].SequenceEqual(indexShape);
        if (!ok)
            ThrowHelper.Argument(op, "gradOutput", $"gradOutput has shape [{string.Join(", ", gradShape.ToArray())}] but must be [{string.Join(", ", OutputShape(indexShape))}] (indices shape + [Dims])");
    }

    /// <summary>Per-position factor: <c>Scale</c>, divided by the row's batch count with <see cref="ScaleGradByFreq"/>.</summary>
    private float[] PositionScales(ReadOnlySpan<int> indices)
    {
        var scale = new float[indices.Length];
        if (!ScaleGradByFreq)
        {
            Array.Fill(scale, Scale);
            return scale;
        }
        var counts = new Dictionary<int, int>();
        foreach (int r in indices)
            counts[r] = counts.GetValueOrDefault(r) + 1;
        for (int j = 0; j < indices.Length; j++)
            scale[j] = (float)(Scale / (double)counts[indices[j]]);
        return scale;
    }
}
