using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Dense;
using EmbedSharp.Models.Losses;
using EmbedSharp.Optimizers;
using EmbedSharp.Tables;

namespace EmbedSharp.Models.Recommenders;

/// <summary>
/// DLRM (Naumov et al. 2019) for click prediction: dense features → bottom MLP → a d-vector; each
/// sparse feature → a pooled bag of its <see cref="TableCollection"/> table (d wide); the pairwise dot
/// products of those F + 1 vectors (<see cref="DotInteraction"/>) concatenated with the bottom output
/// → top MLP → one logit, trained with BCE-with-logits.
/// </summary>
/// <remarks>
/// The tables train with the collection's fused sparse step (one pass over the tables, no
/// materialised gradient for single-feature tables); the MLPs with a dense optimizer. Buffers grow to
/// the largest batch and are reused. Not thread-safe.
/// </remarks>
public sealed class Dlrm : IDisposable
{
    private float[]? _bottomOut, _pooled, _stack, _inter, _topIn, _logits, _gradLogits, _gradTopIn, _gradStack, _gradBottom, _gradPooled;

    /// <summary>Builds the model; every table's Dims is the common width d, which the bottom MLP also outputs.</summary>
    /// <exception cref="ArgumentException">Tables of different widths, or a table shared by several features.</exception>
    public Dlrm(int denseFeatures, IEnumerable<TableConfig> tables, IReadOnlyList<int> bottomHidden, IReadOnlyList<int> topHidden, ulong seed = 0)
    {
        const string op = "dlrm.create";
        Guard.Positive(op, denseFeatures);
        Guard.NotNull(op, tables);
        Guard.NotNull(op, bottomHidden);
        Guard.NotNull(op, topHidden);
        var configs = tables.ToList();
        if (configs.Count == 0)
            ThrowHelper.Argument(op, nameof(tables), "at least one sparse feature table is needed");
        Dims = configs[0].Dims;
        if (configs.Any(c => c is null || c.Dims != Dims))
            ThrowHelper.Argument(op, nameof(tables), $"every table must have the same Dims ({Dims}) for the dot interaction");
        Tables = new TableCollection(configs, seed);
        SparseFeatures = Tables.FeatureNames.Count;
        DenseFeatures = denseFeatures;
        Bottom = new Mlp(denseFeatures, bottomHidden, Dims, ActivationKind.ReLU, seed: seed + 100);
        Top = new Mlp(Dims + DotInteraction.Outputs(SparseFeatures + 1), topHidden, 1, ActivationKind.ReLU, seed: seed + 200);
    }

    /// <summary>Width of the embeddings and the bottom output.</summary>
    public int Dims { get; }

    /// <summary>Dense inputs per row.</summary>
    public int DenseFeatures { get; }

    /// <summary>Sparse features (one pooled vector each).</summary>
    public int SparseFeatures { get; }

    /// <summary>The embedding tables.</summary>
    public TableCollection Tables { get; }

    /// <summary>Bottom MLP (dense features → d).</summary>
    public Mlp Bottom { get; }

    /// <summary>Top MLP (d + interactions → logit).</summary>
    public Mlp Top { get; }

    /// <summary>The MLPs' parameters, for a dense optimizer.</summary>
    public IReadOnlyList<Parameter> DenseParameters => [.. Bottom.Parameters, .. Top.Parameters];

    private int TopWidth => Dims + DotInteraction.Outputs(SparseFeatures + 1);

    private static Span<float> Buf(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
            buffer = new float[Math.Max(length, 1)];
        return buffer.AsSpan(0, length);
    }

    /// <summary>Click logits for <c>sparse.BatchSize</c> rows of <paramref name="dense"/> (<c>[B, DenseFeatures]</c>) and <paramref name="sparse"/>.</summary>
    /// <exception cref="ArgumentException">Wrong lengths or a malformed batch.</exception>
    public void Forward(ReadOnlySpan<float> dense, KeyedBatch sparse, Span<float> logits)
    {
        const string op = "dlrm.forward";
        Guard.NotNull(op, sparse);
        int b = sparse.BatchSize;
        Guard.Length(op, logits.Length, b, "one logit per row");
        ForwardCore(op, dense, sparse, training: false);
        _logits.AsSpan(0, b).CopyTo(logits);
    }

    private void ForwardCore(string op, ReadOnlySpan<float> dense, KeyedBatch sparse, bool training)
    {
        int b = sparse.BatchSize, d = Dims, f = SparseFeatures, width = TopWidth, pairs = DotInteraction.Outputs(f + 1);
        Guard.Length(op, dense.Length, (long)b * DenseFeatures, $"batch × DenseFeatures = {b} × {DenseFeatures}");
        Span<float> pooled = Buf(ref _pooled, b * f * d);
        Tables.Forward(sparse, pooled);
        Span<float> bottom = Buf(ref _bottomOut, b * d);
        Bottom.Forward(dense, b, bottom, training);
        Span<float> stack = Buf(ref _stack, b * (f + 1) * d), inter = Buf(ref _inter, b * pairs), topIn = Buf(ref _topIn, b * width);
        for (int r = 0; r < b; r++)
        {
            bottom.Slice(r * d, d).CopyTo(stack.Slice(r * (f + 1) * d, d));
            pooled.Slice(r * f * d, f * d).CopyTo(stack.Slice(r * (f + 1) * d + d, f * d));
        }
        DotInteraction.Forward(stack, b, f + 1, d, inter);
        for (int r = 0; r < b; r++)
        {
            bottom.Slice(r * d, d).CopyTo(topIn.Slice(r * width, d));
            inter.Slice(r * pairs, pairs).CopyTo(topIn.Slice(r * width + d, pairs));
        }
        Top.Forward(topIn, b, Buf(ref _logits, b), training);
    }

    /// <summary>
    /// Backward from ∂loss/∂logits through the top MLP, the interaction and the bottom MLP: adds the MLP
    /// gradients and writes ∂loss/∂(pooled sparse vectors), <c>[B, SparseFeatures·Dims]</c>.
    /// </summary>
    internal void BackwardCore(ReadOnlySpan<float> dense, int b, ReadOnlySpan<float> gradLogits, Span<float> gradDense, Span<float> gradPooled)
    {
        int d = Dims, f = SparseFeatures, width = TopWidth, pairs = DotInteraction.Outputs(f + 1);
        Span<float> gradTopIn = Buf(ref _gradTopIn, b * width);
        Top.Backward(_topIn.AsSpan(0, b * width), _logits.AsSpan(0, b), gradLogits, b, gradTopIn);
        Span<float> gradInter = Buf(ref _gradBottom, b * pairs);
        for (int r = 0; r < b; r++)
            gradTopIn.Slice(r * width + d, pairs).CopyTo(gradInter.Slice(r * pairs, pairs));
        Span<float> gradStack = Buf(ref _gradStack, b * (f + 1) * d);
        DotInteraction.Backward(_stack.AsSpan(0, b * (f + 1) * d), gradInter, b, f + 1, d, gradStack);
        var gradBottom = new float[b * d];
        for (int r = 0; r < b; r++)
        {
            for (int k = 0; k < d; k++)
                gradBottom[r * d + k] = gradTopIn[r * width + k] + gradStack[r * (f + 1) * d + k];
            gradStack.Slice(r * (f + 1) * d + d, f * d).CopyTo(gradPooled.Slice(r * f * d, f * d));
        }
        Bottom.Backward(dense, _bottomOut.AsSpan(0, b * d), gradBottom, b, gradDense);
    }

    /// <summary>
    /// One training step on a batch: BCE-with-logits against <paramref name="labels"/> (0/1), the MLPs'
    /// gradients zeroed, filled and stepped by <paramref name="denseOptimizer"/>, the tables stepped by
    /// <paramref name="sparseOptimizers"/> (keyed by table name) in one fused pass. Returns the batch's mean loss.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong lengths, a malformed batch, or optimizers over other tables.</exception>
    public double TrainStep(ReadOnlySpan<float> dense, KeyedBatch sparse, ReadOnlySpan<float> labels, DenseOptimizer denseOptimizer,
        IReadOnlyDictionary<string, SparseOptimizer> sparseOptimizers)
    {
        const string op = "dlrm.train_step";
        Guard.NotNull(op, sparse);
        Guard.NotNull(op, denseOptimizer);
        Guard.NotNull(op, sparseOptimizers);
        int b = sparse.BatchSize;
        Guard.Length(op, labels.Length, b, "one label per row");
        ForwardCore(op, dense, sparse, training: true);
        Span<float> gradLogits = Buf(ref _gradLogits, b);
        double loss = Loss.BinaryCrossEntropyWithLogits(_logits.AsSpan(0, b), labels, gradLogits);
        denseOptimizer.ZeroGrad();
        Span<float> gradPooled = Buf(ref _gradPooled, b * SparseFeatures * Dims);
        BackwardCore(dense, b, gradLogits, default, gradPooled);
        Tables.BackwardAndStep(sparse, gradPooled, sparseOptimizers);
        denseOptimizer.Step();
        return loss;
    }

    /// <summary>Frees the tables.</summary>
    public void Dispose() => Tables.Dispose();
}
