using EmbedSharp.Tables;

namespace EmbedSharp;

/// <summary>
/// Options of an <see cref="EmbeddingBag"/>, named as PyTorch's <c>nn.EmbeddingBag</c> arguments: everything an
/// <see cref="EmbeddingOptions"/> holds (padding row, max-norm, initializer and seed — 0 by default, so a bag is
/// deterministic like every layer — storage type, remap, frozen) plus how bags are pooled.
/// Every property is checked when the layer is built.
/// </summary>
/// <remarks>
/// A padding row is left out of every bag (not summed, not counted in the mean, not a max candidate, no
/// gradient). <see cref="EmbeddingOptions.ScaleGradByFreq"/> divides each row's gradient by its count in the
/// whole batch and is not supported with <see cref="PoolingMode.Max"/>. <see cref="EmbeddingOptions.Scale"/>
/// must stay 1 (a bag has no output multiplier; scale the pooled output instead).
/// </remarks>
public sealed record EmbeddingBagOptions : EmbeddingOptions
{
    /// <summary>How a bag's rows are combined; <see cref="PoolingMode.Mean"/> by default, as in PyTorch.</summary>
    public PoolingMode Mode { get; init; } = PoolingMode.Mean;

    /// <summary>
    /// Offsets carry a closing entry: B bags take B + 1 offsets and the last must equal
    /// <c>indices.Length</c>. Applies to 1-D input only; a 2-D batch is always one bag per row.
    /// </summary>
    public bool IncludeLastOffset { get; init; }
}
