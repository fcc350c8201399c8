using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Quantization;

public sealed class QuantizedEmbeddingTests
{
    public static TheoryData<QuantizationMode, int?, int?, DType> Settings() => new()
    {
        { QuantizationMode.Affine, 32, 3, DType.Float32 },
        { QuantizationMode.Affine, 64, 4, DType.BFloat16 },
        { QuantizationMode.Affine, 128, 8, DType.Float16 },
        { QuantizationMode.Affine, 32, 5, DType.BFloat16 },
        { QuantizationMode.Mxfp4, null, null, DType.Float32 },
        { QuantizationMode.Nvfp4, null, null, DType.BFloat16 },
        { QuantizationMode.Mxfp8, null, null, DType.Float16 },
    };

    private static Embedding Dense(int rows, int dims, DType dtype, ulong seed) =>
        new(rows, dims, new EmbeddingOptions { DType = dtype, Seed = seed });

    [Theory]
    [MemberData(nameof(Settings))]
    public void Lookup_equals_dequantize_then_dense_lookup(QuantizationMode mode, int? gs, int? bits, DType dtype)
    {
        using var dense = Dense(37, 128, dtype, 5);
        var q = dense.ToQuantized(gs, bits, mode);
        using var back = q.Dequantize(DType.Float32);
        int[] ids = [0, 36, 7, 7, 1, 36, 0];
        var a = new float[ids.Length * 128];
        var b = new float[ids.Length * 128];
        q.Forward(ids, a);
        back.Forward(ids, b);
        Assert.Equal(b, a);
        q.Forward(ReadOnlySpan<int>.Empty, Span<float>.Empty);
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void AsLinear_equals_dequantize_then_dense_as_linear(QuantizationMode mode, int? gs, int? bits, DType dtype)
    {
        using var dense = Dense(29, 384, dtype, 9);
        var q = QuantizedEmbedding.FromEmbedding(dense, gs, bits, mode);
        using var back = q.Dequantize(DType.Float32);
        var rng = new SeededRandom(1);
        foreach (int batch in new[] { 0, 1, 3, 7 })
        {
            var x = new float[batch * q.Dims];
            for (int i = 0; i < x.Length; i++)
                x[i] = rng.NextSingle();
            var yq = new float[batch * q.NumEmbeddings];
            var yd = new float[batch * q.NumEmbeddings];
            q.AsLinear(x, yq);
            back.AsLinear(x, yd);
            // Both sides round in float32 in different orders (the quantized path may factor out the
            // scales): the bound is relative to Σ|x·ŵ|, not to the possibly cancelled result.
            var w = new float[q.Dims];
            for (int i = 0; i < yq.Length; i++)
            {
                back.Weight.ReadRow(i % q.NumEmbeddings, w);
                double magnitude = 0;
                for (int d = 0; d < q.Dims; d++)
                    magnitude += Math.Abs((double)x[i / q.NumEmbeddings * q.Dims + d] * w[d]);
                Assert.True(Math.Abs(yq[i] - yd[i]) <= 1e-6 * (1 + magnitude), $"[{i}] {yq[i]} vs {yd[i]}");
            }
        }
    }

    [Fact]
    public void Mlx_test_quantized_embedding()
    {
        // test_nn.test_quantized_embedding: Embedding(32, 256) → bits 8 (gs 64); max |y − y_q| < max(scales);
        // as_linear cosine > 0.99.
        using var dense = new Embedding(32, 256, new EmbeddingOptions { Initializer = Initializers.Initializer.MlxDefault, Seed = 3 });
        var q = QuantizedEmbedding.FromEmbedding(dense, bits: 8);
        Assert.Equal("QuantizedEmbedding(32, 256, group_size=64, bits=8, mode=affine)", q.ToString());
        int[] ids = [2, 6, 9, 3, 0, 3];
        var y = new float[ids.Length * 256];
        var yq = new float[ids.Length * 256];
        dense.Forward(ids, y);
        q.Forward(ids, yq);
        float maxScale = 0;
        for (int r = 0; r < 32; r++)
            for (int g = 0; g < 4; g++)
                maxScale = Math.Max(maxScale, q.Table.GetScale(r, g));
        Assert.True(y.Zip(yq).Max(p => Math.Abs(p.First - p.Second)) < maxScale);

        var rng = new SeededRandom(4);
        var x = new float[2 * 256];
        for (int i = 0; i < x.Length; i++)
            x[i] = rng.NextSingle();
        var a = new float[64];
        var b = new float[64];
        dense.AsLinear(x, a);
        q.AsLinear(x, b);
        double dot = a.Zip(b).Sum(p => (double)p.First * p.Second);
        double cos = dot / Math.Sqrt(a.Sum(v => (double)v * v) * b.Sum(v => (double)v * v));
        Assert.True(cos > 0.99, $"cosine {cos}");
    }

    [Fact]
    public void Constructor_uses_mode_defaults_and_validates_first()
    {
        var q = new QuantizedEmbedding(5, 256, mode: QuantizationMode.Mxfp4);
        Assert.Equal((32, 4), (q.GroupSize, q.Bits));
        var nv = new QuantizedEmbedding(2, 32, mode: QuantizationMode.Nvfp4);
        Assert.Equal(16, nv.GroupSize);
        var ex = Assert.Throws<QuantizationArgumentException>(() => new QuantizedEmbedding(5, 100));
        Assert.Contains("divisible by the quantization group size 64", ex.Message);
    }

    [Fact]
    public void Lookup_validates_every_index_before_writing()
    {
        var q = new QuantizedEmbedding(4, 64);
        var output = Enumerable.Repeat(42f, 3 * 64).ToArray();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => q.Forward([0, 1, 4], output));
        Assert.Contains("indices[2] = 4", ex.Message);
        Assert.All(output, v => Assert.Equal(42f, v));
        Assert.Throws<ArgumentOutOfRangeException>(() => q.Forward(new long[] { -1 }, new float[64]));
        Assert.Throws<ArgumentException>(() => q.AsLinear(new float[65], new float[8]));
    }

    [Fact]
    public void Dequantize_returns_a_trainable_embedding_in_the_mlx_default_dtype()
    {
        using var dense = Dense(8, 64, DType.BFloat16, 1);
        using var back = dense.ToQuantized().Dequantize();
        Assert.Equal(DType.BFloat16, back.Weight.DType);
        Assert.False(back.Frozen);
        using var fp = Dense(8, 64, DType.Float32, 1).ToQuantized(mode: QuantizationMode.Mxfp8).Dequantize();
        Assert.Equal(DType.BFloat16, fp.Weight.DType);
    }

    [Theory]
    [InlineData("sum", false)]
    [InlineData("sum", true)]
    [InlineData("mean", false)]
    [InlineData("max", false)]
    public void Bag_matches_reference_on_random_csr_batches(string mode, bool weighted)
    {
        using var dense = Dense(23, 96, DType.Float32, 2);
        var table = dense.ToQuantized(32, 4).Table;
        var bag = new QuantizedEmbeddingBag(table, mode);
        var rng = new SeededRandom(6);
        for (int trial = 0; trial < 20; trial++)
        {
            int bags = rng.NextInt(6);
            var offsets = new int[bags];
            var indices = new List<int>();
            for (int b = 0; b < bags; b++)
            {
                offsets[b] = indices.Count;
                int len = rng.NextInt(4); // empty bags included
                for (int k = 0; k < len; k++)
                    indices.Add(rng.NextInt(3)); // repeated ids
            }
            float[] w = weighted ? indices.Select(_ => rng.NextSingle() - 0.5f).ToArray() : [];
            var fast = new float[bags * 96];
            var reference = new float[bags * 96];
            bag.Forward(indices.ToArray(), offsets, fast, w);
            bag.ForwardReference(indices.ToArray(), offsets, reference, w);
            for (int i = 0; i < fast.Length; i++)
                Assert.True(Math.Abs(fast[i] - reference[i]) <= 1e-5f, $"{mode} trial {trial} [{i}] {fast[i]} vs {reference[i]}");
        }
    }

    [Fact]
    public void Bag_validates_offsets_and_weights()
    {
        var bag = new QuantizedEmbeddingBag(new QuantizedEmbedding(4, 32, 32).Table, "mean");
        Assert.Throws<ArgumentException>(() => bag.Forward([0, 1], [1], new float[32]));
        Assert.Throws<ArgumentException>(() => bag.Forward([0, 1], [0, 2, 1], new float[96]));
        Assert.Throws<ArgumentException>(() => bag.Forward([0, 1], [0], new float[32], [1f, 1f]));
        Assert.Throws<ArgumentOutOfRangeException>(() => bag.Forward([0, 9], [0], new float[32]));
        Assert.Throws<ArgumentException>(() => new QuantizedEmbeddingBag(bag.Table, "median"));
        var output = new float[64];
        bag.Forward([0, 1, 2], [0, 2, 3], output, includeLastOffset: true);
        var expect = new float[32];
        var row = new float[32];
        bag.Table.DequantizeRow(0, row);
        Array.Copy(row, expect, 32);
        bag.Table.DequantizeRow(1, row);
        for (int d = 0; d < 32; d++)
            expect[d] = (expect[d] + row[d]) / 2;
        Assert.Equal(expect, output[..32]);
    }
}
