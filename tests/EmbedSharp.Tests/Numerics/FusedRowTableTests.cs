using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Numerics;

/// <summary>
/// <see cref="QuantizedRowLayout.FusedRows"/> against MLX's three arrays: the conversion round-trips byte for
/// byte in every mode, and every read (rows, gathers, bags of each pooling mode with and without weights,
/// products) gives the same bits in both layouts — on awkward sizes (0 and 1 ids, 7 rows, every dims the group
/// sizes allow up to 256, empty bags, repeated ids). Lives under Numerics so CI reruns it with AVX-512, AVX2
/// and all SIMD switched off.
/// </summary>
public sealed class FusedRowTableTests
{
    public static TheoryData<int, int, DType> Layouts => new()
    {
        { 4, 32, DType.Float32 }, { 4, 64, DType.Float32 }, { 4, 128, DType.Float32 },
        { 8, 32, DType.Float32 }, { 8, 64, DType.Float32 }, { 8, 128, DType.Float32 },
        { 3, 64, DType.Float32 }, { 4, 64, DType.BFloat16 }, { 2, 32, DType.Float16 },
    };

    [Theory]
    [InlineData(QuantizationMode.Affine, 64, 4, DType.Float32)]
    [InlineData(QuantizationMode.Affine, 32, 3, DType.Float16)]
    [InlineData(QuantizationMode.Affine, 128, 6, DType.BFloat16)]
    [InlineData(QuantizationMode.Affine, 32, 5, DType.BFloat16)]
    [InlineData(QuantizationMode.Mxfp4, 32, 4, DType.Float32)]
    [InlineData(QuantizationMode.Nvfp4, 16, 4, DType.Float32)]
    [InlineData(QuantizationMode.Mxfp8, 32, 8, DType.BFloat16)]
    public void Conversion_RoundTrips_ByteForByte(QuantizationMode mode, int groupSize, int bits, DType dtype)
    {
        var rng = new SeededRandom((ulong)(groupSize * 10 + bits));
        foreach (int rows in new[] { 0, 1, 7 })
        {
            foreach (int dims in new[] { groupSize, 3 * groupSize })
            {
                QuantizedTable mlx = Table(rng, rows, dims, groupSize, bits, dtype, mode);
                QuantizedTable fused = mlx.ToLayout(QuantizedRowLayout.FusedRows);
                Assert.Equal(QuantizedRowLayout.FusedRows, fused.Layout);
                Assert.Same(fused, fused.ToLayout(QuantizedRowLayout.FusedRows));
                Assert.Equal(0, fused.RecordBytes % 4);
                Assert.Equal((long)rows * fused.RecordBytes, fused.ByteLength);
                Assert.Equal(mlx.Weight.ToArray(), fused.Weight.ToArray());
                Assert.Equal(mlx.Scales.ToArray(), fused.Scales.ToArray());
                Assert.Equal(mlx.Biases.ToArray(), fused.Biases.ToArray());
                QuantizedTable back = fused.ToLayout(QuantizedRowLayout.Mlx);
                Assert.Equal(QuantizedRowLayout.Mlx, back.Layout);
                Assert.Equal(mlx.Weight.ToArray(), back.Weight.ToArray());
                Assert.Equal(mlx.Scales.ToArray(), back.Scales.ToArray());
                Assert.Equal(mlx.Biases.ToArray(), back.Biases.ToArray());
                Assert.Equal(mlx.ByteLength, back.ByteLength);
                var a = new float[dims];
                var b = new float[dims];
                var codesA = new byte[dims];
                var codesB = new byte[dims];
                for (int r = 0; r < rows; r++)
                {
                    mlx.DequantizeRow(r, a);
                    fused.DequantizeRow(r, b);
                    Assert.Equal(a, b);
                    mlx.GetCodes(r, codesA);
                    fused.GetCodes(r, codesB);
                    Assert.Equal(codesA, codesB);
                    for (int g = 0; g < mlx.GroupsPerRow; g++)
                    {
                        Assert.Equal(mlx.GetScale(r, g), fused.GetScale(r, g));
                        Assert.Equal(mlx.GetBias(r, g), fused.GetBias(r, g));
                    }
                }
                Assert.Equal(mlx.Dequantize().ToArray(), fused.Dequantize().ToArray());
            }
        }
    }

    [Fact]
    public void RecordBytes_IsCodesScalesAndBiases()
    {
        QuantizedTable q = Table(new SeededRandom(1), 3, 128, 64, 4, DType.Float32, QuantizationMode.Affine);
        Assert.Equal(64 + 8 + 8, q.ToLayout(QuantizedRowLayout.FusedRows).RecordBytes);
        QuantizedTable h = Table(new SeededRandom(1), 3, 96, 32, 5, DType.Float16, QuantizationMode.Affine);
        Assert.Equal(60 + 6 + 6, h.ToLayout(QuantizedRowLayout.FusedRows).RecordBytes);
        QuantizedTable fp = Table(new SeededRandom(1), 3, 96, 32, 4, DType.Float32, QuantizationMode.Mxfp4);
        Assert.Equal(48 + 3 + 1, fp.ToLayout(QuantizedRowLayout.FusedRows).RecordBytes); // one E8M0 byte per group, padded to 4
    }

    [Fact]
    public void UnknownLayout_IsRejected()
    {
        QuantizedTable q = Table(new SeededRandom(1), 3, 64, 64, 4, DType.Float32, QuantizationMode.Affine);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => q.ToLayout((QuantizedRowLayout)7));
        Assert.StartsWith("[quantized.to_layout] layout 7 is unknown", e.Message);
        Assert.Throws<ArgumentNullException>(() => new QuantizedEmbeddingBag(null!, PoolingMode.Sum, QuantizedRowLayout.FusedRows));
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Gather_AndProducts_EqualTheMlxLayout_BitForBit(int bits, int groupSize, DType dtype)
    {
        var rng = new SeededRandom((ulong)(bits * 100 + groupSize));
        for (int dims = groupSize; dims <= 256; dims += groupSize)
        {
            QuantizedTable mlx = Table(rng, 7, dims, groupSize, bits, dtype, QuantizationMode.Affine);
            QuantizedTable fused = mlx.ToLayout(QuantizedRowLayout.FusedRows);
            foreach (bool oneRounding in new[] { false, true })
            {
                mlx.FusedDequantize = oneRounding;
                fused.FusedDequantize = oneRounding;
                foreach (int count in new[] { 0, 1, 7, 41 })
                {
                    int[] ids = Ids(rng, 7, count);
                    foreach (int threads in new[] { 1, 2 })
                    {
                        foreach (bool streaming in new[] { false, true })
                        {
                            var expected = new float[count * dims];
                            var actual = new float[count * dims];
                            mlx.GatherUnchecked(ids, expected, threads, streaming);
                            fused.GatherUnchecked(ids, actual, threads, streaming);
                            Kernels.StreamingFence();
                            Assert.Equal(expected, actual);
                        }
                    }
                }
                foreach (int batch in new[] { 1, 3 })
                {
                    float[] x = Floats(rng, batch * dims);
                    var expected = new float[batch * 7];
                    var actual = new float[batch * 7];
                    mlx.MatMulTransposed(x, batch, expected);
                    fused.MatMulTransposed(x, batch, actual);
                    Assert.Equal(expected, actual);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Bags_EqualTheMlxLayout_AndTheReference_BitForBit(int bits, int groupSize, DType dtype)
    {
        var rng = new SeededRandom((ulong)(bits * 7 + groupSize));
        for (int dims = groupSize; dims <= 256; dims += groupSize)
        {
            QuantizedTable mlx = Table(rng, 7, dims, groupSize, bits, dtype, QuantizationMode.Affine);
            int[] ids = Ids(rng, 7, 40);
            int[] offsets = [0, 0, 1, 8, 8, 30, 40]; // empty bags first, in the middle and last
            float[] weights = Floats(rng, ids.Length);
            foreach (bool oneRounding in new[] { false, true })
            {
                mlx.FusedDequantize = oneRounding;
                foreach (PoolingMode mode in new[] { PoolingMode.Sum, PoolingMode.Mean, PoolingMode.Max })
                {
                    var fusedBag = new QuantizedEmbeddingBag(mlx, mode, QuantizedRowLayout.FusedRows);
                    Assert.Equal(QuantizedRowLayout.FusedRows, fusedBag.Table.Layout);
                    Assert.Equal(oneRounding, fusedBag.Table.FusedDequantize);
                    var mlxBag = new QuantizedEmbeddingBag(mlx, mode);
                    foreach (bool weighted in mode == PoolingMode.Sum ? new[] { false, true } : new[] { false })
                    {
                        float[] w = weighted ? weights : [];
                        var expected = new float[offsets.Length * dims];
                        var reference = new float[offsets.Length * dims];
                        var actual = new float[offsets.Length * dims];
                        mlxBag.Forward(ids, offsets, expected, w);
                        fusedBag.ForwardReference(ids, offsets, reference, w);
                        fusedBag.Forward(ids, offsets, actual, w);
                        Assert.Equal(expected, actual);
                        Assert.Equal(reference, actual);
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(4, PoolingMode.Sum, false)]
    [InlineData(4, PoolingMode.Sum, true)]
    [InlineData(4, PoolingMode.Mean, false)]
    [InlineData(4, PoolingMode.Max, false)]
    [InlineData(8, PoolingMode.Sum, false)]
    [InlineData(8, PoolingMode.Mean, false)]
    public void Bags_OnTheParallelPath_EqualTheMlxLayout(int bits, PoolingMode mode, bool weighted)
    {
        var rng = new SeededRandom(11);
        QuantizedTable mlx = Table(rng, 300, 128, 64, bits, DType.Float32, QuantizationMode.Affine);
        var offsets = new List<int>();
        var ids = new List<int>();
        while (ids.Count < 4000) // 4,000 positions × 128 dims: above the parallel threshold
        {
            offsets.Add(ids.Count);
            int size = rng.NextInt(41);
            for (int i = 0; i < size; i++)
                ids.Add(rng.NextInt(300));
        }
        float[] weights = weighted ? Floats(rng, ids.Count) : [];
        var expected = new float[offsets.Count * 128];
        var actual = new float[offsets.Count * 128];
        var reference = new float[offsets.Count * 128];
        new QuantizedEmbeddingBag(mlx, mode).Forward(ids.ToArray(), offsets.ToArray(), expected, weights);
        var fused = new QuantizedEmbeddingBag(mlx, mode, QuantizedRowLayout.FusedRows);
        fused.Forward(ids.ToArray(), offsets.ToArray(), actual, weights);
        fused.ForwardReference(ids.ToArray(), offsets.ToArray(), reference, weights);
        Assert.Equal(expected, actual);
        Assert.Equal(reference, actual);
    }

    private static QuantizedTable Table(SeededRandom rng, int rows, int dims, int groupSize, int bits, DType dtype, QuantizationMode mode)
    {
        float[] w = Floats(rng, rows * dims);
        using var table = new EmbeddingTable(rows, dims, dtype);
        table.CopyFrom(w);
        return QuantizedTable.Quantize(table, groupSize, bits, mode);
    }

    private static int[] Ids(SeededRandom rng, int rows, int count)
    {
        var ids = new int[count];
        for (int i = 0; i < count; i++)
            ids[i] = rng.NextInt(rows);
        if (count > 1)
            ids[1] = ids[0]; // a repeated id
        return ids;
    }

    private static float[] Floats(SeededRandom rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++)
            x[i] = (float)rng.NextNormal();
        return x;
    }
}

/// <summary>Max bags at the edges of IEEE maximum: signed zeros and NaN rows, in-register path against the reference, bit for bit.</summary>
public sealed class QuantizedMaxBagEdgeTests
{
    [Theory]
    [InlineData(4, QuantizedRowLayout.Mlx)]
    [InlineData(4, QuantizedRowLayout.FusedRows)]
    [InlineData(8, QuantizedRowLayout.FusedRows)]
    public void SignedZeros_AndNaN_PoolAsTheReference(int bits, QuantizedRowLayout layout)
    {
        const int rows = 4, dims = 64;
        var weight = new uint[rows * dims * bits / 32];
        for (int i = 0; i < weight.Length; i++)
            weight[i] = (uint)(i * 2654435761u);
        // Row 0: scale −0, bias −0 (every value −0); row 1: +0, +0 (every value +0); row 2: NaN scale; row 3: ordinary.
        float[] scales = [-0f, 0f, float.NaN, 0.5f];
        float[] biases = [-0f, 0f, 1f, -3f];
        QuantizedTable q = QuantizedTable.FromParts(rows, dims, 64, bits, QuantizationMode.Affine, DType.Float32, weight,
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(scales.AsSpan()), System.Runtime.InteropServices.MemoryMarshal.AsBytes(biases.AsSpan()))
            .ToLayout(layout);
        int[] ids = [0, 1, 1, 0, 0, 0, 2, 3, 3, 0];
        int[] offsets = [0, 2, 4, 5, 6, 8, 10];
        foreach (PoolingMode mode in new[] { PoolingMode.Max, PoolingMode.Sum, PoolingMode.Mean })
        {
            var bag = new QuantizedEmbeddingBag(q, mode);
            var actual = new float[offsets.Length * dims];
            var expected = new float[offsets.Length * dims];
            bag.Forward(ids, offsets, actual);
            bag.ForwardReference(ids, offsets, expected);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
        }
    }
}
