using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp;

/// <summary>
/// A pooled embedding lookup, PyTorch's <c>nn.EmbeddingBag</c> (FBGEMM's pooled lookup): each bag of
/// ids becomes one vector, the sum, mean or per-dimension max of its rows, without materialising
/// the per-id rows.
/// </summary>
/// <remarks>
/// <para>Bags come as 1-D <c>indices</c> plus CSR <c>offsets</c>, or as a fixed-length 2-D batch
/// <c>[batchSize, bagLength]</c>. Example (sum, <c>Dims</c> 1, weights [10, 20, 30, 40]):
/// <c>indices = [0, 2, 2, 3]</c> with <c>offsets = [0, 1, 1]</c> is the bags <c>[0]</c>, <c>[]</c>,
/// <c>[2, 2, 3]</c> and gives <c>[10, 0, 100]</c>; with <see cref="EmbeddingBagOptions.IncludeLastOffset"/>
/// the same bags are <c>offsets = [0, 1, 1, 4]</c>.</para>
/// <para>With <c>M_b</c> the positions of bag b whose id is not <see cref="PaddingIdx"/>:
/// sum <c>out[b] = Σ_{j∈M_b} w_j · W[indices[j]]</c> (w = perSampleWeights, or 1);
/// mean <c>out[b] = (Σ_{j∈M_b} W[indices[j]]) / |M_b|</c>; max <c>out[b, d] = max_{j∈M_b} W[indices[j], d]</c>.
/// Empty and all-padding bags give zeros in every mode.</para>
/// <para>NaN rule (max): a NaN candidate wins and stays, so any NaN in a bag's dimension makes that
/// output NaN and routes its gradient to the first NaN row. Sum and mean propagate NaN as arithmetic does.</para>
/// <para>Differences from PyTorch 1.13, all deliberate: ids, offsets, padding and options are validated
/// before anything (including max-norm renormalisation) is modified; <c>offsets[^1] != indices.Length</c>
/// with <c>IncludeLastOffset</c> is rejected; <c>ScaleGradByFreq</c> divides by the true count (torch's
/// CPU bag backward reads a neighbour's count); the gradient is always a coalesced
/// <see cref="SparseGradient"/>, also in max mode and with <c>ScaleGradByFreq</c>.</para>
/// </remarks>
public sealed class EmbeddingBag : IDisposable
{
    /// <summary>Creates the layer with weights drawn from N(0, 1) and the padding row (if any) zeroed, as PyTorch.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, <c>PaddingIdx</c> is outside
    /// <c>[-numEmbeddings, numEmbeddings)</c>, <c>MaxNorm</c> is not a finite number &gt; 0, <c>NormType</c> is
    /// not &gt; 0, or <c>Mode</c> is not a defined <see cref="PoolingMode"/>.</exception>
    /// <exception cref="NotSupportedException"><c>ScaleGradByFreq</c> with <see cref="PoolingMode.Max"/>.</exception>
    public EmbeddingBag(int numEmbeddings, int dims, EmbeddingBagOptions? options = null)
    {
        const string op = "embedding_bag.create";
        options ??= new EmbeddingBagOptions();
        Guard.NonNegative(op, numEmbeddings);
        Guard.NonNegative(op, dims);
        if (!Enum.IsDefined(options.Mode))
            ThrowHelper.ArgumentOutOfRange(op, "Mode", options.Mode, $"mode {options.Mode} is unknown; valid values are Sum, Mean, Max");
        int? padding = null;
        if (options.PaddingIdx is int p)
        {
            if (p < -numEmbeddings || p >= numEmbeddings)
                ThrowHelper.ArgumentOutOfRange(op, "PaddingIdx", p, $"paddingIdx {p} is out of range; valid values are {-numEmbeddings}..{numEmbeddings - 1}");
            padding = p < 0 ? p + numEmbeddings : p;
        }
        if (options.MaxNorm is double maxNorm)
            Guard.PositiveFinite(op, maxNorm, "MaxNorm");
        if (!(options.NormType > 0))
            ThrowHelper.ArgumentOutOfRange(op, "NormType", options.NormType, $"normType {options.NormType} is not supported; valid values are numbers > 0 or +∞");
        if (options.ScaleGradByFreq && options.Mode == PoolingMode.Max)
            ThrowHelper.NotSupported(op, "ScaleGradByFreq is not supported with PoolingMode.Max (the gradient of a max has no per-id frequency); use Sum or Mean");

        NumEmbeddings = numEmbeddings;
        Dims = dims;
        Mode = options.Mode;
        PaddingIdx = padding;
        MaxNorm = options.MaxNorm;
        NormType = options.NormType;
        ScaleGradByFreq = options.ScaleGradByFreq;
        IncludeLastOffset = options.IncludeLastOffset;
        Remap = options.Remap ?? IdRemap.Identity;
        Weight = new EmbeddingTable(numEmbeddings, dims, options.DType);

        var rng = new SeededRandom(options.Seed ?? (ulong)Random.Shared.NextInt64());
        var row = new float[dims];
        for (int r = 0; r < numEmbeddings; r++)
        {
            for (int d = 0; d < dims; d++)
                row[d] = (float)rng.NextNormal();
            Weight.WriteRowUnchecked(r, row);
        }
        if (padding is int pad)
            Weight.ClearRow(pad);
    }

    /// <summary>Number of rows of <see cref="Weight"/>.</summary>
    public int NumEmbeddings { get; }

    /// <summary>Length of each row and of each pooled output.</summary>
    public int Dims { get; }

    /// <summary>The pooling rule.</summary>
    public PoolingMode Mode { get; }

    /// <summary>The padding row, normalised to <c>[0, NumEmbeddings)</c>, or null.</summary>
    public int? PaddingIdx { get; }

    /// <summary>The max-norm limit, or null.</summary>
    public double? MaxNorm { get; }

    /// <summary>The p of the max-norm p-norm.</summary>
    public double NormType { get; }

    /// <summary>Whether the weight gradient is divided by each id's frequency in the batch.</summary>
    public bool ScaleGradByFreq { get; }

    /// <summary>Whether 1-D offsets carry a closing entry.</summary>
    public bool IncludeLastOffset { get; }

    /// <summary>How int64 <c>indices</c> map to rows (<see cref="IdRemap.Identity"/> unless set in the options).</summary>
    public IdRemap Remap { get; }

    /// <summary>The <c>NumEmbeddings × Dims</c> weight, owned by the layer.</summary>
    public EmbeddingTable Weight { get; }

    private int Padding => PaddingIdx ?? -1;

    /// <summary>Number of bags a 1-D call with <paramref name="offsetsLength"/> offsets describes.</summary>
    public int BagCount(int offsetsLength) => IncludeLastOffset ? Math.Max(offsetsLength - 1, 0) : offsetsLength;

    /// <summary>Pools 1-D <paramref name="indices"/> split by CSR <paramref name="offsets"/> into <paramref name="destination"/> (<c>B × Dims</c>).</summary>
    /// <param name="indices">Row ids, each in <c>[0, NumEmbeddings)</c>.</param>
    /// <param name="offsets">Start of each bag (B entries), plus the closing <c>indices.Length</c> with <c>IncludeLastOffset</c>.
    /// Must start at 0 and be non-decreasing; equal neighbours give empty bags.</param>
    /// <param name="perSampleWeights">One weight per id (sum mode only), or empty (<c>default</c>).</param>
    /// <param name="destination">Receives the pooled rows, row-major; at least <c>B · Dims</c> long.</param>
    /// <remarks>With <c>MaxNorm</c> set, looked-up rows are first renormalised in place (see <see cref="EmbeddingBagOptions.MaxNorm"/>).</remarks>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside <c>[0, NumEmbeddings)</c>.</exception>
    /// <exception cref="ArgumentException">Malformed offsets, or a span of the wrong length.</exception>
    /// <exception cref="NotSupportedException">Per-sample weights outside sum mode.</exception>
    public void Forward(ReadOnlySpan<int> indices, ReadOnlySpan<int> offsets, ReadOnlySpan<float> perSampleWeights, Span<float> destination)
    {
        const string op = "embedding_bag.forward";
        using var bags = BagBatch.FromOffsets(op, NumEmbeddings, indices, offsets, IncludeLastOffset);
        ForwardCore(op, indices, bags, destination, perSampleWeights);
    }

    /// <summary>
    /// The local rows of 64-bit global ids, through <see cref="Remap"/>: pass the result as <c>indices</c> to
    /// any overload (the int64 boundary of a pooled lookup; the overloads themselves take int32 rows, the
    /// index type PyTorch's bags share with their offsets).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id has no slot in the remap, or its slot is outside <c>[0, NumEmbeddings)</c>.</exception>
    public int[] ToSlots(ReadOnlySpan<long> globalIds) => LookupArguments.Slots("embedding_bag.slots", globalIds, NumEmbeddings, Remap);

    /// <summary>Pools a fixed-length 2-D batch: <paramref name="indices"/> is <c>[batchSize, bagLength]</c> row-major, one bag per row.</summary>
    /// <remarks>Offsets are not taken, and <c>IncludeLastOffset</c> does not apply (PyTorch 1.13 drops the last row then; we never do).</remarks>
    /// <inheritdoc cref="Forward(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{float}, Span{float})"/>
    public void Forward(ReadOnlySpan<int> indices, int batchSize, int bagLength, ReadOnlySpan<float> perSampleWeights, Span<float> destination)
    {
        const string op = "embedding_bag.forward";
        using var bags = BagBatch.FromFixed(op, NumEmbeddings, indices, batchSize, bagLength);
        ForwardCore(op, indices, bags, destination, perSampleWeights);
    }

    /// <summary>Allocating form of the 1-D forward: returns <c>B × Dims</c> pooled values.</summary>
    /// <inheritdoc cref="Forward(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{float}, Span{float})"/>
    public float[] Forward(int[] indices, int[] offsets, float[]? perSampleWeights = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(offsets);
        var result = new float[(long)BagCount(offsets.Length) * Dims];
        Forward(indices, offsets, perSampleWeights, result.AsSpan());
        return result;
    }

    /// <summary>Allocating form of the 2-D forward: one bag per row of <paramref name="indices"/>.</summary>
    /// <inheritdoc cref="Forward(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{float}, Span{float})"/>
    public float[] Forward(int[,] indices, float[,]? perSampleWeights = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        int batch = indices.GetLength(0), length = indices.GetLength(1);
        if (perSampleWeights is not null && (perSampleWeights.GetLength(0) != batch || perSampleWeights.GetLength(1) != length))
            ThrowHelper.Argument("embedding_bag.forward", nameof(perSampleWeights),
                $"perSampleWeights is [{perSampleWeights.GetLength(0)}, {perSampleWeights.GetLength(1)}] but must have the indices' shape [{batch}, {length}]");
        var result = new float[(long)batch * Dims];
        Forward(Flatten(indices), batch, length, perSampleWeights is null ? default : Flatten(perSampleWeights), result.AsSpan());
        return result;
    }

    private void ForwardCore(string op, ReadOnlySpan<int> indices, in BagBatch bags, Span<float> destination, ReadOnlySpan<float> psw)
    {
        CheckPerSampleWeights(op, indices.Length, psw);
        Guard.MinLength(op, destination.Length, (long)bags.Count * Dims, $"B × Dims = {bags.Count} × {Dims}");
        if (MaxNorm is double maxNorm)
            PooledLookup.Renorm(Weight, indices, maxNorm, NormType);
        PooledLookup.Forward(Weight, Mode, indices, bags, psw, Padding, destination);
    }

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
        CheckPerSampleWeights(op, indices.Length, psw);
        Guard.Length(op, gradOutput.Length, (long)bags.Count * Dims, $"B × Dims = {bags.Count} × {Dims}");
        if (!gradPsw.IsEmpty)
        {
            if (psw.IsEmpty && indices.Length > 0)
                ThrowHelper.Argument(op, "gradPerSampleWeights", "gradPerSampleWeights was given but perSampleWeights was not");
            Guard.Length(op, gradPsw.Length, indices.Length, "one per id");
        }
    }

    private void CheckPerSampleWeights(string op, int count, ReadOnlySpan<float> psw)
    {
        if (psw.IsEmpty)
            return;
        if (Mode != PoolingMode.Sum)
            ThrowHelper.NotSupported(op, $"perSampleWeights is only supported with PoolingMode.Sum, not {Mode}");
        Guard.Length(op, psw.Length, count, "one weight per id, the shape of indices");
    }

    private static T[] Flatten<T>(T[,] a)
    {
        var flat = new T[a.Length];
        int k = 0;
        foreach (T v in a)
            flat[k++] = v;
        return flat;
    }

    /// <summary>Frees <see cref="Weight"/>.</summary>
    public void Dispose() => Weight.Dispose();
}
