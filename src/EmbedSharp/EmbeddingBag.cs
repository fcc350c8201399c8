using EmbedSharp.Diagnostics;
using EmbedSharp.Initializers;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
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
/// <see cref="Sparse.SparseGradient"/>, also in max mode and with <c>ScaleGradByFreq</c>.</para>
/// </remarks>
public sealed partial class EmbeddingBag : IDisposable
{
    /// <summary>
    /// Creates the layer with weights drawn by the options' initializer (PyTorch's N(0, 1) by default) from the
    /// options' seed (0 by default, so the layer is the same on every run, as <see cref="Embedding"/>), and the
    /// padding row (if any) zeroed, as PyTorch.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, <c>PaddingIdx</c> is outside
    /// <c>[-numEmbeddings, numEmbeddings)</c>, <c>MaxNorm</c> is not a finite number &gt; 0, <c>NormType</c> is
    /// not &gt; 0, or <c>Mode</c> is not a defined <see cref="PoolingMode"/>.</exception>
    /// <exception cref="NotSupportedException"><c>ScaleGradByFreq</c> with <see cref="PoolingMode.Max"/>, or a <c>Scale</c> other than 1.</exception>
    public EmbeddingBag(int numEmbeddings, int dims, EmbeddingBagOptions? options = null)
    {
        const string op = "embedding_bag.create";
        options ??= new EmbeddingBagOptions();
        Guard.NonNegative(op, numEmbeddings);
        Guard.NonNegative(op, dims);
        PaddingIdx = Configure(op, numEmbeddings, options);
        var table = new EmbeddingTable(numEmbeddings, dims, options.DType);
        Embedding.Initialize(table, Initializer, Seed);
        if (PaddingIdx is int pad)
            table.ClearRow(pad);
        Rows = table;
    }

    /// <summary>A bag over existing rows (owned by the layer from now on): dense for training, or quantized for reading.</summary>
    private EmbeddingBag(string op, IEmbeddingRows rows, EmbeddingBagOptions options)
    {
        PaddingIdx = Configure(op, rows.NumEmbeddings, options);
        if (rows is not EmbeddingTable && options.MaxNorm is not null)
            ThrowHelper.NotSupported(op, "MaxNorm needs a dense table (quantized rows cannot be renormalised in place); dequantize the table or leave MaxNorm null");
        Rows = rows;
    }

    /// <summary>
    /// A bag that pools the rows of <paramref name="table"/> in place (not copied; the layer owns it from now on),
    /// e.g. one table of a <see cref="TableCollection"/> or a table built elsewhere. The options' initializer is not used.
    /// </summary>
    internal static EmbeddingBag Over(EmbeddingTable table, EmbeddingBagOptions options) => new("embedding_bag.create", table, options);

    /// <summary>
    /// A read-only bag over MLX-quantized rows (what <see cref="QuantizedEmbeddingBag"/> wraps): each looked-up
    /// row is dequantized on the fly, and no dense copy is made. Training calls throw.
    /// </summary>
    /// <exception cref="NotSupportedException"><c>MaxNorm</c> is set (quantized rows cannot be renormalised in place).</exception>
    public static EmbeddingBag FromQuantized(QuantizedTable table, EmbeddingBagOptions? options = null) =>
        new("embedding_bag.from_quantized", Guard.NotNull("embedding_bag.from_quantized", table), options ?? new EmbeddingBagOptions());

    /// <summary>Validates the options (all through <see cref="LookupArguments"/>) and keeps them; returns the normalised padding row.</summary>
    private int? Configure(string op, int numEmbeddings, EmbeddingBagOptions options)
    {
        LookupArguments.Mode(op, options.Mode, scaleGradByFreq: false);
        int? padding = LookupArguments.PaddingIdx(op, options.PaddingIdx, numEmbeddings);
        LookupArguments.MaxNorm(op, options.MaxNorm, options.NormType);
        LookupArguments.Mode(op, options.Mode, options.ScaleGradByFreq);
        if (options.Scale != 1f)
            ThrowHelper.NotSupported(op, $"Scale = {options.Scale} is not supported by a bag (its outputs are sums, means or maxima of rows); leave it 1 and scale the pooled output");
        LookupArguments.DType(op, options.DType);
        Mode = options.Mode;
        MaxNorm = options.MaxNorm;
        NormType = options.NormType;
        ScaleGradByFreq = options.ScaleGradByFreq;
        IncludeLastOffset = options.IncludeLastOffset;
        Remap = options.Remap ?? IdRemap.Identity;
        Initializer = options.Initializer ?? Initializer.TorchDefault;
        Seed = options.Seed;
        Frozen = options.Frozen;
        return padding;
    }

    /// <summary>Number of rows.</summary>
    public int NumEmbeddings => Rows.NumEmbeddings;

    /// <summary>Length of each row and of each pooled output.</summary>
    public int Dims => Rows.Dims;

    /// <summary>Where the rows live: the dense <see cref="Weight"/>, or a quantized table (<see cref="FromQuantized"/>).</summary>
    public IEmbeddingRows Rows { get; }

    /// <summary>The pooling rule.</summary>
    public PoolingMode Mode { get; private set; }

    /// <summary>The padding row, normalised to <c>[0, NumEmbeddings)</c>, or null.</summary>
    public int? PaddingIdx { get; }

    /// <summary>The max-norm limit, or null.</summary>
    public double? MaxNorm { get; private set; }

    /// <summary>The p of the max-norm p-norm.</summary>
    public double NormType { get; private set; }

    /// <summary>Whether the weight gradient is divided by each id's frequency in the batch.</summary>
    public bool ScaleGradByFreq { get; private set; }

    /// <summary>Whether 1-D offsets carry a closing entry.</summary>
    public bool IncludeLastOffset { get; private set; }

    /// <summary>How int64 <c>indices</c> map to rows (<see cref="IdRemap.Identity"/> unless set in the options).</summary>
    public IdRemap Remap { get; private set; } = IdRemap.Identity;

    /// <summary>The initializer the weights were drawn with.</summary>
    public Initializer Initializer { get; private set; } = Initializer.TorchDefault;

    /// <summary>The initializer's seed.</summary>
    public ulong Seed { get; private set; }

    /// <summary>When true, the backward calls throw (a frozen or a quantized table).</summary>
    public bool Frozen { get; private set; }

    /// <summary>The dense <c>NumEmbeddings × Dims</c> weight, owned by the layer.</summary>
    /// <exception cref="InvalidOperationException">The layer reads a quantized table (see <see cref="Rows"/>).</exception>
    public EmbeddingTable Weight => Rows as EmbeddingTable
        ?? throw new InvalidOperationException(ThrowHelper.Format("embedding_bag", "the layer reads a quantized table (Rows), which has no dense Weight; dequantize it to train"));

    private int Padding => PaddingIdx ?? -1;

    /// <summary>Number of bags a 1-D call with <paramref name="offsetsLength"/> offsets describes.</summary>
    public int BagCount(int offsetsLength) => IncludeLastOffset ? Math.Max(offsetsLength - 1, 0) : offsetsLength;

    /// <summary>Pools 1-D <paramref name="indices"/> split by CSR <paramref name="offsets"/> into <paramref name="destination"/> (<c>B × Dims</c>).</summary>
    /// <param name="indices">Row ids, each in <c>[0, NumEmbeddings)</c>.</param>
    /// <param name="offsets">Start of each bag (B entries), plus the closing <c>indices.Length</c> with <c>IncludeLastOffset</c>.
    /// Must start at 0 and be non-decreasing; equal neighbours give empty bags.</param>
    /// <param name="perSampleWeights">One weight per id (sum mode only), or empty (<c>default</c>).</param>
    /// <param name="destination">Receives the pooled rows, row-major; at least <c>B · Dims</c> long.</param>
    /// <remarks>With <c>MaxNorm</c> set, looked-up rows are first renormalised in place (see <see cref="EmbeddingOptions.MaxNorm"/>).</remarks>
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

    /// <summary>The forward after CSR validation: storage decides the kernel (dense pooled lookup, or quantized bags).</summary>
    internal void ForwardCore(string op, ReadOnlySpan<int> indices, in BagBatch bags, Span<float> destination, ReadOnlySpan<float> psw)
    {
        CheckPerSampleWeights(op, indices.Length, psw);
        Guard.MinLength(op, destination.Length, (long)bags.Count * Dims, $"B × Dims = {bags.Count} × {Dims}");
        if (Rows is QuantizedTable quantized)
        {
            quantized.PoolUnchecked(Mode, indices, bags.Starts, bags.End, psw, Padding, destination);
            return;
        }
        if (MaxNorm is double maxNorm)
            PooledLookup.Renorm(Weight, indices, maxNorm, NormType);
        PooledLookup.Forward(Weight, Mode, indices, bags, psw, Padding, destination);
    }

    private void CheckPerSampleWeights(string op, int count, ReadOnlySpan<float> psw) =>
        LookupArguments.PerSampleWeights(op, Mode, count, psw);

    private static T[] Flatten<T>(T[,] a)
    {
        var flat = new T[a.Length];
        int k = 0;
        foreach (T v in a)
            flat[k++] = v;
        return flat;
    }

    /// <summary>Frees the rows.</summary>
    public void Dispose() => (Rows as IDisposable)?.Dispose();
}
