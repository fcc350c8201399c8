using System.Text;

namespace EmbedSharp.Quantization;

/// <summary>
/// MLX's argument validation for <c>mx.quantize</c> and <c>mx.dequantize</c>, on array descriptions
/// (dtype names and shapes), in MLX's order and with MLX's messages. The typed entry points
/// (<see cref="QuantizedTable"/>) and the checkpoint reader run their arguments through here, so a
/// call MLX rejects is rejected here with the same text.
/// </summary>
/// <remarks>
/// Dtype names are MLX's: <c>float32</c>, <c>float16</c>, <c>bfloat16</c>, <c>float64</c>, <c>uint8</c>,
/// <c>uint32</c>, <c>int32</c>, ... Shapes are printed as MLX prints them, <c>(4,100)</c>.
/// Every failure throws <see cref="QuantizationArgumentException"/> (MLX's <c>ValueError</c>).
/// </remarks>
public static class QuantizationArguments
{
    /// <summary>True for MLX's floating dtypes: float16, bfloat16, float32, float64.</summary>
    public static bool IsFloating(string? dtype) => dtype is "float16" or "bfloat16" or "float32" or "float64";

    /// <summary>
    /// Validates a quantize call as <c>mx.quantize(w, group_size, bits, mode, global_scale=...)</c> does and
    /// returns the resolved parameters.
    /// </summary>
    /// <param name="dtype">dtype of <c>w</c>.</param>
    /// <param name="shape">shape of <c>w</c>.</param>
    /// <param name="mode">mode name.</param>
    /// <param name="groupSize">group size, or null for the mode's default.</param>
    /// <param name="bits">bits, or null for the mode's default.</param>
    /// <param name="globalScaleShape">shape of the global scale, or null when none is given.</param>
    /// <param name="globalScaleDType">dtype of the global scale.</param>
    /// <remarks>
    /// Order (spec §5.1): mode; defaults; floating dtype; ndim ≥ 2; last dimension divisible by the
    /// group size; global scale (nvfp4 only, a scalar, float32); then per mode the supported group
    /// sizes and bits. The divisibility check runs before the group-size check, so <c>D = 100, gs = 16</c>
    /// reports divisibility.
    /// </remarks>
    /// <exception cref="QuantizationArgumentException">Any rule is broken (MLX's message).</exception>
    public static (QuantizationMode Mode, int GroupSize, int Bits) ValidateQuantize(
        string dtype, ReadOnlySpan<long> shape, string mode = "affine", int? groupSize = null, int? bits = null,
        long[]? globalScaleShape = null, string globalScaleDType = "float32")
    {
        var qmode = QuantizationModes.Parse(mode, "quantize");
        var (gs, b) = QuantizationModes.Resolve(qmode, groupSize, bits);
        if (!IsFloating(dtype))
            throw new QuantizationArgumentException($"[quantize] Only real floating types can be quantized but w has type {dtype}.", "w");
        if (shape.Length < 2)
            throw new QuantizationArgumentException($"[quantize] The matrix to be quantized must have at least 2 dimension but it has only {shape.Length}.", "w");
        // MLX checks divisibility before the supported group sizes. (A group size ≤ 0 would divide by
        // zero in MLX; here it skips this check and fails the group-size check below.)
        // The double space before "matrix" is MLX's.
        if (gs > 0 && shape[^1] % gs != 0)
            throw new QuantizationArgumentException(
                $"[quantize] The last dimension of the matrix needs to be divisible by the quantization group size {gs}. However the provided  matrix has shape {FormatShape(shape)}", "groupSize");
        ValidateGlobalScale("quantize", qmode, globalScaleShape, globalScaleDType);
        if (qmode == QuantizationMode.Affine)
        {
            if (gs != 32 && gs != 64 && gs != 128)
                throw new QuantizationArgumentException(
                    $"[quantize] The requested group size {gs} is not supported. The supported group sizes are 32, 64, and 128.", "groupSize");
            if (b < 2 || b > 8 || b == 7)
                throw new QuantizationArgumentException(
                    $"[quantize] The requested number of bits {b} is not supported. The supported bits are 2, 3, 4, 5, 6 and 8.", "bits");
        }
        else
        {
            CheckFpParameters("quantize", qmode, gs, b);
        }
        return (qmode, gs, b);
    }

    /// <summary>
    /// Validates a dequantize call as <c>mx.dequantize(w, scales, biases, group_size, bits, mode, global_scale, dtype)</c>
    /// does and returns the resolved parameters and the output dtype.
    /// </summary>
    /// <param name="wDType">dtype of the packed matrix (must be <c>uint32</c>).</param>
    /// <param name="wShape">shape of the packed matrix.</param>
    /// <param name="scalesDType">dtype of the scales.</param>
    /// <param name="scalesShape">shape of the scales.</param>
    /// <param name="biasesDType">dtype of the biases, or null when no biases are given.</param>
    /// <param name="biasesShape">shape of the biases (ignored when <paramref name="biasesDType"/> is null).</param>
    /// <param name="mode">mode name.</param>
    /// <param name="groupSize">group size, or null for the mode's default.</param>
    /// <param name="bits">bits, or null for the mode's default.</param>
    /// <param name="globalScaleShape">shape of the global scale, or null when none is given.</param>
    /// <param name="globalScaleDType">dtype of the global scale.</param>
    /// <param name="outDType">requested output dtype, or null for MLX's default.</param>
    /// <remarks>
    /// Order (spec §6.6, §7.4): mode; output dtype floating; affine: biases given and
    /// <c>result_type(scales, biases)</c> floating; fp: scales uint8 and no biases; defaults; bits &gt; 0;
    /// group size &gt; 0; w uint32; w.ndim ≥ 2; global scale; fp: exact group size and bits; shapes.
    /// Affine dequantize accepts any positive group size and bits consistent with the shapes.
    /// The output dtype defaults to <c>result_type(scales, biases)</c> (affine) or <c>bfloat16</c> (fp modes).
    /// </remarks>
    /// <exception cref="QuantizationArgumentException">Any rule is broken (MLX's message).</exception>
    public static (QuantizationMode Mode, int GroupSize, int Bits, string OutDType) ValidateDequantize(
        string wDType, ReadOnlySpan<long> wShape, string scalesDType, ReadOnlySpan<long> scalesShape,
        string? biasesDType, ReadOnlySpan<long> biasesShape, string mode = "affine", int? groupSize = null, int? bits = null,
        long[]? globalScaleShape = null, string globalScaleDType = "float32", string? outDType = null)
    {
        const string op = "dequantize";
        var qmode = QuantizationModes.Parse(mode, op);
        if (outDType is not null && !IsFloating(outDType))
            throw new QuantizationArgumentException($"[{op}] Only real floating types are supported but output dtype == {outDType}.", "dtype");
        string resolvedOut;
        if (qmode == QuantizationMode.Affine)
        {
            if (biasesDType is null)
                throw new QuantizationArgumentException($"[{op}] Biases must be provided for affine quantization.", "biases");
            string? promoted = PromoteFloating(scalesDType, biasesDType);
            if (promoted is null)
                throw new QuantizationArgumentException(
                    $"[{op}] Only real floating types are supported but scales.dtype() == {scalesDType} and biases.dtype() == {biasesDType}.", "scales");
            resolvedOut = outDType ?? promoted;
        }
        else
        {
            if (scalesDType != "uint8")
                throw new QuantizationArgumentException($"[{op}] Scale type must be uint8 but received type {scalesDType}.", "scales");
            if (biasesDType is not null)
                throw new QuantizationArgumentException($"[{op}] Biases must be null for quantization mode '{mode}'.", "biases");
            resolvedOut = outDType ?? "bfloat16";
        }
        var (gs, b) = QuantizationModes.Resolve(qmode, groupSize, bits);
        if (b <= 0)
            throw new QuantizationArgumentException($"[{op}] Invalid value for bits: {b}", "bits");
        if (gs <= 0)
            throw new QuantizationArgumentException($"[{op}] Invalid value for group_size: {gs}", "groupSize");
        if (wDType != "uint32")
            throw new QuantizationArgumentException($"[{op}] The matrix should be given as a uint32", "w");
        if (wShape.Length < 2)
            throw new QuantizationArgumentException($"[{op}] The matrix to be dequantized must have at least 2 dimension but it has only {wShape.Length}.", "w");
        ValidateGlobalScale(op, qmode, globalScaleShape, globalScaleDType);
        if (qmode == QuantizationMode.Affine)
        {
            const string mismatch = "[dequantize] Shape of scales and biases does not match the matrix";
            if (wShape.Length != scalesShape.Length || wShape.Length != biasesShape.Length)
                throw new QuantizationArgumentException(mismatch, "scales");
            if (!wShape[..^1].SequenceEqual(scalesShape[..^1]) || !wShape[..^1].SequenceEqual(biasesShape[..^1]))
                throw new QuantizationArgumentException(mismatch, "scales");
            if (wShape[^1] * 32 / b != scalesShape[^1] * gs)
                throw new QuantizationArgumentException(
                    $"[{op}] Shape of scales and biases does not match the matrix given the quantization parameters. Provided matrix of shape {FormatShape(wShape)} and scales/biases of shape {FormatShape(scalesShape)} with group_size={gs} and bits={b}.", "scales");
        }
        else
        {
            CheckFpParameters(op, qmode, gs, b);
            const string mismatch = "[dequantize] Shape of scales does not match the matrix";
            if (wShape.Length != scalesShape.Length || !wShape[..^1].SequenceEqual(scalesShape[..^1]))
                throw new QuantizationArgumentException(mismatch, "scales");
            if (wShape[^1] * 32 / b != scalesShape[^1] * gs)
                throw new QuantizationArgumentException(
                    $"[{op}] Shape of scales does not match the matrix given the quantization parameters. Provided matrix of shape {FormatShape(wShape)} and scales of shape {FormatShape(scalesShape)}.", "scales");
        }
        return (qmode, gs, b, resolvedOut);
    }

    /// <summary>Formats a shape as MLX prints it: <c>(4,100)</c>.</summary>
    public static string FormatShape(ReadOnlySpan<long> shape)
    {
        var sb = new StringBuilder("(");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0)
                sb.Append(',');
            sb.Append(shape[i]);
        }
        return sb.Append(')').ToString();
    }

    /// <summary>MLX's <c>result_type</c> restricted to what dequantize needs; null when the result is not floating.</summary>
    internal static string? PromoteFloating(string a, string b)
    {
        bool fa = IsFloating(a), fb = IsFloating(b);
        if (!fa && !fb)
            return null;
        if (!fa)
            return b;
        if (!fb || a == b)
            return a;
        if (a == "float64" || b == "float64")
            return "float64";
        // float16 with bfloat16, or either with float32, promotes to float32.
        return "float32";
    }

    private static void ValidateGlobalScale(string op, QuantizationMode mode, long[]? shape, string dtype)
    {
        if (shape is null)
            return;
        if (mode != QuantizationMode.Nvfp4)
            throw new QuantizationArgumentException($"[{op}] Global scale is only supported for 'nvfp4' quantization mode.", "globalScale");
        long size = 1;
        foreach (long d in shape)
            size *= d;
        if (size != 1)
            throw new QuantizationArgumentException($"[{op}] Global scale must be a scalar but got shape {FormatShape(shape)}.", "globalScale");
        if (dtype != "float32")
            throw new QuantizationArgumentException($"[{op}] Global scale must have dtype float32 but got {dtype}.", "globalScale");
    }

    private static void CheckFpParameters(string op, QuantizationMode mode, int groupSize, int bits)
    {
        int expectedGroup = mode == QuantizationMode.Nvfp4 ? 16 : 32;
        int expectedBits = mode == QuantizationMode.Mxfp8 ? 8 : 4;
        if (groupSize != expectedGroup)
            throw new QuantizationArgumentException(
                $"[{op}] {mode.ToMlxName()} quantization requires group size {expectedGroup} but got {groupSize}.", "groupSize");
        if (bits != expectedBits)
            throw new QuantizationArgumentException(
                $"[{op}] {mode.ToMlxName()} quantization requires bits to be {expectedBits} but got {bits}.", "bits");
    }
}
