using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Quantization;

public sealed partial class QuantizedTable
{
    /// <summary>
    /// Quantizes a dense table as <c>mx.quantize(w, group_size, bits, mode, global_scale=...)</c> does,
    /// bit for bit. Scales and biases (affine) keep the table's dtype.
    /// </summary>
    /// <param name="weight">The table to quantize (float32, float16 or bfloat16).</param>
    /// <param name="groupSize">Elements per group; null takes the mode's default (affine 64, mxfp4/mxfp8 32, nvfp4 16).</param>
    /// <param name="bits">Bits per code; null takes the mode's default (affine 4, mxfp4/nvfp4 4, mxfp8 8).</param>
    /// <param name="mode">The quantization mode.</param>
    /// <param name="globalScale">nvfp4 only: MLX's float32 <c>global_scale</c> (typically <c>max|w|</c>); must be finite and &gt; 0.</param>
    /// <param name="backend">Whose rounding to reproduce where MLX's CPU and GPU differ (default: CPU).</param>
    /// <remarks>
    /// Argument checks run in MLX's order with MLX's messages (see <see cref="QuantizationArguments.ValidateQuantize"/>).
    /// The algorithms are described on <see cref="QuantizationMode"/> and in <c>specs/mlx-quantization.md</c>.
    /// </remarks>
    /// <exception cref="QuantizationArgumentException">MLX would reject the arguments (message as MLX's).</exception>
    /// <exception cref="ArgumentException">The table holds NaN or infinity, or an affine constant group too large to quantize.</exception>
    public static QuantizedTable Quantize(EmbeddingTable weight, int? groupSize = null, int? bits = null,
        QuantizationMode mode = QuantizationMode.Affine, float? globalScale = null, QuantizationBackend backend = QuantizationBackend.Cpu)
    {
        Guard.NotNull("quantize", weight);
        return weight.DType switch
        {
            DType.Float32 => Create<float>(weight, default, weight.NumEmbeddings, weight.Dims, groupSize, bits, mode, globalScale, backend),
            DType.Float16 => Create<Half>(weight, default, weight.NumEmbeddings, weight.Dims, groupSize, bits, mode, globalScale, backend),
            _ => Create<BFloat16>(weight, default, weight.NumEmbeddings, weight.Dims, groupSize, bits, mode, globalScale, backend),
        };
    }

    /// <summary>
    /// Quantizes a row-major <c>numEmbeddings × dims</c> matrix of <see cref="float"/>, <see cref="Half"/> or
    /// <see cref="BFloat16"/>; otherwise as <see cref="Quantize(EmbeddingTable, int?, int?, QuantizationMode, float?, QuantizationBackend)"/>.
    /// </summary>
    /// <exception cref="QuantizationArgumentException">MLX would reject the arguments (message as MLX's).</exception>
    /// <exception cref="ArgumentException">The span length is not <c>numEmbeddings·dims</c>, or it holds NaN/infinity.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float, Half or BFloat16.</exception>
    public static QuantizedTable Quantize<T>(ReadOnlySpan<T> weight, int numEmbeddings, int dims, int? groupSize = null, int? bits = null,
        QuantizationMode mode = QuantizationMode.Affine, float? globalScale = null, QuantizationBackend backend = QuantizationBackend.Cpu)
        where T : unmanaged
    {
        const string op = "quantize";
        DTypeOf<T>(op);
        Guard.NonNegative(op, numEmbeddings);
        Guard.NonNegative(op, dims);
        Guard.Length(op, weight.Length, (long)numEmbeddings * dims, $"numEmbeddings × dims = {numEmbeddings} × {dims}");
        return Create(null, weight, numEmbeddings, dims, groupSize, bits, mode, globalScale, backend);
    }

    private static unsafe QuantizedTable Create<T>(EmbeddingTable? table, ReadOnlySpan<T> span, int rows, int dims, int? groupSize, int? bits,
        QuantizationMode mode, float? globalScale, QuantizationBackend backend)
        where T : unmanaged
    {
        const string op = "quantize";
        DType dtype = DTypeOf<T>(op);
        var (qmode, gs, b) = QuantizationArguments.ValidateQuantize(dtype.ToMlxName(), [rows, dims], mode.ToMlxName(), groupSize, bits,
            globalScale is null ? null : [], "float32");
        if (globalScale is float g)
            Guard.PositiveFinite(op, g, nameof(globalScale));
        if (!Enum.IsDefined(backend))
            ThrowHelper.ArgumentOutOfRange(op, nameof(backend), backend, $"backend {backend} is unknown; valid values are Cpu, Gpu");
        int words = dims * b / 32, groups = dims / gs;
        int scaleSize = qmode == QuantizationMode.Affine ? dtype.SizeInBytes() : 1;
        if ((long)rows * words > Array.MaxLength || (long)rows * groups * scaleSize > Array.MaxLength)
            ThrowHelper.ArgumentOutOfRange(op, nameof(table), rows, $"{rows} rows of {dims} values are too many for one quantized table (at most {Array.MaxLength} packed words)");
        var weight = new uint[rows * words];
        var scales = new byte[rows * groups * scaleSize];
        byte[]? biases = qmode == QuantizationMode.Affine ? new byte[scales.Length] : null;
        bool gpu = backend == QuantizationBackend.Gpu;
        if (qmode == QuantizationMode.Affine)
        {
            var kernel = gpu ? SelectAffineQuantize<T, GpuRounding>(b) : SelectAffineQuantize<T, CpuRounding>(b);
            Span<T> scaleSpan = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(scales.AsSpan());
            Span<T> biasSpan = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(biases.AsSpan());
            for (int r = 0; r < rows; r++)
            {
                ReadOnlySpan<T> row = table is null ? span.Slice(r * dims, dims) : table.RowUnchecked<T>(r);
                kernel(row, gs, weight.AsSpan(r * words, words), scaleSpan.Slice(r * groups, groups), biasSpan.Slice(r * groups, groups), r);
            }
        }
        else
        {
            for (int r = 0; r < rows; r++)
            {
                ReadOnlySpan<T> row = table is null ? span.Slice(r * dims, dims) : table.RowUnchecked<T>(r);
                if (gpu)
                    FpQuantizer.QuantizeRow<T, GpuRounding>(row, qmode, gs, globalScale, weight.AsSpan(r * words, words), scales.AsSpan(r * groups, groups), r);
                else
                    FpQuantizer.QuantizeRow<T, CpuRounding>(row, qmode, gs, globalScale, weight.AsSpan(r * words, words), scales.AsSpan(r * groups, groups), r);
            }
        }
        return new QuantizedTable(rows, dims, gs, b, qmode, dtype, globalScale, weight, scales, biases);
    }

    private static unsafe delegate*<ReadOnlySpan<T>, int, Span<uint>, Span<T>, Span<T>, int, void> SelectAffineQuantize<T, TRound>(int bits)
        where T : unmanaged
        where TRound : struct, IBackendRounding => bits switch
        {
            2 => &AffineQuantizer.QuantizeRow<T, Bits2, TRound>,
            3 => &AffineQuantizer.QuantizeRow<T, Bits3, TRound>,
            4 => &AffineQuantizer.QuantizeRow<T, Bits4, TRound>,
            5 => &AffineQuantizer.QuantizeRow<T, Bits5, TRound>,
            6 => &AffineQuantizer.QuantizeRow<T, Bits6, TRound>,
            _ => &AffineQuantizer.QuantizeRow<T, Bits8, TRound>,
        };

    /// <summary>
    /// Wraps existing MLX arrays (e.g. read from a checkpoint): packed <paramref name="weight"/>
    /// (<c>numEmbeddings × dims·bits/32</c> words), raw <paramref name="scales"/> and <paramref name="biases"/>
    /// bytes (affine: elements of <paramref name="dtype"/>; fp modes: one byte per group, no biases). The data is copied.
    /// </summary>
    /// <remarks>
    /// Supported parameters are the ones <see cref="Quantize(EmbeddingTable, int?, int?, QuantizationMode, float?, QuantizationBackend)"/>
    /// produces: affine with group size 32/64/128 and bits 2, 3, 4, 5, 6, 8; mxfp4 (32, 4); nvfp4 (16, 4); mxfp8 (32, 8).
    /// For fp modes <paramref name="dtype"/> only records the original dtype.
    /// </remarks>
    /// <exception cref="ArgumentException">A length does not match the shape, or the parameters are not supported.</exception>
    public static QuantizedTable FromParts(int numEmbeddings, int dims, int groupSize, int bits, QuantizationMode mode, DType dtype,
        ReadOnlySpan<uint> weight, ReadOnlySpan<byte> scales, ReadOnlySpan<byte> biases, float? globalScale = null)
    {
        const string op = "quantized.from_parts";
        Guard.NonNegative(op, numEmbeddings);
        Guard.NonNegative(op, dims);
        if (!Enum.IsDefined(dtype))
            ThrowHelper.ArgumentOutOfRange(op, nameof(dtype), dtype, $"dtype {dtype} is unknown; valid values are Float32, Float16, BFloat16");
        CheckSupported(op, mode, groupSize, bits);
        if (dims % groupSize != 0)
            ThrowHelper.Argument(op, nameof(dims), $"dims {dims} is not a multiple of groupSize {groupSize}");
        if (globalScale is float g)
        {
            if (mode != QuantizationMode.Nvfp4)
                ThrowHelper.Argument(op, nameof(globalScale), $"a global scale is only valid in nvfp4 mode, not {mode.ToMlxName()}");
            Guard.PositiveFinite(op, g, nameof(globalScale));
        }
        long words = (long)dims * bits / 32, groups = dims / groupSize;
        int scaleSize = mode == QuantizationMode.Affine ? dtype.SizeInBytes() : 1;
        Guard.Length(op, weight.Length, numEmbeddings * words, $"numEmbeddings × dims·bits/32 = {numEmbeddings} × {words} words");
        Guard.Length(op, scales.Length, numEmbeddings * groups * scaleSize, $"numEmbeddings × dims/groupSize = {numEmbeddings} × {groups} scales of {scaleSize} bytes");
        if (mode == QuantizationMode.Affine)
            Guard.Length(op, biases.Length, numEmbeddings * groups * scaleSize, $"numEmbeddings × dims/groupSize = {numEmbeddings} × {groups} biases of {scaleSize} bytes");
        else if (!biases.IsEmpty)
            ThrowHelper.Argument(op, nameof(biases), $"{mode.ToMlxName()} has no biases but {biases.Length} bytes were given");
        return new QuantizedTable(numEmbeddings, dims, groupSize, bits, mode, dtype, globalScale, weight.ToArray(), scales.ToArray(),
            mode == QuantizationMode.Affine ? biases.ToArray() : null);
    }

    /// <summary>Checks that this library can compute with a (mode, groupSize, bits) combination.</summary>
    internal static void CheckSupported(string op, QuantizationMode mode, int groupSize, int bits)
    {
        switch (mode)
        {
            case QuantizationMode.Affine:
                if (groupSize is not (32 or 64 or 128))
                    ThrowHelper.Argument(op, nameof(groupSize), $"groupSize {groupSize} not supported for affine (32, 64, 128)");
                if (bits is not (2 or 3 or 4 or 5 or 6 or 8))
                    ThrowHelper.Argument(op, nameof(bits), $"bits {bits} not supported for affine (2, 3, 4, 5, 6, 8)");
                break;
            case QuantizationMode.Mxfp4 or QuantizationMode.Nvfp4 or QuantizationMode.Mxfp8:
                var (g, b) = QuantizationModes.Defaults(mode);
                if (groupSize != g || bits != b)
                    ThrowHelper.Argument(op, nameof(groupSize), $"{mode.ToMlxName()} needs groupSize {g} and bits {b}, not groupSize {groupSize} and bits {bits}");
                break;
            default:
                ThrowHelper.ArgumentOutOfRange(op, nameof(mode), mode, $"mode {(int)mode} is unknown; valid values are {QuantizationModes.ValidNames}");
                break;
        }
    }

    internal static DType DTypeOf<T>(string op) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return DType.Float32;
        if (typeof(T) == typeof(Half))
            return DType.Float16;
        if (typeof(T) == typeof(BFloat16))
            return DType.BFloat16;
        ThrowHelper.NotSupported(op, $"element type {typeof(T).Name} cannot be quantized; valid types are float, Half, BFloat16");
        return default;
    }
}
