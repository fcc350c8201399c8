using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Quantization;

/// <summary>
/// A <c>NumEmbeddings × Dims</c> matrix quantized group-wise the MLX way: packed uint32 codes
/// (<see cref="Weight"/>, <c>Dims·Bits/32</c> words per row), one scale per group (<see cref="Scales"/>)
/// and, in affine mode, one bias per group (<see cref="Biases"/>). The three arrays have exactly the
/// layout of MLX's <c>wq, scales, biases</c>, so they can be written to and read from MLX checkpoints as they are.
/// </summary>
/// <remarks>
/// Affine scales and biases are stored in <see cref="DType"/> (the dtype of the matrix that was
/// quantized), fp-mode scales as bytes (E8M0 or E4M3). Reading a row dequantizes only that row:
/// <c>ŵ = q·s + b</c> (affine, rounded as <see cref="FusedDequantize"/> says) or <c>ŵ = element·scale</c>
/// (fp modes, exact in float32). The table is immutable apart from <see cref="FusedDequantize"/>.
/// </remarks>
// Size: one type in five files (~900 lines) by concern — layout and row reads (this file), creation, whole-table
// dequantization, the SIMD/threaded kernels (gather, x·Wᵀ, the row reader that is its row source) and pooled
// bags. They share the packed arrays' private layout, which is why they are one type.
public sealed partial class QuantizedTable : IQuantizedRows, IEmbeddingRows
{
    private readonly AlignedArray<uint> _weight;
    private readonly AlignedArray<byte> _scales;
    private readonly AlignedArray<byte> _biases; // IsNull in fp modes
    private readonly AlignedArray<byte> _records; // FusedRows only (then the three arrays above are IsNull)
    private readonly unsafe delegate*<ReadOnlySpan<uint>, ReadOnlySpan<byte>, ReadOnlySpan<byte>, int, bool, Span<float>, void> _affineRow;

    private QuantizedTable(int numEmbeddings, int dims, int groupSize, int bits, QuantizationMode mode, DType dtype,
        float? globalScale, uint[] weight, byte[] scales, byte[]? biases)
        : this(numEmbeddings, dims, groupSize, bits, mode, dtype, globalScale)
    {
        // Large tables move to huge-page-backed pinned arrays (random row reads touch all three).
        _weight = AlignedArray<uint>.CopyOf(weight);
        _scales = AlignedArray<byte>.CopyOf(scales);
        _biases = biases is null ? default : AlignedArray<byte>.CopyOf(biases);
    }

    /// <summary>A table in <see cref="QuantizedRowLayout.FusedRows"/>: <paramref name="records"/> holds NumEmbeddings records of <see cref="RecordBytes"/>.</summary>
    private QuantizedTable(int numEmbeddings, int dims, int groupSize, int bits, QuantizationMode mode, DType dtype,
        float? globalScale, byte[] records)
        : this(numEmbeddings, dims, groupSize, bits, mode, dtype, globalScale)
    {
        Layout = QuantizedRowLayout.FusedRows;
        _records = AlignedArray<byte>.CopyOf(records);
    }

    private unsafe QuantizedTable(int numEmbeddings, int dims, int groupSize, int bits, QuantizationMode mode, DType dtype, float? globalScale)
    {
        NumEmbeddings = numEmbeddings;
        Dims = dims;
        GroupSize = groupSize;
        Bits = bits;
        Mode = mode;
        DType = dtype;
        GlobalScale = globalScale;
        if (mode == QuantizationMode.Affine)
            _affineRow = SelectAffineRow(dtype, bits);
    }

    /// <summary>Number of rows.</summary>
    public int NumEmbeddings { get; }

    /// <summary>Length of each (dequantized) row.</summary>
    public int Dims { get; }

    /// <summary>Elements per group (each group has its own scale and bias).</summary>
    public int GroupSize { get; }

    /// <summary>Bits per code.</summary>
    public int Bits { get; }

    /// <summary>The quantization mode.</summary>
    public QuantizationMode Mode { get; }

    /// <summary>dtype of the matrix that was quantized; for affine also the dtype of <see cref="Scales"/> and <see cref="Biases"/>.</summary>
    public DType DType { get; }

    /// <summary>The nvfp4 global scale, if one was used.</summary>
    public float? GlobalScale { get; }

    /// <summary>
    /// Affine only: round <c>q·s + b</c> once (as a fused multiply-add does, likely what Metal and CUDA
    /// do) instead of twice, <c>T(T(q·s) + b)</c>, as MLX's CPU does (the default). Only bfloat16/float16
    /// scales are noticeably affected.
    /// </summary>
    public bool FusedDequantize { get; set; }

    /// <summary>uint32 words per packed row, <c>Dims·Bits/32</c>.</summary>
    public int WordsPerRow => Dims * Bits / 32;

    /// <summary>Groups per row, <c>Dims / GroupSize</c>.</summary>
    public int GroupsPerRow => Dims / GroupSize;

    /// <summary>Bytes per stored scale (and bias): the dtype's size in affine mode, 1 in fp modes.</summary>
    public int ScaleElementSize => Mode == QuantizationMode.Affine ? DType.SizeInBytes() : 1;

    /// <summary>
    /// The packed codes, row-major <c>NumEmbeddings × WordsPerRow</c> (MLX's <c>wq</c>). In
    /// <see cref="QuantizedRowLayout.FusedRows"/> this is a new array split out of the records on every call.
    /// </summary>
    public ReadOnlySpan<uint> Weight => Layout == QuantizedRowLayout.Mlx ? _weight.Span : SplitWeight();

    /// <summary>
    /// The scales as raw little-endian bytes, row-major <c>NumEmbeddings × GroupsPerRow</c> elements. In
    /// <see cref="QuantizedRowLayout.FusedRows"/> this is a new array split out of the records on every call.
    /// </summary>
    public ReadOnlySpan<byte> Scales => Layout == QuantizedRowLayout.Mlx ? _scales.Span : SplitScales(biases: false);

    /// <summary>
    /// The biases as raw bytes (affine only; empty in fp modes). In <see cref="QuantizedRowLayout.FusedRows"/>
    /// this is a new array split out of the records on every call.
    /// </summary>
    public ReadOnlySpan<byte> Biases => Layout == QuantizedRowLayout.Mlx ? _biases.Span : SplitScales(biases: true);

    /// <summary>Whether the table has biases (affine mode).</summary>
    public bool HasBiases => Mode == QuantizationMode.Affine;

    /// <summary>Bytes of the quantized form: weight words plus scales plus biases (fused rows: the records, padding included).</summary>
    public long ByteLength => Layout == QuantizedRowLayout.Mlx ? (long)_weight.Length * 4 + _scales.Length + _biases.Length : _records.Length;

    /// <summary>The packed words of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<uint> GetWeightRow(int row)
    {
        CheckRow("quantized.row", row);
        return CodesOf(row);
    }

    /// <summary>
    /// Dequantizes row <paramref name="row"/> into <paramref name="destination"/> (float32).
    /// </summary>
    /// <remarks>
    /// Affine: <c>T(T(q·s) + b)</c> (or <c>T(q·s + b)</c> with <see cref="FusedDequantize"/>), T = <see cref="DType"/>,
    /// widened exactly; this equals MLX's <c>dequantize</c> output converted to float32. fp modes:
    /// <c>element · scale</c> (times <c>global_scale / 2688</c> for nvfp4 with a global scale), exact in float32:
    /// MLX's <c>dequantize(..., dtype=float32)</c>; MLX's default bfloat16 output is this value rounded.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is not in [0, NumEmbeddings).</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Dims"/>.</exception>
    public void DequantizeRow(int row, Span<float> destination)
    {
        const string op = "quantized.dequantize_row";
        CheckRow(op, row);
        Guard.MinLength(op, destination.Length, Dims, "one row");
        DequantizeRowUnchecked(row, destination[..Dims]);
    }

    internal unsafe void DequantizeRowUnchecked(int row, Span<float> destination)
    {
        ReadOnlySpan<uint> packed = CodesOf(row);
        ReadOnlySpan<byte> scales = ScalesOf(row);
        if (Mode == QuantizationMode.Affine)
            _affineRow(packed, scales, BiasesOf(row), GroupSize, FusedDequantize, destination);
        else
            FpDequantizer.DequantizeRow(packed, scales, Mode, GroupSize, GlobalScale, destination);
    }

    /// <summary>
    /// Gathers and dequantizes rows: <c>destination[i, :] = ŵ[indices[i], :]</c>, dequantizing only the
    /// gathered rows, straight into <paramref name="destination"/>.
    /// </summary>
    /// <remarks>
    /// Values equal <see cref="DequantizeRow"/> bit for bit. 4- and 8-bit affine rows with float32 scales are
    /// unpacked and dequantized in SIMD registers; the packed words, scales and biases of rows a few ids
    /// ahead are prefetched; large batches are split across threads (each output row written by one thread).
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, NumEmbeddings) (nothing is written).</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <c>indices.Length · Dims</c>.</exception>
    public void Gather(ReadOnlySpan<int> indices, Span<float> destination)
    {
        const string op = "quantized.gather";
        Guard.MinLength(op, destination.Length, (long)indices.Length * Dims, "indices.Length × Dims");
        int firstBad = EmbedSharp.Numerics.Kernels.FirstOutOfRange(indices, NumEmbeddings);
        if (firstBad >= 0)
            ThrowHelper.IndexOutOfRange(op, nameof(indices), indices[firstBad], firstBad, NumEmbeddings);
        GatherUnchecked(indices, destination);
    }

    /// <summary>
    /// Quantized matrix–vector product with the transposed table (MLX's <c>quantized_matmul(x, w, ..., transpose=True)</c>
    /// for one vector): <c>y[n] = Σ_k x[k] · ŵ[n, k]</c>, for every row n.
    /// </summary>
    /// <remarks>
    /// No dense copy of the table is made. For 4- and 8-bit affine rows with float32 scales, each row is
    /// reduced group by group as <c>Σ_g (s_g · Σ_{k∈g} q_k·x_k + b_g · Σ_{k∈g} x_k)</c> straight from the packed
    /// codes (MLX's quantized matrix–vector product does the same), streaming the packed table once; other
    /// layouts dequantize each row (as <see cref="DequantizeRow"/>) and dot it. Either way the result equals
    /// <c>Dequantize()</c> followed by a dense product up to float32 rounding. Rows are split across threads.
    /// NaN in x propagates.
    /// </remarks>
    /// <exception cref="ArgumentException">x is not Dims long or y is shorter than NumEmbeddings.</exception>
    public void MatVecTransposed(ReadOnlySpan<float> x, Span<float> y) => MatMulTransposed(x, 1, y);

    /// <summary>
    /// Batched quantized product with the transposed table: for a row-major <c>batch × Dims</c> input
    /// <paramref name="x"/>, <c>y[b, n] = Σ_k x[b, k] · ŵ[n, k]</c> (row-major <c>batch × NumEmbeddings</c>).
    /// </summary>
    /// <remarks>
    /// Each table row is dequantized once (bit for bit as <see cref="DequantizeRow"/>) while it is packed for a
    /// register- and cache-blocked matrix product, and reused for the whole batch; one vector (batch 1) takes the
    /// <see cref="MatVecTransposed"/> path. Results equal a dense product with the dequantized table up to float32
    /// rounding. NaN in x propagates.
    /// </remarks>
    /// <exception cref="ArgumentException">The spans do not have <c>batch·Dims</c> and at least <c>batch·NumEmbeddings</c> elements.</exception>
    public void MatMulTransposed(ReadOnlySpan<float> x, int batch, Span<float> y)
    {
        const string op = "quantized.matmul";
        Guard.NonNegative(op, batch);
        Guard.Length(op, x.Length, (long)batch * Dims, $"batch × Dims = {batch} × {Dims}");
        Guard.MinLength(op, y.Length, (long)batch * NumEmbeddings, $"batch × NumEmbeddings = {batch} × {NumEmbeddings}");
        MatMulTransposedUnchecked(x, batch, y);
    }

    /// <summary>Row <paramref name="row"/> dequantized (<see cref="IEmbeddingRows"/>'s name for <see cref="DequantizeRow"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is outside <c>[0, NumEmbeddings)</c>.</exception>
    public void ReadRow(int row, Span<float> destination) => DequantizeRow(row, destination);

    private void CheckRow(string op, int row)
    {
        if ((uint)row >= (uint)NumEmbeddings)
            ThrowHelper.IndexOutOfRange(op, nameof(row), row, 0, NumEmbeddings);
    }

    private static unsafe delegate*<ReadOnlySpan<uint>, ReadOnlySpan<byte>, ReadOnlySpan<byte>, int, bool, Span<float>, void> SelectAffineRow(DType dtype, int bits) =>
        dtype switch
        {
            DType.Float32 => SelectAffineRow<float>(bits),
            DType.Float16 => SelectAffineRow<Half>(bits),
            _ => SelectAffineRow<BFloat16>(bits),
        };

    private static unsafe delegate*<ReadOnlySpan<uint>, ReadOnlySpan<byte>, ReadOnlySpan<byte>, int, bool, Span<float>, void> SelectAffineRow<T>(int bits)
        where T : unmanaged => bits switch
        {
            2 => &AffineRow<T, Bits2>,
            3 => &AffineRow<T, Bits3>,
            4 => &AffineRow<T, Bits4>,
            5 => &AffineRow<T, Bits5>,
            6 => &AffineRow<T, Bits6>,
            _ => &AffineRow<T, Bits8>,
        };

    private static void AffineRow<T, TBits>(ReadOnlySpan<uint> packed, ReadOnlySpan<byte> scales, ReadOnlySpan<byte> biases,
        int groupSize, bool fused, Span<float> destination)
        where T : unmanaged
        where TBits : struct, IBitWidth =>
        AffineDequantizer.DequantizeRow<T, TBits>(packed, MemoryMarshal.Cast<byte, T>(scales), MemoryMarshal.Cast<byte, T>(biases),
            groupSize, fused, destination);
}
