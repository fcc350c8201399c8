namespace EmbedSharp.Quantization;

/// <summary>How a <see cref="QuantizedTable"/> keeps its packed codes, scales and biases in memory.</summary>
/// <remarks>
/// The values are the same in both layouts, and so is every result computed from them (lookups, bags and
/// products agree bit for bit); only the addresses differ. A random row of <see cref="Mlx"/> costs one cache
/// miss per array (three in affine mode); a <see cref="FusedRows"/> record is read in one or two adjacent lines.
/// </remarks>
public enum QuantizedRowLayout
{
    /// <summary>
    /// MLX's three arrays: <c>wq</c> (<c>NumEmbeddings × Dims·Bits/32</c> uint32 words), <c>scales</c> and, in
    /// affine mode, <c>biases</c> (<c>NumEmbeddings × Dims/GroupSize</c> each). The default, and what MLX
    /// checkpoints hold.
    /// </summary>
    Mlx,

    /// <summary>
    /// One record per row, as FBGEMM's fused rows: the row's packed words, then its scales, then its biases
    /// (affine), padded to a multiple of 4 bytes (<see cref="QuantizedTable.RecordBytes"/>). For random-row
    /// lookups and bags; converted from and to MLX's arrays by <see cref="QuantizedTable.ToLayout"/>.
    /// </summary>
    FusedRows,
}
