using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;

namespace EmbedSharp.Redis;

/// <summary>How a row is stored as a Redis value.</summary>
public enum RedisRowFormat
{
    /// <summary><c>Dims</c> little-endian float32 values (<c>4·Dims</c> bytes); reads are bit-exact.</summary>
    Float32,

    /// <summary><c>Dims</c> little-endian float16 values (<c>2·Dims</c> bytes), rounded to nearest even.</summary>
    Float16,

    /// <summary>
    /// FBGEMM's row-wise int8 (<see cref="RowwiseQuantizedTable"/> with 8 bits): <c>Dims</c> uint8 codes, then the
    /// row's float16 scale and float16 bias (<c>Dims + 4</c> bytes); a value reads as <c>scale·q + bias</c>.
    /// </summary>
    Int8,
}

/// <summary>Encodes rows into a format's value bytes and decodes them back (the one place that knows each layout).</summary>
internal static class RowCodec
{
    /// <summary>Bytes of one stored row.</summary>
    public static int RowBytes(RedisRowFormat format, int dims) => format switch
    {
        RedisRowFormat.Float32 => 4 * dims,
        RedisRowFormat.Float16 => 2 * dims,
        _ => dims + 4,
    };

    /// <summary>
    /// Encodes <paramref name="count"/> float32 rows (row-major, <paramref name="dims"/> each) into one value per row.
    /// Int8 rows go through core's <see cref="RowwiseQuantizedTable"/>, so a decoded row equals that table's row bit for bit.
    /// </summary>
    public static byte[][] Encode(RedisRowFormat format, ReadOnlySpan<float> rows, int count, int dims)
    {
        var values = new byte[count][];
        int rowBytes = RowBytes(format, dims);
        switch (format)
        {
            case RedisRowFormat.Float32:
                for (int r = 0; r < count; r++)
                {
                    var value = new byte[rowBytes];
                    if (BitConverter.IsLittleEndian)
                        MemoryMarshal.AsBytes(rows.Slice(r * dims, dims)).CopyTo(value);
                    else
                        for (int i = 0; i < dims; i++)
                            BinaryPrimitives.WriteSingleLittleEndian(value.AsSpan(4 * i), rows[r * dims + i]);
                    values[r] = value;
                }
                break;
            case RedisRowFormat.Float16:
                {
                    var halves = new Half[dims];
                    for (int r = 0; r < count; r++)
                    {
                        Kernels.Narrow(rows.Slice(r * dims, dims), halves);
                        var value = new byte[rowBytes];
                        for (int i = 0; i < dims; i++)
                            BinaryPrimitives.WriteHalfLittleEndian(value.AsSpan(2 * i), halves[i]);
                        values[r] = value;
                    }
                    break;
                }
            default:
                {
                    var quantized = RowwiseQuantizedTable.Quantize(rows[..(count * dims)], count, dims, 8);
                    ReadOnlySpan<byte> codes = quantized.Codes;
                    for (int r = 0; r < count; r++)
                    {
                        var value = new byte[rowBytes];
                        codes.Slice(r * dims, dims).CopyTo(value);
                        BinaryPrimitives.WriteHalfLittleEndian(value.AsSpan(dims), quantized.Scales[r]);
                        BinaryPrimitives.WriteHalfLittleEndian(value.AsSpan(dims + 2), quantized.Biases[r]);
                        values[r] = value;
                    }
                    break;
                }
        }
        return values;
    }

    /// <summary>Decodes one stored row (its length already checked) into <paramref name="destination"/> (Dims floats).</summary>
    public static void Decode(RedisRowFormat format, ReadOnlySpan<byte> value, Span<float> destination)
    {
        int dims = destination.Length;
        switch (format)
        {
            case RedisRowFormat.Float32:
                if (BitConverter.IsLittleEndian)
                    MemoryMarshal.Cast<byte, float>(value).CopyTo(destination);
                else
                    for (int i = 0; i < dims; i++)
                        destination[i] = BinaryPrimitives.ReadSingleLittleEndian(value[(4 * i)..]);
                break;
            case RedisRowFormat.Float16:
                if (BitConverter.IsLittleEndian)
                    Kernels.Widen(MemoryMarshal.Cast<byte, Half>(value), destination);
                else
                    for (int i = 0; i < dims; i++)
                        destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(value[(2 * i)..]);
                break;
            default:
                {
                    // The same two roundings as RowwiseQuantizedTable's row source: scale·q in float32, then + bias.
                    float scale = (float)BinaryPrimitives.ReadHalfLittleEndian(value[dims..]);
                    float bias = (float)BinaryPrimitives.ReadHalfLittleEndian(value[(dims + 2)..]);
                    for (int i = 0; i < dims; i++)
                        destination[i] = scale * value[i] + bias;
                    break;
                }
        }
    }
}
