namespace EmbedSharp.Formats.Safetensors;

/// <summary>The element types a safetensors header may name (the <c>dtype</c> strings of the format).</summary>
public enum SafetensorsDType
{
    /// <summary><c>BOOL</c>, 1 byte.</summary>
    Bool,
    /// <summary><c>U8</c>.</summary>
    U8,
    /// <summary><c>I8</c>.</summary>
    I8,
    /// <summary><c>U16</c>.</summary>
    U16,
    /// <summary><c>I16</c>.</summary>
    I16,
    /// <summary><c>F16</c> (IEEE binary16).</summary>
    F16,
    /// <summary><c>BF16</c> (bfloat16).</summary>
    BF16,
    /// <summary><c>U32</c> (MLX's packed quantized weights).</summary>
    U32,
    /// <summary><c>I32</c>.</summary>
    I32,
    /// <summary><c>F32</c>.</summary>
    F32,
    /// <summary><c>U64</c>.</summary>
    U64,
    /// <summary><c>I64</c>.</summary>
    I64,
    /// <summary><c>F64</c>.</summary>
    F64,
    /// <summary><c>F8_E4M3</c> (one byte; MLX reads it as uint8).</summary>
    F8E4M3,
    /// <summary><c>F8_E5M2</c> (one byte).</summary>
    F8E5M2,
    /// <summary><c>F8_E8M0</c> (one byte; MLX reads it as uint8).</summary>
    F8E8M0,
}

/// <summary>Names and sizes of <see cref="SafetensorsDType"/> values.</summary>
public static class SafetensorsDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeInBytes(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.Bool or SafetensorsDType.U8 or SafetensorsDType.I8 or SafetensorsDType.F8E4M3
            or SafetensorsDType.F8E5M2 or SafetensorsDType.F8E8M0 => 1,
        SafetensorsDType.U16 or SafetensorsDType.I16 or SafetensorsDType.F16 or SafetensorsDType.BF16 => 2,
        SafetensorsDType.U32 or SafetensorsDType.I32 or SafetensorsDType.F32 => 4,
        SafetensorsDType.U64 or SafetensorsDType.I64 or SafetensorsDType.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "[safetensors] unknown dtype"),
    };

    /// <summary>The header spelling (<c>F32</c>, <c>BF16</c>, <c>F8_E4M3</c>, ...).</summary>
    public static string ToHeaderName(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.Bool => "BOOL",
        SafetensorsDType.F8E4M3 => "F8_E4M3",
        SafetensorsDType.F8E5M2 => "F8_E5M2",
        SafetensorsDType.F8E8M0 => "F8_E8M0",
        _ when Enum.IsDefined(dtype) => dtype.ToString(),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "[safetensors] unknown dtype"),
    };

    /// <summary>All header spellings, for error messages.</summary>
    public const string ValidNames = "BOOL, U8, I8, U16, I16, F16, BF16, U32, I32, F32, U64, I64, F64, F8_E4M3, F8_E5M2, F8_E8M0";

    /// <summary>Parses a header spelling; false for anything else.</summary>
    public static bool TryParse(string? name, out SafetensorsDType dtype)
    {
        switch (name)
        {
            case "BOOL": dtype = SafetensorsDType.Bool; return true;
            case "F8_E4M3": dtype = SafetensorsDType.F8E4M3; return true;
            case "F8_E5M2": dtype = SafetensorsDType.F8E5M2; return true;
            case "F8_E8M0": dtype = SafetensorsDType.F8E8M0; return true;
            case "U8" or "I8" or "U16" or "I16" or "F16" or "BF16" or "U32" or "I32" or "F32" or "U64" or "I64" or "F64":
                dtype = Enum.Parse<SafetensorsDType>(name);
                return true;
            default:
                dtype = default;
                return false;
        }
    }

    /// <summary>The safetensors dtype of a core table dtype.</summary>
    public static SafetensorsDType FromTableDType(Tables.DType dtype) => dtype switch
    {
        Tables.DType.Float32 => SafetensorsDType.F32,
        Tables.DType.Float16 => SafetensorsDType.F16,
        Tables.DType.BFloat16 => SafetensorsDType.BF16,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "[safetensors] unknown table dtype; valid values are Float32, Float16, BFloat16"),
    };

    /// <summary>The core table dtype of a floating safetensors dtype, or null for other dtypes.</summary>
    public static Tables.DType? ToTableDType(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F32 => Tables.DType.Float32,
        SafetensorsDType.F16 => Tables.DType.Float16,
        SafetensorsDType.BF16 => Tables.DType.BFloat16,
        _ => null,
    };

    /// <summary>MLX's name of the dtype as MLX loads it (F8 types load as uint8).</summary>
    public static string ToMlxName(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.Bool => "bool",
        SafetensorsDType.U8 or SafetensorsDType.F8E4M3 or SafetensorsDType.F8E5M2 or SafetensorsDType.F8E8M0 => "uint8",
        SafetensorsDType.I8 => "int8",
        SafetensorsDType.U16 => "uint16",
        SafetensorsDType.I16 => "int16",
        SafetensorsDType.F16 => "float16",
        SafetensorsDType.BF16 => "bfloat16",
        SafetensorsDType.U32 => "uint32",
        SafetensorsDType.I32 => "int32",
        SafetensorsDType.F32 => "float32",
        SafetensorsDType.U64 => "uint64",
        SafetensorsDType.I64 => "int64",
        _ => "float64",
    };
}
