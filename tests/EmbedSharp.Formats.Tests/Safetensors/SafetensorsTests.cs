using System.Buffers.Binary;
using System.Text;
using EmbedSharp.Formats.Safetensors;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.Tests.Safetensors;

public sealed class SafetensorsTests
{
    private static byte[] Build(string headerJson, byte[] data)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    private static SafetensorsReader OpenBytes(byte[] file) => SafetensorsReader.Open(new MemoryStream(file), ownsStream: true);

    [Fact]
    public void Round_trip_preserves_every_dtype_and_metadata()
    {
        var w = new SafetensorsWriter();
        w.Metadata["format"] = "mlx";
        w.Add<float>("f32", [2, 3], [1f, -2f, 3.5f, float.NaN, -0f, float.Epsilon]);
        w.Add<Half>("f16", [2], [(Half)1.5f, (Half)(-65504f)]);
        w.Add<BFloat16>("bf16", [1, 2], [(BFloat16)3f, BFloat16.FromBits(0x7FC0)]);
        w.Add<uint>("u32", [3], [0u, 0xDEADBEEFu, uint.MaxValue]);
        w.Add<byte>("u8", [4], [0, 1, 127, 255]);
        w.Add<int>("i32", [2], [int.MinValue, 7]);
        w.Add<long>("i64", [1], [long.MaxValue]);
        w.Add<double>("f64", [], [Math.PI]);
        w.Add<long>("empty", [0, 5], []);
        var stream = new MemoryStream();
        w.WriteTo(stream);
        using var r = OpenBytes(stream.ToArray());
        Assert.Equal("mlx", r.Metadata["format"]);
        Assert.Equal(SafetensorsDType.F32, r.GetInfo("f32").DType);
        Assert.Equal([2L, 3L], r.GetInfo("f32").Shape);
        Assert.Equal(new[] { 1f, -2f, 3.5f, float.NaN, -0f, float.Epsilon }.Select(BitConverter.SingleToUInt32Bits),
            r.Read<float>("f32").Select(BitConverter.SingleToUInt32Bits));
        Assert.Equal([(Half)1.5f, (Half)(-65504f)], r.Read<Half>("f16"));
        Assert.Equal(new ushort[] { ((BFloat16)3f).Bits, 0x7FC0 }, r.Read<BFloat16>("bf16").Select(b => b.Bits));
        Assert.Equal([0u, 0xDEADBEEFu, uint.MaxValue], r.Read<uint>("u32"));
        Assert.Equal([0, 1, 127, 255], r.Read<byte>("u8"));
        Assert.Equal([int.MinValue, 7], r.Read<int>("i32"));
        Assert.Equal([long.MaxValue], r.Read<long>("i64"));
        Assert.Equal([Math.PI], r.Read<double>("f64"));
        Assert.Empty(r.Read<long>("empty"));
        Assert.Equal([1.5f, -65504f], r.ReadSingle("f16"));
        Assert.Throws<ArgumentException>(() => r.Read<int>("u32"));
        Assert.Throws<ArgumentException>(() => r.ReadSingle("u8"));
        var missing = Assert.Throws<KeyNotFoundException>(() => r.GetInfo("nope"));
        Assert.Contains("nope", missing.Message);
    }

    [Fact]
    public void Header_is_padded_and_data_is_aligned()
    {
        var stream = new MemoryStream();
        new SafetensorsWriter().Add<byte>("a", [3], [1, 2, 3]).WriteTo(stream);
        byte[] bytes = stream.ToArray();
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        Assert.Equal((byte)'{', bytes[8]);
        Assert.True(SafetensorsDetector.IsSafetensors(bytes, bytes.Length));
        Assert.False(SafetensorsDetector.IsSafetensors("hello world"u8));
    }

    [Fact]
    public void Tables_round_trip_bit_for_bit_through_a_file()
    {
        using var dir = new TempDirectory();
        using var table = new EmbeddingTable(3, 5, DType.BFloat16);
        table.CopyFrom(Enumerable.Range(0, 15).Select(i => i * 0.37f - 2f).ToArray());
        string path = dir.File("t.safetensors");
        new SafetensorsWriter().Add("emb", table).Save(path);
        Assert.Single(Directory.GetFiles(dir.Path)); // the temporary file is gone
        using var r = SafetensorsReader.Open(path);
        using var back = r.ReadTable("emb");
        Assert.Equal(DType.BFloat16, back.DType);
        Assert.Equal(table.AsBytes().ToArray(), back.AsBytes().ToArray());
        // Overwriting an existing file also goes through a rename.
        new SafetensorsWriter().Add<byte>("x", [1], [9]).Save(path);
        using var r2 = SafetensorsReader.Open(path);
        Assert.Equal([9], r2.Read<byte>("x"));
    }

    public static TheoryData<string, string, int, string> HostileHeaders() => new()
    {
        { "not json", "{\"a\": ", 0, "not valid JSON" },
        { "array", "[1, 2]", 0, "does not start with" },
        { "string", "{}\"x\"", 0, "not valid JSON" },
        { "unknown dtype", "{\"a\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "dtype \"F7\"" },
        { "negative shape", "{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}", 1, "non-negative" },
        { "fractional shape", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]}}", 1, "non-negative" },
        { "overflowing shape", "{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, "too large" },
        { "size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12" },
        { "offsets past the end", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1000000],\"data_offsets\":[0,1000000]}}", 4, "cover 1000000 bytes" },
        { "reversed offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4, "end before" },
        { "gap", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 4, "gap" },
        { "overlap", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 4, "inside the previous" },
        { "duplicate name", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2, "twice" },
        { "metadata not strings", "{\"__metadata__\":{\"k\":1}}", 0, "must be a string" },
        { "missing offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, "data_offsets" },
        { "deep nesting", "{\"__metadata__\":{\"k\":[[[[[[[[[[[[1]]]]]]]]]]]}}", 0, "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(HostileHeaders))]
    public void Hostile_headers_are_rejected_with_a_clear_message(string what, string header, int dataBytes, string expected)
    {
        var ex = Assert.Throws<InvalidDataException>(() => OpenBytes(Build(header, new byte[dataBytes])));
        Assert.StartsWith("[safetensors.read]", ex.Message);
        Assert.True(ex.Message.Contains(expected, StringComparison.Ordinal), $"{what}: {ex.Message}");
    }

    [Fact]
    public void Truncated_and_lying_length_prefixes_are_rejected_without_allocating()
    {
        Assert.Throws<InvalidDataException>(() => OpenBytes([1, 2, 3]));
        var huge = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(huge, ulong.MaxValue);
        Assert.Contains("exceeds the limit", Assert.Throws<InvalidDataException>(() => OpenBytes(huge)).Message);
        BinaryPrimitives.WriteUInt64LittleEndian(huge, 1000);
        Assert.Contains("runs past the end", Assert.Throws<InvalidDataException>(() => OpenBytes(huge)).Message);
        byte[] good = Build("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", [1, 2, 3, 4]);
        Assert.Throws<InvalidDataException>(() => OpenBytes(good[..^1])); // data cut short
        byte[] notJson = Build("xx", []);
        Assert.Throws<InvalidDataException>(() => OpenBytes(notJson));
    }

    [Fact]
    public void Writer_rejects_inconsistent_tensors()
    {
        var w = new SafetensorsWriter();
        Assert.Throws<ArgumentException>(() => w.Add<float>("a", [2, 2], [1f]));
        Assert.Throws<ArgumentException>(() => w.Add<float>("__metadata__", [1], [1f]));
        w.Add<float>("a", [1], [1f]);
        Assert.Throws<ArgumentException>(() => w.Add<float>("a", [1], [1f]));
        Assert.Throws<ArgumentException>(() => w.Add<float>("b", [-1], []));
    }
}
