using System.Collections;
using EmbedSharp.Diagnostics;
using EmbedSharp.Initializers;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp;

/// <summary>
/// A trainable lookup table mapping ids to dense vectors: PyTorch's <c>nn.Embedding</c> and MLX's
/// <c>nn.Embedding</c> in one type. <c>Forward(indices)[..., :] = Scale · Weight[indices[...], :]</c>.
/// </summary>
/// <remarks>
/// <para>Semantics follow PyTorch where the two libraries differ (padding row, max-norm, gradient
/// scaling), with one deliberate change: every index is validated before any row is touched, so a
/// bad batch never leaves a half-renormalised table behind.</para>
/// <para>The layer computes its own gradient (<see cref="Backward(ReadOnlySpan{int}, ReadOnlySpan{float})"/>)
/// as a sparse, coalesced <see cref="Sparse.SparseGradient"/>; optimizers apply it row by row.</para>
/// <para>Not thread-safe for writes; concurrent <c>Forward</c> calls are safe when <see cref="MaxNorm"/> is not set.</para>
/// </remarks>
// Size: one type in four files (~600 lines), each file one concern (construction and frozen rows; forward;
// backward and fused step; the linear head). Most of it is the typed overloads .NET needs (int32/int64 ids,
// spans/tensors) around one short path each; the argument rules themselves live in LookupArguments.
public sealed partial class Embedding : IDisposable
{
    private BitArray? _frozenRows;
    private int _frozenRowCount;

    /// <summary>Creates a table of <paramref name="numEmbeddings"/> rows of <paramref name="dims"/> values, drawn by the options' initializer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or an option is out of its valid range.</exception>
    public Embedding(int numEmbeddings, int dims, EmbeddingOptions? options = null)
        : this(numEmbeddings, dims, options ?? new EmbeddingOptions(), weights: null)
    {
    }

    private Embedding(int numEmbeddings, int dims, EmbeddingOptions options, IEmbeddingRows? weights)
    {
        const string op = "embedding.create";
        Guard.NonNegative(op, numEmbeddings);
        Guard.NonNegative(op, dims);
        PaddingIdx = LookupArguments.PaddingIdx(op, options.PaddingIdx, numEmbeddings);
        LookupArguments.MaxNorm(op, options.MaxNorm, options.NormType);
        if (!float.IsFinite(options.Scale))
            ThrowHelper.ArgumentOutOfRange(op, nameof(options.Scale), options.Scale, $"Scale must be finite but was {options.Scale}");
        LookupArguments.DType(op, options.DType);

        NumEmbeddings = numEmbeddings;
        Dims = dims;
        MaxNorm = options.MaxNorm;
        NormType = options.NormType;
        ScaleGradByFreq = options.ScaleGradByFreq;
        Scale = options.Scale;
        Frozen = options.Frozen;
        Initializer = options.Initializer ?? Initializer.TorchDefault;
        Seed = options.Seed;
        Remap = options.Remap ?? IdRemap.Identity;

        if (weights is not null)
        {
            Rows = weights;
            return;
        }
        var table = new EmbeddingTable(numEmbeddings, dims, options.DType);
        Initialize(table, Initializer, Seed);
        if (PaddingIdx is int pad)
            table.ClearRow(pad);
        Rows = table;
    }

    /// <summary>
    /// A read-only layer over MLX-quantized rows (what <see cref="QuantizedEmbedding"/> wraps): lookups dequantize
    /// the rows they read and <see cref="AsLinear(ReadOnlySpan{float}, Span{float})"/> multiplies by the quantized
    /// table without a dense copy. The layer is frozen for good; <c>MaxNorm</c> is not supported (quantized rows
    /// cannot be renormalised in place).
    /// </summary>
    /// <exception cref="NotSupportedException"><c>MaxNorm</c> is set.</exception>
    public static Embedding FromQuantized(QuantizedTable table, EmbeddingOptions? options = null)
    {
        const string op = "embedding.from_quantized";
        Guard.NotNull(op, table);
        options ??= new EmbeddingOptions();
        if (options.MaxNorm is not null)
            ThrowHelper.NotSupported(op, "MaxNorm needs a dense table (quantized rows cannot be renormalised in place); dequantize the table or leave MaxNorm null");
        return new Embedding(table.NumEmbeddings, table.Dims, options with { Frozen = true }, table);
    }

    /// <summary>Number of rows (ids 0 .. NumEmbeddings-1).</summary>
    public int NumEmbeddings { get; }

    /// <summary>Length of each vector.</summary>
    public int Dims { get; }

    /// <summary>Where the rows live: the dense <see cref="Weight"/>, or a quantized table (<see cref="FromQuantized"/>).</summary>
    public IEmbeddingRows Rows { get; }

    /// <summary>The dense weights, <c>NumEmbeddings × Dims</c>. Owned by this layer and disposed with it.</summary>
    /// <exception cref="InvalidOperationException">The layer reads a quantized table (see <see cref="Rows"/>).</exception>
    public EmbeddingTable Weight => Rows as EmbeddingTable
        ?? throw new InvalidOperationException(ThrowHelper.Format("embedding", "the layer reads a quantized table (Rows), which has no dense Weight; dequantize it to train"));

    /// <summary>The padding row, normalised to <c>0 .. NumEmbeddings-1</c>, or null.</summary>
    public int? PaddingIdx { get; }

    /// <summary>Max-norm of looked-up rows, or null (see <see cref="EmbeddingOptions.MaxNorm"/>).</summary>
    public double? MaxNorm { get; }

    /// <summary>The p of the max-norm.</summary>
    public double NormType { get; }

    /// <summary>Whether gradients are divided by each row's frequency in the batch.</summary>
    public bool ScaleGradByFreq { get; }

    /// <summary>Output multiplier (1 unless set, e.g. √Dims).</summary>
    public float Scale { get; }

    /// <summary>The initializer the weights were drawn with.</summary>
    public Initializer Initializer { get; }

    /// <summary>The initializer's seed.</summary>
    public ulong Seed { get; }

    /// <summary>How int64 <c>indices</c> map to rows (<see cref="IdRemap.Identity"/> unless set in the options).</summary>
    public IdRemap Remap { get; }

    /// <summary>When true, the whole table is fixed: <c>Backward</c> throws.</summary>
    public bool Frozen { get; private set; }

    /// <summary>Number of individually frozen rows (see <see cref="FreezeRows"/>).</summary>
    public int FrozenRowCount => _frozenRowCount;

    /// <summary>Freezes the whole table (PyTorch's <c>requires_grad = False</c>).</summary>
    public void Freeze() => Frozen = true;

    /// <summary>Unfreezes the table; individually frozen rows stay frozen.</summary>
    /// <exception cref="InvalidOperationException">The layer reads a quantized table, which is read-only.</exception>
    public void Unfreeze()
    {
        if (Rows is not EmbeddingTable)
            ThrowHelper.InvalidOperation("embedding.unfreeze", "the layer reads a quantized table, which is read-only; dequantize it to train");
        Frozen = false;
    }

    /// <summary>
    /// Semi-frozen tables: the listed rows (e.g. a pre-trained vocabulary) get no gradient, while the
    /// others (e.g. new words) keep training. All rows are validated before any is marked.
    /// </summary>
    public void FreezeRows(ReadOnlySpan<int> rows) => SetRowsFrozen("embedding.freeze_rows", rows, true);

    /// <summary>Makes the listed rows trainable again.</summary>
    public void UnfreezeRows(ReadOnlySpan<int> rows) => SetRowsFrozen("embedding.unfreeze_rows", rows, false);

    /// <summary>Whether row <paramref name="row"/> is individually frozen.</summary>
    public bool IsRowFrozen(int row)
    {
        if ((uint)row >= (uint)NumEmbeddings)
            ThrowHelper.IndexOutOfRange("embedding.is_row_frozen", nameof(row), row, 0, NumEmbeddings);
        return _frozenRows is not null && _frozenRows[row];
    }

    internal BitArray? FrozenRowMask => _frozenRowCount > 0 ? _frozenRows : null;

    private void SetRowsFrozen(string op, ReadOnlySpan<int> rows, bool frozen)
    {
        ValidateIndices(op, nameof(rows), rows, default);
        _frozenRows ??= new BitArray(NumEmbeddings);
        foreach (int r in rows)
        {
            if (_frozenRows[r] == frozen)
                continue;
            _frozenRows[r] = frozen;
            _frozenRowCount += frozen ? 1 : -1;
        }
    }

    /// <summary>
    /// A layer over a copy of pre-trained weights (row-major <c>numEmbeddings × dims</c>). Unlike
    /// PyTorch, the caller's data is copied, so a max-norm renormalisation never rewrites it. As in
    /// PyTorch, the padding row is kept as given (not zeroed) and <paramref name="freeze"/> defaults to true.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="weights"/> does not hold numEmbeddings × dims values.</exception>
    public static Embedding FromPretrained(ReadOnlySpan<float> weights, int numEmbeddings, int dims, bool freeze = true, EmbeddingOptions? options = null)
    {
        const string op = "embedding.from_pretrained";
        Guard.NonNegative(op, numEmbeddings);
        Guard.NonNegative(op, dims);
        Guard.Length(op, weights.Length, (long)numEmbeddings * dims, $"numEmbeddings × dims = {numEmbeddings} × {dims}");
        options = (options ?? new EmbeddingOptions()) with { Frozen = freeze };
        ValidateOptionsEarly(op, options, numEmbeddings);
        var table = new EmbeddingTable(numEmbeddings, dims, options.DType);
        table.CopyFrom(weights);
        return new Embedding(numEmbeddings, dims, options, table);
    }

    /// <summary>A layer over a copy of a pre-trained table (converted to <see cref="EmbeddingOptions.DType"/> if it differs).</summary>
    public static Embedding FromPretrained(EmbeddingTable weights, bool freeze = true, EmbeddingOptions? options = null)
    {
        const string op = "embedding.from_pretrained";
        Guard.NotNull(op, weights);
        options = (options ?? new EmbeddingOptions { DType = weights.DType }) with { Frozen = freeze };
        ValidateOptionsEarly(op, options, weights.NumEmbeddings);
        return new Embedding(weights.NumEmbeddings, weights.Dims, options, weights.Clone(options.DType));
    }

    /// <summary>A layer over a 2-D pre-trained tensor <c>[numEmbeddings, dims]</c> (copied).</summary>
    /// <exception cref="ArgumentException">The tensor is not 2-D.</exception>
    public static Embedding FromPretrained(System.Numerics.Tensors.ReadOnlyTensorSpan<float> weights, bool freeze = true, EmbeddingOptions? options = null)
    {
        const string op = "embedding.from_pretrained";
        if (weights.Rank != 2)
            ThrowHelper.Argument(op, nameof(weights), $"weights must be 2-D [numEmbeddings, dims] but has rank {weights.Rank}");
        int v = checked((int)weights.Lengths[0]);
        int d = checked((int)weights.Lengths[1]);
        var flat = new float[(long)v * d];
        weights.FlattenTo(flat);
        return FromPretrained(flat, v, d, freeze, options);
    }

    /// <summary>A layer over <paramref name="weights"/> itself (not copied; the layer owns and disposes it). For tests of very large tables.</summary>
    internal static Embedding Over(EmbeddingTable weights, EmbeddingOptions? options = null) =>
        new(weights.NumEmbeddings, weights.Dims, (options ?? new EmbeddingOptions()) with { DType = weights.DType }, weights);

    // Options that are checked again by the constructor, checked here first so nothing is allocated for a bad call.
    private static void ValidateOptionsEarly(string op, EmbeddingOptions options, int numEmbeddings) =>
        LookupArguments.PaddingIdx(op, options.PaddingIdx, numEmbeddings);

    internal static void Initialize(EmbeddingTable table, Initializer initializer, ulong seed)
    {
        var random = new SeededRandom(seed);
        if (table.Dims == 0 || table.NumEmbeddings == 0)
            return;
        // Fill whole rows in blocks of about 64K values, in row order, from one stream.
        int rowsPerBlock = Math.Max(1, 65536 / table.Dims);
        var block = new float[(long)Math.Min(rowsPerBlock, table.NumEmbeddings) * table.Dims];
        for (int r0 = 0; r0 < table.NumEmbeddings; r0 += rowsPerBlock)
        {
            int n = Math.Min(rowsPerBlock, table.NumEmbeddings - r0);
            Span<float> chunk = block.AsSpan(0, n * table.Dims);
            initializer.Fill(chunk, table.NumEmbeddings, table.Dims, random);
            for (int i = 0; i < n; i++)
                table.WriteRowUnchecked(r0 + i, chunk.Slice(i * table.Dims, table.Dims));
        }
    }

    /// <summary>Frees the weights.</summary>
    public void Dispose() => (Rows as IDisposable)?.Dispose();
}
