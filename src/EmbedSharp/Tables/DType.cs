namespace EmbedSharp.Tables;

/// <summary>Element type of a dense table's storage. Arithmetic is always done in float32.</summary>
public enum DType
{
    /// <summary>IEEE binary32, 4 bytes.</summary>
    Float32,
    /// <summary>IEEE binary16 (<see cref="Half"/>), 2 bytes; written with round-to-nearest-even.</summary>
    Float16,
    /// <summary>bfloat16 (<see cref="Numerics.BFloat16"/>), 2 bytes; written with round-to-nearest-even.</summary>
    BFloat16,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypeExtensions
{
    /// <summary>Bytes per element.</summary>
    public static int SizeInBytes(this DType dtype) => dtype switch
    {
        DType.Float32 => 4,
        DType.Float16 => 2,
        DType.BFloat16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "[dtype] unknown dtype; valid values are Float32, Float16, BFloat16"),
    };

    /// <summary>The lower-case name used by MLX, PyTorch and safetensors (<c>float32</c>, <c>float16</c>, <c>bfloat16</c>).</summary>
    public static string ToMlxName(this DType dtype) => dtype switch
    {
        DType.Float32 => "float32",
        DType.Float16 => "float16",
        DType.BFloat16 => "bfloat16",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "[dtype] unknown dtype; valid values are Float32, Float16, BFloat16"),
    };
}
