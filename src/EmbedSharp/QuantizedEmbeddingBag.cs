using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;
using EmbedSharp.Quantization;

namespace EmbedSharp;

/// <summary>
/// Pooled lookups over a quantized table (FBGEMM's quantized pooled embedding, PyTorch's
/// <c>EmbeddingBag</c> over int8/int4 weights): each bag's rows are dequantized one at a time and reduced
/// into the output; no dense copy of the table is made.
/// </summary>
/// <remarks>
/// A thin factory over the one bag layer: this is an <see cref="EmbeddingBag"/> whose rows are a
/// <see cref="QuantizedTable"/> (<see cref="EmbeddingBag.FromQuantized"/>), kept under the name and the
/// argument order MLX and FBGEMM users expect (<c>destination</c> before <c>perSampleWeights</c>,
/// <c>includeLastOffset</c> per call). Offsets are checked by the same rules as every bag.
/// </remarks>
/// <remarks>
/// Bags are CSR: bag <c>b</c> holds <c>indices[offsets[b] .. offsets[b+1])</c> (the last bag ends at
/// <c>indices.Length</c> unless <c>includeLastOffset</c>). Effectively computes
/// <c>output[b] = Σ_i w_i · ŵ[indices[i]]</c> (<c>"sum"</c>, <c>w_i = perSampleWeights[i]</c> or 1),
/// the same divided by the bag size (<c>"mean"</c>), or the element-wise maximum (<c>"max"</c>).
/// Empty bags give zeros. Example: <c>indices = [4, 1, 4, 7]</c>, <c>offsets = [0, 2, 2]</c> makes three
/// bags <c>{4, 1}</c>, <c>{}</c>, <c>{4, 7}</c>; with <c>"sum"</c>, <c>output[0] = ŵ[4] + ŵ[1]</c>, <c>output[1] = 0</c>.
/// </remarks>
public sealed class QuantizedEmbeddingBag
{
    private readonly PoolingMode _pooling;
    private readonly EmbeddingBag _bag;

    /// <summary>A bag over <paramref name="table"/> pooling with <paramref name="mode"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="table"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a defined <see cref="PoolingMode"/>.</exception>
    public QuantizedEmbeddingBag(QuantizedTable table, PoolingMode mode = PoolingMode.Sum)
    {
        const string op = "quantized_embedding_bag.create";
        Table = Guard.NotNull(op, table);
        if (!Enum.IsDefined(mode))
            ThrowHelper.ArgumentOutOfRange(op, nameof(mode), mode, $"mode {mode} not supported (Sum, Mean, Max)");
        _pooling = mode;
        _bag = EmbeddingBag.FromQuantized(table, new EmbeddingBagOptions { Mode = mode });
    }

    /// <summary>
    /// A bag over <paramref name="table"/> held in <paramref name="layout"/>: with <see cref="QuantizedRowLayout.FusedRows"/>
    /// the table is converted once (<see cref="QuantizedTable.ToLayout"/>) so that each looked-up row is one record
    /// (codes, scales and biases together) instead of three scattered reads. <see cref="Table"/> is then the converted
    /// table; pooled outputs are bit for bit those of the MLX layout.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="table"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> or <paramref name="layout"/> is not defined.</exception>
    public QuantizedEmbeddingBag(QuantizedTable table, PoolingMode mode, QuantizedRowLayout layout)
        : this(Guard.NotNull("quantized_embedding_bag.create", table).ToLayout(layout), mode)
    {
    }

    /// <summary>A bag over <paramref name="table"/> with PyTorch's pooling mode name: <c>"sum"</c>, <c>"mean"</c> or <c>"max"</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="mode"/> is not one of the three names.</exception>
    public QuantizedEmbeddingBag(QuantizedTable table, string mode)
        : this(table, mode switch
        {
            "sum" => PoolingMode.Sum,
            "mean" => PoolingMode.Mean,
            "max" => PoolingMode.Max,
            _ => throw new ArgumentException(ThrowHelper.Format("quantized_embedding_bag.create", $"mode '{mode}' not supported (sum, mean, max)"), nameof(mode)),
        })
    {
    }

    /// <summary>The quantized table.</summary>
    public QuantizedTable Table { get; }

    /// <summary>The pooling mode.</summary>
    public PoolingMode Mode => _pooling;

    /// <summary>Row length of the table and of each pooled output.</summary>
    public int Dims => Table.Dims;

    /// <summary>
    /// Pools the bags described by <paramref name="indices"/> and <paramref name="offsets"/> into
    /// <paramref name="destination"/> (row-major <c>bags × Dims</c>).
    /// </summary>
    /// <param name="indices">Row ids of all bags, concatenated.</param>
    /// <param name="offsets">Start of each bag in <paramref name="indices"/>; non-decreasing, starting at 0.</param>
    /// <param name="destination">Output, at least <c>bags · Dims</c> values.</param>
    /// <param name="perSampleWeights">Optional weight per index (sum mode only), same length as <paramref name="indices"/>.</param>
    /// <param name="includeLastOffset">When true, <paramref name="offsets"/> has one extra trailing entry, <c>indices.Length</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range (checked before anything is written).</exception>
    /// <exception cref="ArgumentException">Offsets are not non-decreasing from 0 within <c>0..indices.Length</c> (with
    /// <paramref name="includeLastOffset"/>, the last must equal <c>indices.Length</c>), the weights have the wrong length or are given outside sum mode, or the destination is too short.</exception>
    public void Forward(ReadOnlySpan<int> indices, ReadOnlySpan<int> offsets, Span<float> destination,
        ReadOnlySpan<float> perSampleWeights = default, bool includeLastOffset = false)
    {
        const string op = "quantized_embedding_bag.forward";
        // Weights outside sum mode are an ArgumentException here (this type's contract since it was written).
        if (!perSampleWeights.IsEmpty && _pooling != PoolingMode.Sum)
            ThrowHelper.Argument(op, nameof(perSampleWeights), $"perSampleWeights are only supported with mode 'sum', not '{Mode}'");
        using var bags = BagBatch.FromOffsets(op, Table.NumEmbeddings, indices, offsets, includeLastOffset);
        _bag.ForwardCore(op, indices, bags, destination, perSampleWeights);
    }

    /// <summary>Plain reference: dequantize every looked-up row with the public row API and pool element by element.</summary>
    internal void ForwardReference(ReadOnlySpan<int> indices, ReadOnlySpan<int> offsets, Span<float> destination,
        ReadOnlySpan<float> perSampleWeights = default)
    {
        var row = new float[Dims];
        for (int b = 0; b < offsets.Length; b++)
        {
            int start = offsets[b], end = b + 1 < offsets.Length ? offsets[b + 1] : indices.Length;
            for (int d = 0; d < Dims; d++)
                destination[b * Dims + d] = 0f;
            for (int i = start; i < end; i++)
            {
                Table.DequantizeRow(indices[i], row);
                for (int d = 0; d < Dims; d++)
                {
                    float w = perSampleWeights.IsEmpty ? 1f : perSampleWeights[i];
                    ref float o = ref destination[b * Dims + d];
                    o = _pooling == PoolingMode.Max ? (i == start ? row[d] : Math.Max(o, row[d])) : o + w * row[d];
                }
            }
            if (_pooling == PoolingMode.Mean && end > start)
            {
                for (int d = 0; d < Dims; d++)
                    destination[b * Dims + d] /= end - start;
            }
        }
    }
}
