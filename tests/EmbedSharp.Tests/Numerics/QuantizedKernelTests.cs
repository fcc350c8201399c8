using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Numerics;

/// <summary>
/// The SIMD quantized kernels (gather, bags, GEMV, GEMM straight from packed MLX rows) against the
/// element-by-element dequantizer: every dims that the group sizes allow up to 256, 4 and 8 bits (the
/// SIMD path) and 3 bits / 16-bit scales (the generic path), fused and unfused rounding, 1 and 2 threads.
/// Lives under Numerics so ci reruns it with SIMD off (then the generic path answers).
/// </summary>
public sealed unsafe class QuantizedKernelTests
{
    public static TheoryData<int, int, DType> Layouts => new()
    {
        { 4, 32, DType.Float32 }, { 4, 64, DType.Float32 }, { 4, 128, DType.Float32 },
        { 8, 32, DType.Float32 }, { 8, 64, DType.Float32 }, { 8, 128, DType.Float32 },
        { 3, 64, DType.Float32 }, { 4, 64, DType.BFloat16 },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Gather_EqualsDequantizeRow_BitForBit_ForEveryDims(int bits, int groupSize, DType dtype)
    {
        var rng = new SeededRandom((ulong)(bits * 1000 + groupSize));
        for (int dims = groupSize; dims <= 256; dims += groupSize)
        {
            QuantizedTable q = Table(rng, 23, dims, groupSize, bits, dtype);
            int[] ids = Ids(rng, 23, 40);
            foreach (bool fused in new[] { false, true })
            {
                q.FusedDequantize = fused;
                var expected = new float[ids.Length * dims];
                for (int i = 0; i < ids.Length; i++)
                    q.DequantizeRow(ids[i], expected.AsSpan(i * dims, dims));
                foreach (int threads in new[] { 1, 2 })
                {
                    var actual = new float[ids.Length * dims];
                    q.GatherUnchecked(ids, actual, threads);
                    Assert.Equal(expected, actual);
                }
                var public1 = new float[ids.Length * dims];
                q.Gather(ids, public1);
                Assert.Equal(expected, public1);
                // Streaming stores (normally for outputs of at least the last-level cache), at every 4-byte offset
                // of the destination within a line; nothing outside the output is touched.
                foreach (int shift in new[] { 0, 1, 4, 13 })
                {
                    var buffer = new float[ids.Length * dims + 32];
                    Array.Fill(buffer, -7f);
                    fixed (float* b = buffer)
                    {
                        int start = (int)((64 - ((nint)b & 63)) & 63) / 4 + shift;
                        q.GatherUnchecked(ids, buffer.AsSpan(start, ids.Length * dims), 2, streamingStores: true);
                        Kernels.StreamingFence();
                        Assert.Equal(expected, buffer.AsSpan(start, ids.Length * dims).ToArray());
                        Assert.All(buffer.AsSpan(0, start).ToArray(), v => Assert.Equal(-7f, v));
                        Assert.All(buffer.AsSpan(start + ids.Length * dims).ToArray(), v => Assert.Equal(-7f, v));
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void MatVec_And_MatMul_MatchTheDequantizedProduct(int bits, int groupSize, DType dtype)
    {
        var rng = new SeededRandom((ulong)(bits * 77 + groupSize));
        for (int dims = groupSize; dims <= 256; dims += groupSize)
        {
            QuantizedTable q = Table(rng, 37, dims, groupSize, bits, dtype);
            foreach (int batch in new[] { 1, 2, 7 })
            {
                float[] x = Floats(rng, batch * dims);
                var fast = new float[batch * q.NumEmbeddings];
                q.MatMulTransposedUnchecked(x, batch, fast, threads: 2);
                var row = new float[dims];
                for (int n = 0; n < q.NumEmbeddings; n++)
                {
                    q.DequantizeRow(n, row);
                    for (int b = 0; b < batch; b++)
                    {
                        double exact = 0, magnitude = 0;
                        for (int d = 0; d < dims; d++)
                        {
                            exact += (double)x[b * dims + d] * row[d];
                            magnitude += Math.Abs((double)x[b * dims + d] * row[d]);
                        }
                        // Factoring the scale out changes rounding, not the value: a float32 bound on Σ|x·ŵ|.
                        double err = Math.Abs(fast[b * q.NumEmbeddings + n] - exact);
                        Assert.True(err <= (dims + 4) * 1.2e-7 * magnitude + 1e-30,
                            $"bits {bits} gs {groupSize} dims {dims} batch {batch}: y[{b},{n}] = {fast[b * q.NumEmbeddings + n]}, exact {exact}");
                    }
                }
            }
        }
    }

    [Fact]
    public void DirectDot_MatchesReference_WhenAvailable()
    {
        if (!AffineKernels.Direct || !AffineKernels.Supports(QuantizationMode.Affine, 4, DType.Float32, 64))
            return; // the machine (or an ISA-off rerun) takes the other path, covered above
        var rng = new SeededRandom(5);
        foreach (int bits in new[] { 4, 8 })
        {
            foreach (int groupSize in new[] { 32, 64, 128 })
            {
                for (int dims = groupSize; dims <= 256; dims += groupSize)
                {
                    QuantizedTable q = Table(rng, 3, dims, groupSize, bits, DType.Float32);
                    float[] x = Floats(rng, dims);
                    var permuted = new float[dims];
                    AffineKernels.PermuteForDirectDot(x, bits, permuted);
                    int groups = dims / groupSize;
                    var sums = new float[groups];
                    for (int g = 0; g < groups; g++)
                        for (int i = 0; i < groupSize; i++)
                            sums[g] += x[g * groupSize + i];
                    float[] scales = ReadFloats(q.Scales), biases = ReadFloats(q.Biases);
                    for (int r = 0; r < q.NumEmbeddings; r++)
                    {
                        double expected = AffineKernels.DotRowReference(q.GetWeightRow(r), scales.AsSpan(r * groups, groups),
                            biases.AsSpan(r * groups, groups), groupSize, bits, x);
                        float direct, inOrder;
                        fixed (uint* w = q.GetWeightRow(r))
                        fixed (float* s = scales, b = biases, xp = x, pp = permuted, sp = sums)
                        {
                            direct = bits == 4
                                ? AffineKernels.DotRowDirect<Bits4>((byte*)w, s + r * groups, b + r * groups, groupSize, pp, sp, dims)
                                : AffineKernels.DotRowDirect<Bits8>((byte*)w, s + r * groups, b + r * groups, groupSize, pp, sp, dims);
                            inOrder = bits == 4
                                ? AffineKernels.DotRow<Bits4>((byte*)w, s + r * groups, b + r * groups, groupSize, xp, sp, dims)
                                : AffineKernels.DotRow<Bits8>((byte*)w, s + r * groups, b + r * groups, groupSize, xp, sp, dims);
                        }
                        double tolerance = 1e-5 * (1 + Math.Abs(expected)) + 1e-4;
                        Assert.True(Math.Abs(direct - expected) <= tolerance, $"direct bits {bits} gs {groupSize} dims {dims}: {direct} vs {expected}");
                        Assert.True(Math.Abs(inOrder - expected) <= tolerance, $"in-order bits {bits} gs {groupSize} dims {dims}: {inOrder} vs {expected}");
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(PoolingMode.Sum, false)]
    [InlineData(PoolingMode.Sum, true)]
    [InlineData(PoolingMode.Mean, false)]
    [InlineData(PoolingMode.Max, false)]
    public void Bags_EqualReference_OnTheParallelPath(PoolingMode mode, bool weighted)
    {
        var rng = new SeededRandom(9);
        QuantizedTable q = Table(rng, 300, 128, 64, 4, DType.Float32);
        var bag = new QuantizedEmbeddingBag(q, mode);
        // 4,000 positions × 128 dims is above the parallel threshold; bags of 0..40 (empty bags, repeats).
        var offsets = new List<int>();
        var ids = new List<int>();
        while (ids.Count < 4000)
        {
            offsets.Add(ids.Count);
            int size = rng.NextInt(41);
            for (int i = 0; i < size; i++)
                ids.Add(rng.NextInt(300));
        }
        float[] weights = weighted ? Floats(rng, ids.Count) : [];
        var fast = new float[offsets.Count * 128];
        var slow = new float[offsets.Count * 128];
        bag.Forward(ids.ToArray(), offsets.ToArray(), fast, weights);
        bag.ForwardReference(ids.ToArray(), offsets.ToArray(), slow, weights);
        Assert.Equal(slow, fast);
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void BagSums_EqualDequantizeThenAdd_BitForBit(int bits, int groupSize, DType dtype)
    {
        // Sum/mean bags without weights accumulate straight from the packed rows (AccumulateRow);
        // the result must be exactly "dequantize each row, add it to the bag in position order".
        var rng = new SeededRandom((ulong)(bits * 31 + groupSize));
        for (int dims = groupSize; dims <= 256; dims += groupSize)
        {
            QuantizedTable q = Table(rng, 19, dims, groupSize, bits, dtype);
            int[] ids = Ids(rng, 19, 33);
            int[] offsets = [0, 0, 1, 8, 8, 30];
            foreach (bool fused in new[] { false, true })
            {
                q.FusedDequantize = fused;
                foreach (PoolingMode mode in new[] { PoolingMode.Sum, PoolingMode.Mean })
                {
                    var expected = new float[offsets.Length * dims];
                    var row = new float[dims];
                    for (int b = 0; b < offsets.Length; b++)
                    {
                        int end = b + 1 < offsets.Length ? offsets[b + 1] : ids.Length;
                        Span<float> o = expected.AsSpan(b * dims, dims);
                        for (int i = offsets[b]; i < end; i++)
                        {
                            q.DequantizeRow(ids[i], row);
                            for (int d = 0; d < dims; d++)
                                o[d] += row[d];
                        }
                        if (mode == PoolingMode.Mean && end > offsets[b])
                            for (int d = 0; d < dims; d++)
                                o[d] /= end - offsets[b];
                    }
                    var actual = new float[offsets.Length * dims];
                    new QuantizedEmbeddingBag(q, mode).Forward(ids, offsets, actual);
                    Assert.Equal(expected, actual);
                }
            }
        }
    }

    [Theory]
    [InlineData(4, QuantizedRowLayout.Mlx)]
    [InlineData(4, QuantizedRowLayout.FusedRows)]
    [InlineData(8, QuantizedRowLayout.Mlx)]
    [InlineData(8, QuantizedRowLayout.FusedRows)]
    public void Gather_OfNoneOneAndRepeatedIds_EqualsDequantizeRow(int bits, QuantizedRowLayout layout)
    {
        // The direct gather (one loop per width and rounding) on the short and repetitive batches: no ids, one id,
        // the same id throughout, the last row; plain and streaming stores, one and two threads.
        var rng = new SeededRandom((ulong)(bits * 7 + (int)layout));
        const int rows = 9, dims = 96;
        QuantizedTable q = Table(rng, rows, dims, 32, bits, DType.Float32).ToLayout(layout);
        foreach (int[] ids in new[] { Array.Empty<int>(), [rows - 1], [3, 3, 3, 3, 3, 3, 3], [0, rows - 1, 0] })
        {
            foreach (bool fused in new[] { false, true })
            {
                q.FusedDequantize = fused;
                var expected = new float[ids.Length * dims + 1];
                expected[^1] = -7f;
                for (int i = 0; i < ids.Length; i++)
                    q.DequantizeRow(ids[i], expected.AsSpan(i * dims, dims));
                foreach (bool streaming in new[] { false, true })
                {
                    foreach (int threads in new[] { 1, 2 })
                    {
                        var actual = new float[ids.Length * dims + 1];
                        actual[^1] = -7f;
                        q.GatherUnchecked(ids, actual.AsSpan(0, ids.Length * dims), threads, streaming);
                        Kernels.StreamingFence();
                        Assert.Equal(expected, actual);
                    }
                }
            }
        }
    }

    private static QuantizedTable Table(SeededRandom rng, int rows, int dims, int groupSize, int bits, DType dtype)
    {
        float[] w = Floats(rng, rows * dims);
        using var table = new EmbeddingTable(rows, dims, dtype);
        table.CopyFrom(w);
        return QuantizedTable.Quantize(table, groupSize, bits);
    }

    private static int[] Ids(SeededRandom rng, int rows, int count)
    {
        var ids = new int[count];
        for (int i = 0; i < count; i++)
            ids[i] = rng.NextInt(rows);
        ids[1] = ids[0];
        return ids;
    }

    private static float[] Floats(SeededRandom rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++)
            x[i] = (float)rng.NextNormal();
        return x;
    }

    private static float[] ReadFloats(ReadOnlySpan<byte> bytes) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
}
