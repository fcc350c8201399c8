using EmbedSharp.Diagnostics;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp;

public sealed partial class EmbeddingBag
{
    /// <summary>
    /// The weight gradient of the 1-D forward for upstream gradient <paramref name="gradOutput"/>
    /// (<c>B × Dims</c>, the loss being <c>Σ out · gradOutput</c>), coalesced: distinct rows ascending.
    /// </summary>
    /// <remarks>
    /// Sum/mean: <c>gW[indices[j]] += gradOutput[b] · w_j · (1/|M_b| for mean) · (1/count(indices[j]) with ScaleGradByFreq)</c>,
    /// count over the whole batch; padding positions contribute nothing. Max: each <c>gradOutput[b, d]</c> goes to the
    /// row at the first position attaining the maximum; the maximum is recomputed from the current weights, so call
    /// this before changing them. <paramref name="gradPerSampleWeights"/>, when not empty, receives
    /// <c>dot(gradOutput[b], W[indices[j]])</c> (0 at padding positions).
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside <c>[0, NumEmbeddings)</c>.</exception>
    /// <exception cref="ArgumentException">Malformed offsets or a span of the wrong length.</exception>
    /// <exception cref="NotSupportedException">Per-sample weights outside sum mode.</exception>
    public SparseGradient Backward(ReadOnlySpan<int> indices, ReadOnlySpan<int> offsets, ReadOnlySpan<float> gradOutput,
        ReadOnlySpan<float> perSampleWeights = default, Span<float> gradPerSampleWeights = default)
    {
        const string op = "embedding_bag.backward";
        using var bags = BagBatch.FromOffsets(op, NumEmbeddings, indices, offsets, IncludeLastOffset);
        return BackwardCore(op, indices, bags, gradOutput, perSampleWeights, gradPerSampleWeights);
    }

    /// <summary>The weight gradient of the 2-D forward; see the 1-D overload for the rules.</summary>
    /// <inheritdoc cref="Backward(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>
    public SparseGradient Backward(ReadOnlySpan<int> indices, int batchSize, int bagLength, ReadOnlySpan<float> gradOutput,
        ReadOnlySpan<float> perSampleWeights = default, Span<float> gradPerSampleWeights = default)
    {
        const string op = "embedding_bag.backward";
        using var bags = BagBatch.FromFixed(op, NumEmbeddings, indices, batchSize, bagLength);
        return BackwardCore(op, indices, bags, gradOutput, perSampleWeights, gradPerSampleWeights);
    }

    /// <summary>
    /// Backward fused with an optimizer step: the coalesced gradient of the 1-D forward is applied
    /// to <see cref="Weight"/> by <paramref name="optimizer"/> row by row, once per touched row.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="optimizer"/> does not update this layer's <see cref="Weight"/>.</exception>
    /// <inheritdoc cref="Backward(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>
    public void BackwardAndStep(ReadOnlySpan<int> indices, ReadOnlySpan<int> offsets, ReadOnlySpan<float> gradOutput, SparseOptimizer optimizer,
        ReadOnlySpan<float> perSampleWeights = default, Span<float> gradPerSampleWeights = default)
    {
        const string op = "embedding_bag.backward_step";
        SparseOptimizer.CheckUpdates(op, optimizer, Weight);
        using var bags = BagBatch.FromOffsets(op, NumEmbeddings, indices, offsets, IncludeLastOffset);
        StepCore(op, indices, bags, gradOutput, optimizer, perSampleWeights, gradPerSampleWeights);
    }

    /// <summary>Backward fused with an optimizer step, for a 2-D batch.</summary>
    /// <inheritdoc cref="BackwardAndStep(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{float}, SparseOptimizer, ReadOnlySpan{float}, Span{float})"/>
    public void BackwardAndStep(ReadOnlySpan<int> indices, int batchSize, int bagLength, ReadOnlySpan<float> gradOutput, SparseOptimizer optimizer,
        ReadOnlySpan<float> perSampleWeights = default, Span<float> gradPerSampleWeights = default)
    {
        const string op = "embedding_bag.backward_step";
        SparseOptimizer.CheckUpdates(op, optimizer, Weight);
        using var bags = BagBatch.FromFixed(op, NumEmbeddings, indices, batchSize, bagLength);
        StepCore(op, indices, bags, gradOutput, optimizer, perSampleWeights, gradPerSampleWeights);
    }

    /// <summary>
    /// Sum and mean: each row's gradient is summed straight from the bags' upstream rows just before
    /// the optimizer updates it (no materialised gradient). Max routes through the coalesced gradient.
    /// </summary>
    private void StepCore(string op, ReadOnlySpan<int> indices, in BagBatch bags, ReadOnlySpan<float> gradOutput, SparseOptimizer optimizer,
        ReadOnlySpan<float> psw, Span<float> gradPsw)
    {
        if (Mode == PoolingMode.Max)
        {
            optimizer.Step(BackwardCore(op, indices, bags, gradOutput, psw, gradPsw));
            return;
        }
        CheckBackward(op, indices, bags, gradOutput, psw, gradPsw);
        var (bagOf, scale) = PooledBackward.Prepare(Weight, Mode, indices, bags, gradOutput, psw, Padding, ScaleGradByFreq, gradPsw);
        optimizer.Step(indices, Padding, null, new GradientSource(gradOutput, Dims, bagOf, scale));
    }

    private SparseGradient BackwardCore(string op, ReadOnlySpan<int> indices, in BagBatch bags, ReadOnlySpan<float> gradOutput,
        ReadOnlySpan<float> psw, Span<float> gradPsw)
    {
        CheckBackward(op, indices, bags, gradOutput, psw, gradPsw);
        return PooledBackward.Backward(Weight, Mode, indices, bags, gradOutput, psw, Padding, ScaleGradByFreq, gradPsw);
    }

    private void CheckBackward(string op, ReadOnlySpan<int> indices, in BagBatch bags, ReadOnlySpan<float> gradOutput,
        ReadOnlySpan<float> psw, Span<float> gradPsw)
    {
        if (Rows is not EmbeddingTable)
            ThrowHelper.InvalidOperation(op, "the layer reads a quantized table, which is read-only; dequantize it to train");
        if (Frozen)
            ThrowHelper.InvalidOperation(op, "the table is frozen (Frozen option); build the bag with Frozen = false to train it");
        CheckPerSampleWeights(op, indices.Length, psw);
        Guard.Length(op, gradOutput.Length, (long)bags.Count * Dims, $"B × Dims = {bags.Count} × {Dims}");
        if (!gradPsw.IsEmpty)
        {
            if (psw.IsEmpty && indices.Length > 0)
                ThrowHelper.Argument(op, "gradPerSampleWeights", "gradPerSampleWeights was given but perSampleWeights was not");
            Guard.Length(op, gradPsw.Length, indices.Length, "one per id");
        }
    }
}
