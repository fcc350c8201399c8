using System.Globalization;
using EmbedSharp.Diagnostics;
using EmbedSharp.Initializers;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp;

/// <summary>
/// MLX's <c>nn.QuantizedEmbedding</c>: an embedding whose table is stored quantized (packed codes plus
/// per-group scales and biases, <see cref="QuantizedTable"/>) and dequantized one gathered row at a time.
/// Interchangeable with MLX bit for bit: the same arrays, the same dequantized values.
/// </summary>
/// <remarks>
/// <para><c>Forward(indices)[i, :] = ŵ[indices[i], :]</c> with <c>ŵ = q·s + b</c> (affine) or <c>element·scale</c>
/// (fp modes); only the gathered rows are dequantized, straight into the output.
/// <c>AsLinear(x) = x · ŵᵀ</c> (the tied language-model head, MLX's <c>quantized_matmul(..., transpose=True)</c>)
/// works from the packed arrays without a dense copy.</para>
/// <para>Quantized tables are frozen (inference only), as in MLX. Thread-safe for concurrent reads.</para>
/// </remarks>
public sealed class QuantizedEmbedding
{
    /// <summary>
    /// A new layer with MLX's initialisation — float32 weights drawn from N(0, 1/dims)
    /// (<see cref="Initializer.MlxDefault"/>, seeded by <paramref name="seed"/>) — quantized with the given settings.
    /// </summary>
    /// <param name="numEmbeddings">Number of rows.</param>
    /// <param name="dims">Row length; must be a multiple of the group size.</param>
    /// <param name="groupSize">Group size, or null for the mode's default (affine 64).</param>
    /// <param name="bits">Bits per code, or null for the mode's default (affine 4).</param>
    /// <param name="mode">Quantization mode.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    /// <exception cref="QuantizationArgumentException">MLX would reject the quantization arguments.</exception>
    public QuantizedEmbedding(int numEmbeddings, int dims, int? groupSize = null, int? bits = null,
        QuantizationMode mode = QuantizationMode.Affine, ulong seed = 0)
    {
        const string op = "quantized_embedding.create";
        Guard.NonNegative(op, numEmbeddings);
        Guard.NonNegative(op, dims);
        // Check the arguments before drawing the weights (MLX draws first, then fails).
        QuantizationArguments.ValidateQuantize("float32", [numEmbeddings, dims], mode.ToMlxName(), groupSize, bits);
        using var dense = new Embedding(numEmbeddings, dims, new EmbeddingOptions { Initializer = Initializer.MlxDefault, Seed = seed });
        Table = QuantizedTable.Quantize(dense.Weight, groupSize, bits, mode);
        Layer = Embedding.FromQuantized(Table);
    }

    /// <summary>Wraps an existing quantized table (e.g. one read from an MLX checkpoint).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="table"/> is null.</exception>
    public QuantizedEmbedding(QuantizedTable table)
    {
        Table = Guard.NotNull("quantized_embedding.create", table);
        Layer = Embedding.FromQuantized(table);
    }

    /// <summary>
    /// MLX's <c>QuantizedEmbedding.from_embedding</c>: quantizes the layer's weights (scales and biases keep
    /// the weights' dtype). Only the weights are used; <see cref="Embedding.Scale"/>, padding and max-norm
    /// options have no quantized counterpart in MLX and are not carried over.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="embedding"/> is null.</exception>
    /// <exception cref="QuantizationArgumentException">MLX would reject the quantization arguments.</exception>
    public static QuantizedEmbedding FromEmbedding(Embedding embedding, int? groupSize = null, int? bits = null,
        QuantizationMode mode = QuantizationMode.Affine, QuantizationBackend backend = QuantizationBackend.Cpu)
    {
        Guard.NotNull("quantized_embedding.from_embedding", embedding);
        return new QuantizedEmbedding(QuantizedTable.Quantize(embedding.Weight, groupSize, bits, mode, null, backend));
    }

    /// <summary>Quantizes a dense table (see <see cref="QuantizedTable.Quantize(EmbeddingTable, int?, int?, QuantizationMode, float?, QuantizationBackend)"/>).</summary>
    public static QuantizedEmbedding FromTable(EmbeddingTable table, int? groupSize = null, int? bits = null,
        QuantizationMode mode = QuantizationMode.Affine, float? globalScale = null, QuantizationBackend backend = QuantizationBackend.Cpu) =>
        new(QuantizedTable.Quantize(Guard.NotNull("quantized_embedding.from_table", table), groupSize, bits, mode, globalScale, backend));

    /// <summary>The quantized weights, scales and biases.</summary>
    public QuantizedTable Table { get; }

    /// <summary>
    /// The one lookup layer this type names: an <see cref="Embedding"/> over <see cref="Table"/> (read-only), which
    /// every call here forwards to. MLX's <c>QuantizedEmbedding</c> is "the same as Embedding" with a quantized weight.
    /// </summary>
    public Embedding Layer { get; }

    /// <summary>Number of rows.</summary>
    public int NumEmbeddings => Table.NumEmbeddings;

    /// <summary>Row length.</summary>
    public int Dims => Table.Dims;

    /// <summary>Elements per quantization group.</summary>
    public int GroupSize => Table.GroupSize;

    /// <summary>Bits per code.</summary>
    public int Bits => Table.Bits;

    /// <summary>Quantization mode.</summary>
    public QuantizationMode Mode => Table.Mode;

    /// <summary>
    /// Looks up rows: <c>destination[i·Dims .. (i+1)·Dims) = ŵ[indices[i]]</c>, dequantizing only those rows
    /// (see <see cref="QuantizedTable.DequantizeRow"/> for the exact rounding).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, NumEmbeddings) (checked before anything is written).</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <c>indices.Length · Dims</c>.</exception>
    public void Forward(ReadOnlySpan<int> indices, Span<float> destination) => Layer.Forward(indices, destination);

    /// <summary>As <see cref="Forward(ReadOnlySpan{int}, Span{float})"/> for int64 ids.</summary>
    public void Forward(ReadOnlySpan<long> indices, Span<float> destination) => Layer.Forward(indices, destination);

    /// <summary>
    /// The tied output projection from the packed weights: <c>destination[b, v] = Σ_d x[b, d] · ŵ[v, d]</c> for a
    /// batch of <c>x.Length / Dims</c> vectors (one vector when decoding).
    /// </summary>
    /// <remarks>
    /// Each table row is dequantized once into a one-row buffer and dotted with every vector of the batch;
    /// the result equals <see cref="Dequantize"/> followed by <see cref="Embedding.AsLinear(ReadOnlySpan{float}, Span{float})"/>
    /// up to the order of float32 additions. NaN in x propagates.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not a whole number of Dims-long vectors, or <paramref name="destination"/> is too short.</exception>
    public void AsLinear(ReadOnlySpan<float> x, Span<float> destination) => Layer.AsLinear(x, destination);

    /// <summary>
    /// A dense, trainable <see cref="Embedding"/> holding the dequantized weights, in <paramref name="dtype"/>
    /// (null: MLX's default — the scales' dtype for affine, bfloat16 for fp modes).
    /// </summary>
    public Embedding Dequantize(DType? dtype = null)
    {
        using EmbeddingTable weights = Table.Dequantize(dtype);
        return Embedding.FromPretrained(weights, freeze: false, new EmbeddingOptions { DType = weights.DType });
    }

    /// <summary>MLX's repr: <c>QuantizedEmbedding(32, 256, group_size=64, bits=8, mode=affine)</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"QuantizedEmbedding({NumEmbeddings}, {Dims}, group_size={GroupSize}, bits={Bits}, mode={Mode.ToMlxName()})");
}

/// <summary>Quantization entry points on <see cref="Embedding"/> (MLX's <c>Embedding.to_quantized</c>).</summary>
public static class EmbeddingQuantizationExtensions
{
    /// <summary>
    /// MLX's <c>Embedding.to_quantized(group_size, bits, mode)</c>: the same as
    /// <see cref="QuantizedEmbedding.FromEmbedding"/>.
    /// </summary>
    /// <exception cref="QuantizationArgumentException">MLX would reject the quantization arguments.</exception>
    public static QuantizedEmbedding ToQuantized(this Embedding embedding, int? groupSize = null, int? bits = null,
        QuantizationMode mode = QuantizationMode.Affine, QuantizationBackend backend = QuantizationBackend.Cpu) =>
        QuantizedEmbedding.FromEmbedding(embedding, groupSize, bits, mode, backend);
}
