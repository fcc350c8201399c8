using EmbedSharp.Tables;

namespace EmbedSharp;

/// <summary>
/// Options of an <see cref="EmbeddingBag"/>, named as PyTorch's <c>nn.EmbeddingBag</c> arguments.
/// Every property is checked when the layer is built.
/// </summary>
public sealed class EmbeddingBagOptions
{
    /// <summary>How a bag's rows are combined; <see cref="PoolingMode.Mean"/> by default, as in PyTorch.</summary>
    public PoolingMode Mode { get; init; } = PoolingMode.Mean;

    /// <summary>
    /// A row id whose positions are left out of every bag (not summed, not counted in the mean, not a
    /// max candidate, no gradient). Valid range <c>[-NumEmbeddings, NumEmbeddings)</c>; a negative value
    /// means <c>NumEmbeddings + PaddingIdx</c>. Null (the default) means no padding.
    /// </summary>
    public int? PaddingIdx { get; init; }

    /// <summary>
    /// When set, every distinct row a forward call looks up whose <see cref="NormType"/>-norm exceeds
    /// this value is rescaled in place to just under it before pooling. Must be a finite number &gt; 0.
    /// </summary>
    public double? MaxNorm { get; init; }

    /// <summary>The p of the p-norm used with <see cref="MaxNorm"/>: a number &gt; 0 or +∞; 2 by default.</summary>
    public double NormType { get; init; } = 2;

    /// <summary>
    /// Divide each row's weight gradient by the number of times the row occurs in the whole batch.
    /// Not supported with <see cref="PoolingMode.Max"/>.
    /// </summary>
    public bool ScaleGradByFreq { get; init; }

    /// <summary>
    /// Offsets carry a closing entry: B bags take B + 1 offsets and the last must equal
    /// <c>indices.Length</c>. Applies to 1-D input only; a 2-D batch is always one bag per row.
    /// </summary>
    public bool IncludeLastOffset { get; init; }

    /// <summary>Storage type of <see cref="EmbeddingBag.Weight"/>; float32 by default.</summary>
    public DType DType { get; init; } = DType.Float32;

    /// <summary>How int64 <c>indices</c> map to local rows; null (the default) is <see cref="IdRemap.Identity"/>, id i is row i.</summary>
    public IdRemap? Remap { get; init; }

    /// <summary>Seed for the N(0, 1) initial weights; null draws a seed from <see cref="Random.Shared"/>.</summary>
    public ulong? Seed { get; init; }
}
