using System.Buffers.Binary;
using System.Text;
using EmbedSharp.Formats.Mlx;
using EmbedSharp.Formats.Safetensors;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.Tests.Mlx;

public sealed class MlxCheckpointTests
{
    private static EmbeddingTable RandomTable(int rows, int dims, DType dtype, ulong seed)
    {
        var rng = new SeededRandom(seed);
        var t = new EmbeddingTable(rows, dims, dtype);
        var x = new float[rows * dims];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)(0.05 * rng.NextNormal());
        t.CopyFrom(x);
        return t;
    }

    private static void AssertSameBits(QuantizedTable expected, QuantizedTable actual)
    {
        Assert.Equal((expected.NumEmbeddings, expected.Dims, expected.GroupSize, expected.Bits, expected.Mode),
            (actual.NumEmbeddings, actual.Dims, actual.GroupSize, actual.Bits, actual.Mode));
        if (expected.Mode == QuantizationMode.Affine)
            Assert.Equal(expected.DType, actual.DType);
        Assert.Equal(expected.Weight.ToArray(), actual.Weight.ToArray());
        Assert.Equal(expected.Scales.ToArray(), actual.Scales.ToArray());
        Assert.Equal(expected.Biases.ToArray(), actual.Biases.ToArray());
    }

    [Fact]
    public void Quantized_embeddings_round_trip_bit_identical_with_config()
    {
        using var dir = new TempDirectory();
        using var t1 = RandomTable(50, 256, DType.BFloat16, 1);
        using var t2 = RandomTable(10, 128, DType.Float16, 2);
        using var t3 = RandomTable(7, 64, DType.Float32, 3);
        using var dense = RandomTable(4, 8, DType.Float32, 4);
        var embed = QuantizedTable.Quantize(t1, 64, 4, backend: QuantizationBackend.Gpu);
        var head = QuantizedTable.Quantize(t2, 32, 6);
        var fp = QuantizedTable.Quantize(t3, mode: QuantizationMode.Mxfp8);
        new MlxCheckpointWriter()
            .AddQuantized("model.embed_tokens", embed)
            .AddQuantized("lm_head", head)
            .AddQuantized("model.other", fp)
            .AddTable("model.norm.weight", dense)
            .Save(dir.Path);
        Assert.Equal(2, Directory.GetFiles(dir.Path).Length);

        string config = File.ReadAllText(dir.File("config.json"));
        Assert.Contains("\"quantization\"", config);
        Assert.Contains("\"quantization_config\"", config);
        using var ck = MlxCheckpoint.Open(dir.Path);
        Assert.Equal(new MlxLayerQuantization(64, 4, QuantizationMode.Affine), ck.Quantization!.Default);
        Assert.Equal(new MlxLayerQuantization(32, 6, QuantizationMode.Affine), ck.Quantization.For("lm_head"));
        Assert.Equal(new MlxLayerQuantization(32, 8, QuantizationMode.Mxfp8), ck.Quantization.For("model.other"));
        Assert.True(ck.IsQuantized("model.embed_tokens"));
        Assert.False(ck.IsQuantized("model.norm"));
        Assert.Equal(SafetensorsDType.U32, ck.GetInfo("model.embed_tokens.weight").DType);
        Assert.Equal([50L, 32L], ck.GetInfo("model.embed_tokens.weight").Shape);
        Assert.Equal(SafetensorsDType.BF16, ck.GetInfo("model.embed_tokens.scales").DType);
        Assert.Equal(SafetensorsDType.U8, ck.GetInfo("model.other.scales").DType);
        Assert.False(ck.Contains("model.other.biases"));
        AssertSameBits(embed, ck.ReadQuantized("model.embed_tokens"));
        AssertSameBits(head, ck.ReadQuantized("lm_head"));
        AssertSameBits(fp, ck.ReadQuantized("model.other"));
        using var denseBack = ck.ReadTable("model.norm.weight");
        Assert.Equal(dense.AsBytes().ToArray(), denseBack.AsBytes().ToArray());

        // Lookups through the reloaded layer equal lookups through the original.
        var q = ck.ReadQuantizedEmbedding("model.embed_tokens");
        var a = new float[3 * 256];
        var b = new float[3 * 256];
        q.Forward([0, 49, 7], a);
        embed.Gather([0, 49, 7], b);
        Assert.Equal(b, a);
    }

    [Fact]
    public void Fused_row_tables_save_the_same_checkpoint_as_their_mlx_arrays_and_load_back_into_either_layout()
    {
        using var mlxDir = new TempDirectory();
        using var fusedDir = new TempDirectory();
        using var t = RandomTable(9, 128, DType.Float32, 5);
        using var h = RandomTable(5, 96, DType.BFloat16, 6);
        var embed = QuantizedTable.Quantize(t, 64, 4);
        var fp = QuantizedTable.Quantize(h, mode: QuantizationMode.Mxfp4);
        new MlxCheckpointWriter().AddQuantized("e", embed).AddQuantized("f", fp).Save(mlxDir.Path);
        new MlxCheckpointWriter()
            .AddQuantized("e", embed.ToLayout(QuantizedRowLayout.FusedRows))
            .AddQuantized("f", fp.ToLayout(QuantizedRowLayout.FusedRows))
            .Save(fusedDir.Path);
        string[] files = Directory.GetFiles(mlxDir.Path).Select(f => Path.GetFileName(f)).Order().ToArray();
        Assert.Equal(files, Directory.GetFiles(fusedDir.Path).Select(f => Path.GetFileName(f)).Order().ToArray());
        foreach (string file in files)
            Assert.Equal(File.ReadAllBytes(mlxDir.File(file)), File.ReadAllBytes(fusedDir.File(file)));
        using var ck = MlxCheckpoint.Open(fusedDir.Path);
        QuantizedTable read = ck.ReadQuantized("e");
        Assert.Equal(QuantizedRowLayout.Mlx, read.Layout);
        AssertSameBits(embed, read.ToLayout(QuantizedRowLayout.FusedRows));
        AssertSameBits(fp, ck.ReadQuantized("f").ToLayout(QuantizedRowLayout.FusedRows));
    }

    [Fact]
    public void Saving_keeps_other_config_keys()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 64, \"quantization\": {\"group_size\": 32, \"bits\": 2}}");
        using var t = RandomTable(2, 64, DType.Float32, 5);
        new MlxCheckpointWriter().AddQuantized("model.embed_tokens", QuantizedTable.Quantize(t)).Save(dir.Path);
        string config = File.ReadAllText(dir.File("config.json"));
        Assert.Contains("\"model_type\": \"llama\"", config);
        using var ck = MlxCheckpoint.Open(dir.Path);
        Assert.Equal(new MlxLayerQuantization(64, 4), ck.Quantization!.Default);
    }

    [Fact]
    public void Reads_a_hand_built_mlx_layout_file_with_a_pre_mode_config()
    {
        // Two rows of 32 values, 4 bits, group 32, float16 scales and biases, written byte by byte as
        // mx.save_safetensors lays them out; config.json from before MLX 0.29 (no "mode").
        using var dir = new TempDirectory();
        var words = new uint[2 * 4];
        words[0] = 0x76543210; words[1] = 0xFEDCBA98; // row 0: codes 0..15, then 15..0
        words[2] = 0x89ABCDEF; words[3] = 0x01234567;
        for (int i = 4; i < 8; i++)
            words[i] = 0x11111111; // row 1: every code 1
        Half[] scales = [(Half)0.5f, (Half)(-0.25f)];
        Half[] biases = [(Half)(-1f), (Half)2f];
        var data = new List<byte>();
        foreach (uint w in words)
            data.AddRange(BitConverter.GetBytes(w));
        foreach (Half s in scales)
            data.AddRange(BitConverter.GetBytes(s));
        foreach (Half b in biases)
            data.AddRange(BitConverter.GetBytes(b));
        string header = "{\"__metadata__\":{\"format\":\"mlx\"}," +
            "\"model.embed_tokens.biases\":{\"dtype\":\"F16\",\"shape\":[2,1],\"data_offsets\":[36,40]}," +
            "\"model.embed_tokens.scales\":{\"dtype\":\"F16\",\"shape\":[2,1],\"data_offsets\":[32,36]}," +
            "\"model.embed_tokens.weight\":{\"dtype\":\"U32\",\"shape\":[2,4],\"data_offsets\":[0,32]}}";
        byte[] h = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + h.Length + data.Count];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)h.Length);
        h.CopyTo(file, 8);
        data.CopyTo(file, 8 + h.Length);
        File.WriteAllBytes(dir.File("model.safetensors"), file);
        File.WriteAllText(dir.File("config.json"), "{\"quantization\": {\"group_size\": 32, \"bits\": 4}}");

        using var ck = MlxCheckpoint.Open(dir.Path);
        Assert.Equal(QuantizationMode.Affine, ck.Quantization!.Default.Mode);
        var q = ck.ReadQuantizedEmbedding("model.embed_tokens");
        Assert.Equal((2, 32, 32, 4), (q.NumEmbeddings, q.Dims, q.GroupSize, q.Bits));
        var rows = new float[64];
        q.Forward([0, 1], rows);
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(i * 0.5f - 1f, rows[i]);
            Assert.Equal((15 - i) * 0.5f - 1f, rows[16 + i]);
        }
        Assert.All(rows[32..], v => Assert.Equal(1.75f, v));
        using var deq = q.Table.Dequantize();
        Assert.Equal(DType.Float16, deq.DType);
    }

    [Fact]
    public void Inconsistent_checkpoints_fail_with_mlx_messages()
    {
        using var dir = new TempDirectory();
        using var t = RandomTable(4, 128, DType.Float32, 6);
        new MlxCheckpointWriter().AddQuantized("e", QuantizedTable.Quantize(t, 64, 4)).Save(dir.Path);
        using var ck = MlxCheckpoint.Open(dir.Path);
        // Claiming 8 bits makes the packed width disagree with the scales.
        var ex = Assert.Throws<InvalidDataException>(() => ck.ReadQuantized("e", new MlxLayerQuantization(64, 8)));
        Assert.Contains("[dequantize] Shape of scales and biases does not match the matrix given the quantization parameters", ex.Message);
        var fp = Assert.Throws<InvalidDataException>(() => ck.ReadQuantized("e", new MlxLayerQuantization(32, 4, QuantizationMode.Mxfp4)));
        Assert.Contains("Scale type must be uint8", fp.Message);
        Assert.Throws<KeyNotFoundException>(() => ck.ReadQuantized("missing", new MlxLayerQuantization(64, 4)));
    }

    [Fact]
    public void Config_overrides_and_disabled_layers_are_read_as_mlx_lm_does()
    {
        byte[] json = Encoding.UTF8.GetBytes("""
            {"quantization": {"group_size": 64, "bits": 4, "mode": "affine", "quant_method": "mlx",
              "model.embed_tokens": {"group_size": 32, "bits": 6}, "lm_head": false}}
            """);
        var c = MlxQuantizationConfig.FromConfigJson(json)!;
        Assert.Equal(new MlxLayerQuantization(32, 6), c.For("model.embed_tokens"));
        Assert.Null(c.For("lm_head"));
        Assert.Equal(new MlxLayerQuantization(64, 4), c.For("model.layers.0.mlp"));
        Assert.Null(MlxQuantizationConfig.FromConfigJson("{\"model_type\": \"x\"}"u8));
        Assert.Throws<InvalidDataException>(() => MlxQuantizationConfig.FromConfigJson("{\"quantization\": {\"mode\": \"int4\"}}"u8));
        Assert.Throws<InvalidDataException>(() => MlxQuantizationConfig.FromConfigJson("{\"quantization\": {\"bits\": -4}}"u8));
        Assert.Throws<InvalidDataException>(() => MlxQuantizationConfig.FromConfigJson("{\"quantization\": "u8));
        var hf = MlxQuantizationConfig.FromConfigJson("{\"quantization_config\": {\"group_size\": 128, \"bits\": 8}}"u8)!;
        Assert.Equal(new MlxLayerQuantization(128, 8), hf.Default);
    }

    [Fact]
    public void Shard_index_may_not_point_outside_the_directory()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{\"weight_map\": {\"a.weight\": \"../evil.safetensors\"}}");
        var ex = Assert.Throws<InvalidDataException>(() => MlxCheckpoint.Open(dir.Path));
        Assert.Contains("not a file name", ex.Message);
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{\"weight_map\": 3}");
        Assert.Throws<InvalidDataException>(() => MlxCheckpoint.Open(dir.Path));
    }

    [Fact]
    public void Sharded_checkpoints_are_read_through_the_index()
    {
        using var dir = new TempDirectory();
        using var t = RandomTable(3, 64, DType.Float16, 7);
        var q = QuantizedTable.Quantize(t, 32, 3);
        new SafetensorsWriter().Add<uint>("e.weight", [3, 6], q.Weight).Save(dir.File("model-00001-of-00002.safetensors"));
        new SafetensorsWriter()
            .Add("e.scales", SafetensorsDType.F16, [3, 2], q.Scales)
            .Add("e.biases", SafetensorsDType.F16, [3, 2], q.Biases)
            .Save(dir.File("model-00002-of-00002.safetensors"));
        File.WriteAllText(dir.File("model.safetensors.index.json"), """
            {"metadata": {"total_size": 1}, "weight_map": {"e.weight": "model-00001-of-00002.safetensors",
             "e.scales": "model-00002-of-00002.safetensors", "e.biases": "model-00002-of-00002.safetensors"}}
            """);
        File.WriteAllText(dir.File("config.json"), "{\"quantization\": {\"group_size\": 32, \"bits\": 3, \"mode\": \"affine\"}}");
        using var ck = MlxCheckpoint.Open(dir.Path);
        AssertSameBits(q, ck.ReadQuantized("e"));
    }

    [Fact]
    public void Writer_refuses_a_global_scale_and_duplicate_paths()
    {
        using var t = RandomTable(2, 32, DType.Float32, 8);
        var nv = QuantizedTable.Quantize(t, mode: QuantizationMode.Nvfp4, globalScale: 1f);
        Assert.Throws<NotSupportedException>(() => new MlxCheckpointWriter().AddQuantized("x", nv));
        var w = new MlxCheckpointWriter().AddQuantized("x", QuantizedTable.Quantize(t, 32, 4));
        Assert.Throws<ArgumentException>(() => w.AddQuantized("x", QuantizedTable.Quantize(t, 32, 4)));
    }
}
