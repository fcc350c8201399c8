using EmbedSharp.Initializers;
using EmbedSharp.Tables;

namespace EmbedSharp;

/// <summary>
/// Options of an <see cref="Embedding"/>, named as PyTorch's <c>nn.Embedding</c> arguments, and the base of
/// every lookup layer's options (<see cref="EmbeddingBagOptions"/> adds pooling). All are validated, by
/// <c>LookupArguments</c>, when the layer is built.
/// </summary>
public record EmbeddingOptions
{
    /// <summary>
    /// The padding row, or null. Negative values count from the end (<c>-1</c> is the last row), as in
    /// PyTorch; valid values are <c>-NumEmbeddings .. NumEmbeddings-1</c>. A new layer starts with this
    /// row at zero, and it never receives a gradient.
    /// </summary>
    public int? PaddingIdx { get; init; }

    /// <summary>
    /// If set (must be &gt; 0), each distinct looked-up row whose <see cref="NormType"/>-norm exceeds it is
    /// rescaled in place by <c>MaxNorm / (norm + 1e-7)</c> before the lookup, as PyTorch does (the scale is
    /// computed in double and applied in float32). Must be a finite number &gt; 0.
    /// </summary>
    public double? MaxNorm { get; init; }

    /// <summary>The p of the p-norm used by <see cref="MaxNorm"/>: any p &gt; 0, or <see cref="double.PositiveInfinity"/>. Default 2.</summary>
    public double NormType { get; init; } = 2;

    /// <summary>Divide each row's gradient by how often that row occurs in the batch.</summary>
    public bool ScaleGradByFreq { get; init; }

    /// <summary>Output multiplier, e.g. <c>MathF.Sqrt(dims)</c> as in the Transformer. Default 1.</summary>
    public float Scale { get; init; } = 1f;

    /// <summary>How new weights are drawn. Default <see cref="Initializer.TorchDefault"/> (N(0, 1)).</summary>
    public Initializer? Initializer { get; init; }

    /// <summary>Seed of the initializer's generator. Default 0, so a new layer is the same on every run.</summary>
    public ulong Seed { get; init; }

    /// <summary>Storage type of the table. Default float32.</summary>
    public DType DType { get; init; } = DType.Float32;

    /// <summary>
    /// How int64 <c>indices</c> map to local rows; null (the default) is <see cref="IdRemap.Identity"/>, id i is row i.
    /// </summary>
    public IdRemap? Remap { get; init; }

    /// <summary>When true, <see cref="Embedding.Backward(ReadOnlySpan{int}, ReadOnlySpan{float})"/> refuses to run.</summary>
    public bool Frozen { get; init; }
}
