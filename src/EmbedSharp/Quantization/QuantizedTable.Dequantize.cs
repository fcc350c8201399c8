using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Quantization;

public sealed partial class QuantizedTable
{
    /// <summary>
    /// Dequantizes the whole table as <c>mx.dequantize(wq, scales, biases, group_size, bits, mode, global_scale, dtype)</c>
    /// does, bit for bit, into a new dense table.
    /// </summary>
    /// <param name="dtype">
    /// Output dtype; null takes MLX's default: the scales' dtype (<see cref="DType"/>) for affine, bfloat16 for fp modes.
    /// </param>
    /// <param name="backend">fp modes only: whose arithmetic to reproduce (see remarks).</param>
    /// <remarks>
    /// Affine: <c>T(T(q·s) + b)</c> in the scales' dtype T (or <c>T(q·s + b)</c> with <see cref="FusedDequantize"/>),
    /// then converted to <paramref name="dtype"/>. fp modes, GPU: <c>out(scale · element)</c> with the scale in float32
    /// (times <c>global_scale / 2688</c>). fp modes, CPU: <c>out(out(element) · out(scale))</c>, which differs from
    /// the GPU only where the scale underflows the output type; with a global scale MLX's CPU fallback promotes to
    /// float32, so the result is float32 whatever <paramref name="dtype"/> says (MLX's quirk, reproduced).
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> or <paramref name="backend"/> is not defined.</exception>
    public EmbeddingTable Dequantize(DType? dtype = null, QuantizationBackend backend = QuantizationBackend.Cpu)
    {
        const string op = "dequantize";
        if (dtype is DType d && !Enum.IsDefined(d))
            ThrowHelper.ArgumentOutOfRange(op, nameof(dtype), d, $"dtype {d} is unknown; valid values are Float32, Float16, BFloat16");
        if (!Enum.IsDefined(backend))
            ThrowHelper.ArgumentOutOfRange(op, nameof(backend), backend, $"backend {backend} is unknown; valid values are Cpu, Gpu");
        DType outType = OutputDType(dtype, backend);
        var result = new EmbeddingTable(NumEmbeddings, Dims, outType);
        var row = new float[Dims];
        for (int r = 0; r < NumEmbeddings; r++)
        {
            DequantizeRowAs(r, outType, backend, row);
            result.WriteRowUnchecked(r, row);
        }
        return result;
    }

    /// <summary>The dtype <see cref="Dequantize"/> returns for these arguments.</summary>
    public DType OutputDType(DType? dtype = null, QuantizationBackend backend = QuantizationBackend.Cpu)
    {
        if (Mode == QuantizationMode.Affine)
            return dtype ?? DType;
        if (GlobalScale is not null && backend == QuantizationBackend.Cpu)
            return DType.Float32;
        return dtype ?? DType.BFloat16;
    }

    /// <summary>One row of <see cref="Dequantize"/>: the values MLX returns in <paramref name="outType"/>, widened to float.</summary>
    internal void DequantizeRowAs(int row, DType outType, QuantizationBackend backend, Span<float> destination)
    {
        if (Mode == QuantizationMode.Affine)
        {
            DequantizeRowUnchecked(row, destination);
            if (outType != DType)
            {
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = RoundTo(outType, destination[i]);
            }
            return;
        }
        ReadOnlySpan<uint> packed = CodesOf(row);
        ReadOnlySpan<byte> scales = ScalesOf(row);
        float inv = GlobalScale is float g ? g / (448f * 6f) : 1f;
        for (int i = 0; i < destination.Length; i++)
        {
            float element = FpDequantizer.ElementValue(Mode, BitPacking.ReadCode(packed, i, Bits));
            float scale = FpDequantizer.ScaleValue(Mode, scales[i / GroupSize]);
            if (GlobalScale is not null)
                destination[i] = RoundTo(outType, element * (scale * inv));
            else if (backend == QuantizationBackend.Gpu)
                destination[i] = RoundTo(outType, scale * element);
            else
                destination[i] = RoundTo(outType, RoundTo(outType, element) * RoundTo(outType, scale));
        }
    }

    /// <summary>The unpacked codes of row <paramref name="row"/> (MLX's <c>codes</c>): <see cref="Dims"/> bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is not in [0, NumEmbeddings).</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Dims"/>.</exception>
    public void GetCodes(int row, Span<byte> destination)
    {
        const string op = "quantized.codes";
        CheckRow(op, row);
        Guard.MinLength(op, destination.Length, Dims, "one row");
        BitPacking.Unpack(GetWeightRow(row), Bits, destination[..Dims]);
    }

    /// <summary>Scale <paramref name="group"/> of row <paramref name="row"/> as a float (affine: the stored value; fp: the decoded byte).</summary>
    public float GetScale(int row, int group)
    {
        CheckRow("quantized.scale", row);
        Guard.InRange("quantized.scale", group, 0, GroupsPerRow);
        return Mode == QuantizationMode.Affine ? ReadElement(ScalesOf(row), group) : FpDequantizer.ScaleValue(Mode, ScalesOf(row)[group]);
    }

    /// <summary>Bias <paramref name="group"/> of row <paramref name="row"/> (affine only; 0 in fp modes).</summary>
    public float GetBias(int row, int group)
    {
        CheckRow("quantized.bias", row);
        Guard.InRange("quantized.bias", group, 0, GroupsPerRow);
        return HasBiases ? ReadElement(BiasesOf(row), group) : 0f;
    }

    private float ReadElement(ReadOnlySpan<byte> raw, int index) => DType switch
    {
        DType.Float32 => BitConverter.ToSingle(raw.Slice(index * 4, 4)),
        DType.Float16 => (float)BitConverter.ToHalf(raw.Slice(index * 2, 2)),
        _ => BFloat16.BitsToSingle(BitConverter.ToUInt16(raw.Slice(index * 2, 2))),
    };

    internal static float RoundTo(DType dtype, float value) => dtype switch
    {
        DType.Float32 => value,
        DType.Float16 => (float)(Half)value,
        _ => BFloat16.BitsToSingle(BFloat16.RoundToBits(value)),
    };
}
