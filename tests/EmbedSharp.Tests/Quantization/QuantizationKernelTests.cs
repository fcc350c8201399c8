using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Quantization;

public sealed class QuantizationKernelTests
{
    private static float[] RandomRow(int n, ulong seed, double std = 0.1)
    {
        var rng = new SeededRandom(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = (float)(std * rng.NextNormal());
        return x;
    }

    public static TheoryData<int, int, QuantizationBackend> AffineSettings()
    {
        var data = new TheoryData<int, int, QuantizationBackend>();
        foreach (int bits in new[] { 2, 3, 4, 5, 6, 8 })
            foreach (int gs in new[] { 32, 64, 128 })
                foreach (var backend in new[] { QuantizationBackend.Cpu, QuantizationBackend.Gpu })
                    data.Add(bits, gs, backend);
        return data;
    }

    [Theory]
    [MemberData(nameof(AffineSettings))]
    public void Affine_quantize_matches_the_scalar_reference(int bits, int groupSize, QuantizationBackend backend)
    {
        const int rows = 5, dims = 256;
        float[] w = RandomRow(rows * dims, (ulong)(bits * 1000 + groupSize));
        w[3] = 4f; // an outlier
        for (int i = dims; i < dims + groupSize; i++)
            w[i] = -0.25f; // a constant negative group, where CPU and GPU differ
        var q = QuantizedTable.Quantize<float>(w, rows, dims, groupSize, bits, QuantizationMode.Affine, null, backend);
        var codes = new byte[dims];
        var refCodes = new byte[dims];
        var refScales = new float[dims / groupSize];
        var refBiases = new float[dims / groupSize];
        for (int r = 0; r < rows; r++)
        {
            AffineQuantizer.QuantizeRowReference(w.AsSpan(r * dims, dims), groupSize, bits, backend == QuantizationBackend.Gpu,
                float.MaxValue, x => x, refCodes, refScales, refBiases);
            q.GetCodes(r, codes);
            Assert.Equal(refCodes, codes);
            for (int g = 0; g < dims / groupSize; g++)
            {
                Assert.Equal(refScales[g], q.GetScale(r, g));
                Assert.Equal(refBiases[g], q.GetBias(r, g));
            }
        }
    }

    [Theory]
    [InlineData(DType.Float32, false)]
    [InlineData(DType.Float32, true)]
    [InlineData(DType.Float16, false)]
    [InlineData(DType.Float16, true)]
    [InlineData(DType.BFloat16, false)]
    [InlineData(DType.BFloat16, true)]
    public void Affine_dequantize_fast_path_matches_the_reference(DType dtype, bool fused)
    {
        foreach (int bits in new[] { 2, 3, 4, 5, 6, 8 })
        {
            const int rows = 3, dims = 384, gs = 64;
            using var table = new EmbeddingTable(rows, dims, dtype);
            table.CopyFrom(RandomRow(rows * dims, (ulong)bits));
            var q = QuantizedTable.Quantize(table, gs, bits);
            q.FusedDequantize = fused;
            var fast = new float[dims];
            var reference = new float[dims];
            Func<float, float> round = x => QuantizedTable.RoundTo(dtype, x);
            Func<float, float, float, float> once = dtype switch
            {
                DType.Float32 => Fp.MultiplyAddOnce<float>,
                DType.Float16 => Fp.MultiplyAddOnce<Half>,
                _ => Fp.MultiplyAddOnce<BFloat16>,
            };
            for (int r = 0; r < rows; r++)
            {
                q.DequantizeRow(r, fast);
                var scales = Enumerable.Range(0, dims / gs).Select(g => q.GetScale(r, g)).ToArray();
                var biases = Enumerable.Range(0, dims / gs).Select(g => q.GetBias(r, g)).ToArray();
                AffineDequantizer.DequantizeRowReference(q.GetWeightRow(r), scales, biases, gs, bits, fused, round, once, reference);
                Assert.Equal(reference, fast);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Pack_then_unpack_round_trips_every_length(int bits)
    {
        var rng = new SeededRandom((ulong)bits);
        for (int n = 0; n <= 100; n++)
        {
            var codes = new byte[n];
            for (int i = 0; i < n; i++)
                codes[i] = (byte)rng.NextInt(1 << bits);
            var words = new uint[(n * bits + 31) / 32];
            BitPacking.Pack(codes, bits, words);
            var back = new byte[n];
            BitPacking.Unpack(words, bits, back);
            Assert.Equal(codes, back);
        }
    }

    [Fact]
    public void Packing_is_mlx_little_endian_bit_stream()
    {
        var words = new uint[1];
        BitPacking.Pack([1, 2, 3, 4, 5, 6, 7, 8], 4, words);
        Assert.Equal(0x87654321u, words[0]);
        // 3 bits: code 10 straddles words 0 and 1 (stream bits 30..32).
        var codes = new byte[32];
        codes[10] = 0b111;
        var three = new uint[3];
        BitPacking.Pack(codes, 3, three);
        Assert.Equal(0xC000_0000u, three[0]);
        Assert.Equal(1u, three[1]);
    }

    [Fact]
    public void Pack_rejects_codes_that_do_not_fit()
    {
        var ex = Assert.Throws<ArgumentException>(() => BitPacking.Pack([1, 9], 3, new uint[1]));
        Assert.Contains("codes[1] = 9", ex.Message);
    }

    [Fact]
    public void E4M3_encoder_is_nearest_even_with_saturation()
    {
        // Brute force against the decoded grid for many floats.
        float[] grid = Enumerable.Range(0, 127).Select(c => FloatFormats.DecodeE4M3((byte)c)).ToArray(); // 0..448
        var rng = new SeededRandom(3);
        for (int i = 0; i < 20000; i++)
        {
            float x = (float)(Math.Pow(2, rng.NextDouble() * 20 - 12) * (rng.NextDouble() < 0.5 ? -1 : 1));
            byte code = FloatFormats.EncodeE4M3(x);
            float a = Math.Abs(x);
            if (a >= 464f)
            {
                Assert.Equal(0x7E, code & 0x7F);
                continue;
            }
            float got = Math.Abs(FloatFormats.DecodeE4M3(code));
            float best = grid.MinBy(v => Math.Abs(v - a));
            Assert.True(Math.Abs(got - a) <= Math.Abs(best - a), $"{x} → {got}, nearest {best}");
            Assert.Equal(x < 0, (code & 0x80) != 0);
        }
        Assert.Equal(0x7E, FloatFormats.EncodeE4M3(float.NaN) & 0x7F);
        Assert.Equal(480f, FloatFormats.DecodeE4M3(0x7F));
    }

    [Fact]
    public void E8M0_decodes_extremes_like_mlx()
    {
        Assert.Equal(MathF.Pow(2, -127), FloatFormats.DecodeE8M0(0));
        Assert.Equal(1f, FloatFormats.DecodeE8M0(127));
        Assert.Equal(float.PositiveInfinity, FloatFormats.DecodeE8M0(255));
        Assert.Equal(0, FloatFormats.EncodeE8M0Gpu(0f));
        Assert.Equal(255, FloatFormats.EncodeE8M0Gpu(float.NaN));
    }

    [Fact]
    public void Quantize_rejects_non_finite_values_before_returning_anything()
    {
        var w = new float[64];
        w[17] = float.NaN;
        var ex = Assert.Throws<ArgumentException>(() => QuantizedTable.Quantize<float>(w, 1, 64, 64, 4));
        Assert.Contains("w[0, 17]", ex.Message);
        Assert.StartsWith("[quantize]", ex.Message);
        w[17] = float.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => QuantizedTable.Quantize<float>(w, 1, 32, 32, 4, QuantizationMode.Mxfp4));
    }

    [Fact]
    public void Quantize_rejects_constant_groups_that_overflow()
    {
        var w = Enumerable.Repeat(1e32f, 64).ToArray();
        var ex = Assert.Throws<ArgumentException>(() => QuantizedTable.Quantize<float>(w, 1, 64));
        Assert.Contains("too large", ex.Message);
    }

    [Fact]
    public void Mlx_test_bound_holds_for_float32_normal_weights()
    {
        // MLX's test_quantize_dequantize: |w − ŵ| ≤ |scale + 1e-6| elementwise, and zeros stay zero.
        const int rows = 16, dims = 512;
        float[] w = RandomRow(rows * dims, 11, 1.0);
        var deq = new float[dims];
        foreach (int gs in new[] { 32, 64, 128 })
        {
            foreach (int bits in new[] { 2, 3, 4, 5, 6, 8 })
            {
                var q = QuantizedTable.Quantize<float>(w, rows, dims, gs, bits);
                var zeros = QuantizedTable.Quantize<float>(new float[rows * dims], rows, dims, gs, bits);
                for (int r = 0; r < rows; r++)
                {
                    q.DequantizeRow(r, deq);
                    for (int d = 0; d < dims; d++)
                        Assert.True(Math.Abs(w[r * dims + d] - deq[d]) <= Math.Abs(q.GetScale(r, d / gs) + 1e-6f), $"gs {gs} bits {bits} [{r},{d}]");
                    zeros.DequantizeRow(r, deq);
                    Assert.All(deq, v => Assert.Equal(0f, v));
                }
            }
        }
    }

    [Fact]
    public void Empty_and_zero_width_tables_quantize()
    {
        var q = QuantizedTable.Quantize<float>(ReadOnlySpan<float>.Empty, 0, 64);
        Assert.Equal(0, q.NumEmbeddings);
        var z = QuantizedTable.Quantize<float>(ReadOnlySpan<float>.Empty, 3, 0);
        Assert.Equal(0, z.WordsPerRow);
        var y = new float[3];
        z.MatMulTransposed(ReadOnlySpan<float>.Empty, 1, y);
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void FromParts_validates_lengths()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            QuantizedTable.FromParts(2, 64, 64, 4, QuantizationMode.Affine, DType.Float32, new uint[15], new byte[8], new byte[8]));
        Assert.Contains("weight", ex.Message);
        Assert.Throws<ArgumentException>(() =>
            QuantizedTable.FromParts(2, 64, 64, 7, QuantizationMode.Affine, DType.Float32, new uint[28], new byte[8], new byte[8]));
        Assert.Throws<ArgumentException>(() =>
            QuantizedTable.FromParts(2, 64, 32, 4, QuantizationMode.Mxfp4, DType.Float32, new uint[16], new byte[4], new byte[4]));
    }

    [Fact]
    public void Typed_quantize_reports_mlx_messages()
    {
        var ex = Assert.Throws<QuantizationArgumentException>(() => QuantizedTable.Quantize<float>(new float[400], 4, 100, 64, 4));
        Assert.Equal("[quantize] The last dimension of the matrix needs to be divisible by the quantization group size 64. However the provided  matrix has shape (4,100)", ex.Message);
        Assert.Equal("[quantize] Invalid quantization mode 'int4'.", Assert.Throws<QuantizationArgumentException>(() => QuantizationModes.Parse("int4")).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantizedTable.Quantize<float>(new float[64], 1, 64, globalScale: 0f, mode: QuantizationMode.Nvfp4, groupSize: 16));
    }
}
