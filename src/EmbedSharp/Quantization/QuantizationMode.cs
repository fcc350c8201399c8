namespace EmbedSharp.Quantization;

/// <summary>The four MLX quantization modes (MLX's <c>mode</c> argument).</summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>mode</term><description>group sizes · bits · scale · element</description></listheader>
/// <item><term><see cref="Affine"/></term><description>32, 64*, 128 · 2, 3, 4*, 5, 6, 8 · input dtype, plus a bias · unsigned code q, value <c>q·s + b</c></description></item>
/// <item><term><see cref="Mxfp4"/></term><description>32 · 4 · E8M0 byte · FP4 E2M1</description></item>
/// <item><term><see cref="Nvfp4"/></term><description>16 · 4 · E4M3 byte (optional float32 global scale) · FP4 E2M1</description></item>
/// <item><term><see cref="Mxfp8"/></term><description>32 · 8 · E8M0 byte · FP8 E4M3</description></item>
/// </list>
/// (* = MLX's default.)
/// </remarks>
public enum QuantizationMode
{
    /// <summary>Group-wise affine integers with a scale and a bias per group (MLX's default).</summary>
    Affine,
    /// <summary>OCP microscaling FP4: E2M1 elements, a power-of-two E8M0 scale per 32 elements.</summary>
    Mxfp4,
    /// <summary>NVIDIA FP4: E2M1 elements, an E4M3 scale per 16 elements, optional global scale.</summary>
    Nvfp4,
    /// <summary>OCP microscaling FP8: E4M3 elements, an E8M0 scale per 32 elements.</summary>
    Mxfp8,
}

/// <summary>
/// Which MLX implementation to reproduce where MLX's CPU and GPU kernels disagree (spec §6.3, §7.5).
/// </summary>
/// <remarks>
/// <see cref="Cpu"/> (the default) matches <c>mx.quantize</c> on a CPU stream: min/max reductions start at
/// ±∞ and ties round half to even. <see cref="Gpu"/> matches the Metal kernels that produced the
/// checkpoints published from Apple-silicon Macs: the affine maximum starts at 0, ties round half away
/// from zero, fp modes multiply by a rounded reciprocal and encode FP4 with a threshold table.
/// Dequantized values agree between the two except for the rare cases the spec lists.
/// </remarks>
public enum QuantizationBackend
{
    /// <summary>MLX's CPU kernels and composed-op fallbacks (round half to even).</summary>
    Cpu,
    /// <summary>MLX's Metal kernels (round half away from zero, different reduction start values).</summary>
    Gpu,
}

/// <summary>MLX names, defaults and limits of each <see cref="QuantizationMode"/>.</summary>
public static class QuantizationModes
{
    /// <summary>The valid mode names, in MLX's order.</summary>
    public const string ValidNames = "affine, mxfp4, nvfp4, mxfp8";

    /// <summary>The MLX spelling of a mode: <c>affine</c>, <c>mxfp4</c>, <c>nvfp4</c>, <c>mxfp8</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a defined value.</exception>
    public static string ToMlxName(this QuantizationMode mode) => mode switch
    {
        QuantizationMode.Affine => "affine",
        QuantizationMode.Mxfp4 => "mxfp4",
        QuantizationMode.Nvfp4 => "nvfp4",
        QuantizationMode.Mxfp8 => "mxfp8",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, $"[quantize] mode {(int)mode} is not defined; valid modes are {ValidNames}"),
    };

    /// <summary>Parses an MLX mode name (exact, lower-case, as MLX compares it).</summary>
    /// <param name="mode">The name, e.g. <c>"affine"</c>.</param>
    /// <param name="op">The operation to name in the error (<c>quantize</c>, <c>dequantize</c>, ...).</param>
    /// <exception cref="QuantizationArgumentException">
    /// An unknown name: <c>[op] Invalid quantization mode 'xyz'.</c> (MLX's message).
    /// </exception>
    public static QuantizationMode Parse(string mode, string op = "quantize")
    {
        if (TryParse(mode, out var result))
            return result;
        throw new QuantizationArgumentException($"[{op}] Invalid quantization mode '{mode}'.", nameof(mode));
    }

    /// <summary>Parses an MLX mode name; false for anything else (including null).</summary>
    public static bool TryParse(string? mode, out QuantizationMode result)
    {
        switch (mode)
        {
            case "affine": result = QuantizationMode.Affine; return true;
            case "mxfp4": result = QuantizationMode.Mxfp4; return true;
            case "nvfp4": result = QuantizationMode.Nvfp4; return true;
            case "mxfp8": result = QuantizationMode.Mxfp8; return true;
            default: result = default; return false;
        }
    }

    /// <summary>MLX's defaults: affine (64, 4), mxfp4 (32, 4), nvfp4 (16, 4), mxfp8 (32, 8).</summary>
    public static (int GroupSize, int Bits) Defaults(QuantizationMode mode) => mode switch
    {
        QuantizationMode.Affine => (64, 4),
        QuantizationMode.Mxfp4 => (32, 4),
        QuantizationMode.Nvfp4 => (16, 4),
        QuantizationMode.Mxfp8 => (32, 8),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, $"[quantize] mode {(int)mode} is not defined; valid modes are {ValidNames}"),
    };

    /// <summary>
    /// Applies MLX's op-level defaults: a null argument takes the mode's default; any given value
    /// (including 0) is kept and validated later, as <c>quantization_params_from_mode</c> does.
    /// </summary>
    public static (int GroupSize, int Bits) Resolve(QuantizationMode mode, int? groupSize, int? bits)
    {
        var (g, b) = Defaults(mode);
        return (groupSize ?? g, bits ?? b);
    }

    /// <summary>True for the modes without biases and with uint8 scales.</summary>
    public static bool IsFloatingPoint(this QuantizationMode mode) => mode != QuantizationMode.Affine;
}

/// <summary>
/// An argument MLX would reject with <c>ValueError</c>. <see cref="Exception.Message"/> is MLX's text
/// exactly (e.g. <c>[quantize] The requested group size 16 is not supported. The supported group sizes
/// are 32, 64, and 128.</c>), so messages can be compared with MLX's one for one.
/// </summary>
public sealed class QuantizationArgumentException : ArgumentException
{
    private readonly string _text;

    /// <summary>Creates the exception with MLX's message and the offending parameter's name.</summary>
    public QuantizationArgumentException(string message, string? paramName = null)
        : base(message, paramName) => _text = message;

    /// <summary>MLX's message, without the parameter-name suffix <see cref="ArgumentException"/> adds.</summary>
    public override string Message => _text;
}
