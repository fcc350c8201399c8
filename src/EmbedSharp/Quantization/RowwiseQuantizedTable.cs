using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Quantization;

/// <summary>Row-by-row read access to a quantized table, shared by the group-wise and row-wise formats.</summary>
public interface IQuantizedRows
{
    /// <summary>Number of rows.</summary>
    int NumEmbeddings { get; }

    /// <summary>Length of each dequantized row.</summary>
    int Dims { get; }

    /// <summary>Bytes of the quantized storage.</summary>
    long ByteLength { get; }

    /// <summary>Dequantizes row <paramref name="row"/> into <paramref name="destination"/> (float32).</summary>
    void DequantizeRow(int row, Span<float> destination);
}

/// <summary>
/// FBGEMM/TorchRec row-wise quantization (<c>FloatToFusedNBitRowwiseQuantizedSBHalf</c>, the format of
/// TorchRec's int8/int4/int2 inference tables): each row has its own float16 scale and bias, and its
/// codes are packed low bits first, <c>8/bits</c> per byte.
/// </summary>
/// <remarks>
/// Per row, in float32: <c>min</c> is rounded to float16 (it is stored as the bias),
/// <c>scale = half(range == 0 ? 1 : (max − min) / (2^bits − 1))</c>, replaced by 1 when it rounds to 0 or its
/// reciprocal overflows; <c>q = clamp(rint((x − min) · (1/scale)), 0, 2^bits − 1)</c>.
/// Dequantize: <c>x̂ = scale · q + bias</c> in float32 (two roundings).
/// Unlike MLX's group-wise scheme there is one scale per row, so a row costs <c>Dims·bits/8 + 4</c> bytes.
/// </remarks>
public sealed partial class RowwiseQuantizedTable : IQuantizedRows, IEmbeddingRows
{
    private readonly byte[] _codes;
    private readonly Half[] _scales;
    private readonly Half[] _biases;

    private RowwiseQuantizedTable(int numEmbeddings, int dims, int bits, byte[] codes, Half[] scales, Half[] biases)
    {
        NumEmbeddings = numEmbeddings;
        Dims = dims;
        Bits = bits;
        _codes = codes;
        _scales = scales;
        _biases = biases;
    }

    /// <inheritdoc/>
    public int NumEmbeddings { get; }

    /// <inheritdoc/>
    public int Dims { get; }

    /// <summary>Bits per code: 8, 4 or 2.</summary>
    public int Bits { get; }

    /// <summary>Bytes of codes per row, <c>Dims·Bits/8</c>.</summary>
    public int BytesPerRow => Dims * Bits / 8;

    /// <summary>The packed codes, row-major <c>NumEmbeddings × BytesPerRow</c>.</summary>
    public ReadOnlySpan<byte> Codes => _codes;

    /// <summary>One float16 scale per row.</summary>
    public ReadOnlySpan<Half> Scales => _scales;

    /// <summary>One float16 bias (the row minimum) per row.</summary>
    public ReadOnlySpan<Half> Biases => _biases;

    /// <inheritdoc/>
    public long ByteLength => _codes.LongLength + 4L * NumEmbeddings;

    /// <summary>Quantizes a dense table row by row.</summary>
    /// <param name="table">The table (any dtype; rows are widened to float32 first).</param>
    /// <param name="bits">8 (int8), 4 (int4) or 2.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bits"/> is not 8, 4 or 2.</exception>
    /// <exception cref="ArgumentException">Dims is not a multiple of <c>8/bits</c>, or the table holds NaN or infinity.</exception>
    public static RowwiseQuantizedTable Quantize(EmbeddingTable table, int bits = 8)
    {
        const string op = "quantize.rowwise";
        Guard.NotNull(op, table);
        CheckShape(op, table.Dims, bits);
        var row = new float[table.Dims];
        return QuantizeRows(op, table.NumEmbeddings, table.Dims, bits, r =>
        {
            table.ReadRowUnchecked(r, row);
            return row;
        });
    }

    /// <summary>Quantizes a row-major <c>numEmbeddings × dims</c> float32 matrix row by row.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bits"/> is not 8, 4 or 2, or a size is negative.</exception>
    /// <exception cref="ArgumentException">The length does not match, Dims is not a multiple of <c>8/bits</c>, or NaN/infinity is present.</exception>
    public static RowwiseQuantizedTable Quantize(ReadOnlySpan<float> weight, int numEmbeddings, int dims, int bits = 8)
    {
        const string op = "quantize.rowwise";
        Guard.NonNegative(op, numEmbeddings);
        Guard.NonNegative(op, dims);
        CheckShape(op, dims, bits);
        Guard.Length(op, weight.Length, (long)numEmbeddings * dims, $"numEmbeddings × dims = {numEmbeddings} × {dims}");
        float[] copy = weight.ToArray();
        return QuantizeRows(op, numEmbeddings, dims, bits, r => copy.AsSpan(r * dims, dims).ToArray());
    }

    private static RowwiseQuantizedTable QuantizeRows(string op, int rows, int dims, int bits, Func<int, float[]> readRow)
    {
        int bytesPerRow = dims * bits / 8;
        if ((long)rows * bytesPerRow > Array.MaxLength)
            ThrowHelper.ArgumentOutOfRange(op, "numEmbeddings", rows, $"{rows} rows of {bytesPerRow} bytes do not fit in one array");
        var codes = new byte[rows * bytesPerRow];
        var scales = new Half[rows];
        var biases = new Half[rows];
        for (int r = 0; r < rows; r++)
        {
            float[] x = readRow(r);
            for (int i = 0; i < x.Length; i++)
            {
                if (!float.IsFinite(x[i]))
                    ThrowHelper.Argument(op, "weight", $"weight[{r}, {i}] = {x[i]} is not finite; only finite values can be quantized");
            }
            var (scale, bias) = bits switch
            {
                8 => QuantizeRow<Bits8>(x, codes.AsSpan(r * bytesPerRow, bytesPerRow)),
                4 => QuantizeRow<Bits4>(x, codes.AsSpan(r * bytesPerRow, bytesPerRow)),
                _ => QuantizeRow<Bits2>(x, codes.AsSpan(r * bytesPerRow, bytesPerRow)),
            };
            scales[r] = scale;
            biases[r] = bias;
        }
        return new RowwiseQuantizedTable(rows, dims, bits, codes, scales, biases);
    }

    /// <summary>FBGEMM's per-row quantizer; <paramref name="codes"/> must be cleared.</summary>
    internal static (Half Scale, Half Bias) QuantizeRow<TBits>(ReadOnlySpan<float> x, Span<byte> codes) where TBits : struct, IBitWidth
    {
        int b = TBits.Bits, perByte = 8 / b, levels = (1 << b) - 1;
        if (x.IsEmpty)
            return ((Half)1f, (Half)0f);
        float min = x[0], max = x[0];
        for (int i = 1; i < x.Length; i++)
        {
            min = x[i] < min ? x[i] : min;
            max = x[i] > max ? x[i] : max;
        }
        Half bias = (Half)min;
        min = (float)bias; // the stored bias is float16; quantize against it
        float range = max - min;
        float scale = (float)(Half)(range == 0 ? 1f : range / levels);
        if (scale == 0f)
            scale = 1f;
        float inverse = 1f / scale;
        if (float.IsInfinity(inverse))
        {
            scale = 1f;
            inverse = 1f;
        }
        for (int i = 0; i < x.Length; i++)
        {
            float q = MathF.Round((x[i] - min) * inverse, MidpointRounding.ToEven);
            int code = q < 0 ? 0 : q > levels ? levels : (int)q;
            codes[i / perByte] |= (byte)(code << ((i % perByte) * b));
        }
        return ((Half)scale, bias);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than Dims.</exception>
    public void DequantizeRow(int row, Span<float> destination)
    {
        const string op = "rowwise.dequantize_row";
        if ((uint)row >= (uint)NumEmbeddings)
            ThrowHelper.IndexOutOfRange(op, nameof(row), row, 0, NumEmbeddings);
        Guard.MinLength(op, destination.Length, Dims, "one row");
        DequantizeRowUnchecked(row, destination[..Dims]);
    }

    internal unsafe void DequantizeRowUnchecked(int row, Span<float> destination)
    {
        fixed (byte* codes = _codes)
        fixed (Half* scales = _scales)
        fixed (Half* biases = _biases)
        fixed (float* d = destination)
            new Rows(codes, scales, biases, BytesPerRow, Bits, Dims).Row(row, d);
    }

    /// <summary>Gathers and dequantizes rows: <c>destination[i, :] = x̂[indices[i], :]</c>; indices are checked first.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public void Gather(ReadOnlySpan<int> indices, Span<float> destination)
    {
        const string op = "rowwise.gather";
        Guard.MinLength(op, destination.Length, (long)indices.Length * Dims, "indices.Length × Dims");
        int firstBad = EmbedSharp.Numerics.Kernels.FirstOutOfRange(indices, NumEmbeddings);
        if (firstBad >= 0)
            ThrowHelper.IndexOutOfRange(op, nameof(indices), indices[firstBad], firstBad, NumEmbeddings);
        GatherUnchecked(indices, destination);
    }

    /// <summary>The whole table dequantized into a new float32 table.</summary>
    public EmbeddingTable Dequantize()
    {
        var result = new EmbeddingTable(NumEmbeddings, Dims);
        var row = new float[Dims];
        for (int r = 0; r < NumEmbeddings; r++)
        {
            DequantizeRowUnchecked(r, row);
            result.WriteRowUnchecked(r, row);
        }
        return result;
    }

    /// <summary>
    /// FBGEMM's fused layout: per row, the code bytes then the float16 scale and bias
    /// (<paramref name="scaleBiasLast"/> true, FBGEMM's <c>FusedNBitRowwise</c> tensors), or scale and bias first
    /// (false, TorchRec's table-batched inference weights).
    /// </summary>
    public byte[] ToFused(bool scaleBiasLast = true)
    {
        int stride = BytesPerRow + 4;
        var fused = new byte[(long)NumEmbeddings * stride];
        for (int r = 0; r < NumEmbeddings; r++)
        {
            Span<byte> dst = fused.AsSpan(r * stride, stride);
            int codeAt = scaleBiasLast ? 0 : 4, sbAt = scaleBiasLast ? BytesPerRow : 0;
            _codes.AsSpan(r * BytesPerRow, BytesPerRow).CopyTo(dst[codeAt..]);
            BitConverter.TryWriteBytes(dst[sbAt..], _scales[r]);
            BitConverter.TryWriteBytes(dst[(sbAt + 2)..], _biases[r]);
        }
        return fused;
    }

    /// <summary>Reads FBGEMM's fused layout (see <see cref="ToFused"/>).</summary>
    /// <exception cref="ArgumentException">The length is not <c>numEmbeddings · (dims·bits/8 + 4)</c>.</exception>
    public static RowwiseQuantizedTable FromFused(ReadOnlySpan<byte> fused, int numEmbeddings, int dims, int bits, bool scaleBiasLast = true)
    {
        const string op = "rowwise.from_fused";
        Guard.NonNegative(op, numEmbeddings);
        Guard.NonNegative(op, dims);
        CheckShape(op, dims, bits);
        int bytesPerRow = dims * bits / 8, stride = bytesPerRow + 4;
        Guard.Length(op, fused.Length, (long)numEmbeddings * stride, $"numEmbeddings × (dims·bits/8 + 4) = {numEmbeddings} × {stride} bytes");
        var codes = new byte[numEmbeddings * bytesPerRow];
        var scales = new Half[numEmbeddings];
        var biases = new Half[numEmbeddings];
        for (int r = 0; r < numEmbeddings; r++)
        {
            ReadOnlySpan<byte> src = fused.Slice(r * stride, stride);
            int codeAt = scaleBiasLast ? 0 : 4, sbAt = scaleBiasLast ? bytesPerRow : 0;
            src.Slice(codeAt, bytesPerRow).CopyTo(codes.AsSpan(r * bytesPerRow));
            scales[r] = BitConverter.ToHalf(src[sbAt..]);
            biases[r] = BitConverter.ToHalf(src[(sbAt + 2)..]);
        }
        return new RowwiseQuantizedTable(numEmbeddings, dims, bits, codes, scales, biases);
    }

    private static void CheckShape(string op, int dims, int bits)
    {
        if (bits is not (8 or 4 or 2))
            ThrowHelper.ArgumentOutOfRange(op, nameof(bits), bits, $"bits {bits} not supported for row-wise quantization (8, 4, 2)");
        if (dims % (8 / bits) != 0)
            ThrowHelper.Argument(op, nameof(dims), $"dims {dims} is not a multiple of {8 / bits} ({bits}-bit codes are packed {8 / bits} per byte)");
    }
}
