using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Numerics;

public sealed class GatherTests
{
    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(1, 1, 1)]
    [InlineData(7, 3, 9)]
    [InlineData(13, 17, 40)]
    [InlineData(50, 64, 7)]
    [InlineData(5, 255, 20)]
    public void Gather_MatchesReference_ForEveryStorageType(int rows, int dims, int count)
    {
        var r = new SeededRandom(42);
        var table = new float[rows * dims];
        for (int i = 0; i < table.Length; i++)
            table[i] = (float)r.NextNormal();
        int[] ids = Enumerable.Range(0, rows == 0 ? 0 : count).Select(_ => r.NextInt(rows)).ToArray();
        if (ids.Length > 2)
            ids[1] = ids[0]; // repeated id

        Check(table, dims, ids, 1f);
        Check(table, dims, ids, 2.5f);
        var half = table.Select(x => (Half)x).ToArray();
        Check(half, dims, ids, 1f);
        var bf = table.Select(x => (BFloat16)x).ToArray();
        Check(bf, dims, ids, 0.5f);
    }

    private static void Check<T>(T[] table, int dims, int[] ids, float scale) where T : unmanaged
    {
        var fast = new float[ids.Length * dims];
        var slow = new float[ids.Length * dims];
        Kernels.Gather<T>(table, dims, ids, scale, fast);
        Kernels.GatherReference<T>(table, dims, ids, scale, slow);
        Assert.Equal(slow, fast);
    }

    [Fact]
    public void WidenHalf_EqualsTheScalarCast_ForEveryBitPattern()
    {
        // All 65,536 float16 values (±0, subnormals, normals, ±∞, signalling and quiet NaNs), bit for bit against
        // the scalar cast and TensorPrimitives; then every short length at several start offsets (vector tails).
        var all = new Half[65_536];
        for (int i = 0; i < all.Length; i++)
            all[i] = BitConverter.UInt16BitsToHalf((ushort)i);
        var fast = new float[all.Length];
        var library = new float[all.Length];
        Kernels.WidenHalf(all, fast);
        System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(all, library);
        for (int i = 0; i < all.Length; i++)
        {
            uint want = BitConverter.SingleToUInt32Bits((float)all[i]);
            if (want != BitConverter.SingleToUInt32Bits(fast[i]))
                Assert.Fail($"half 0x{i:X4}: 0x{BitConverter.SingleToUInt32Bits(fast[i]):X8}, want 0x{want:X8}");
            Assert.Equal(want, BitConverter.SingleToUInt32Bits(library[i]));
        }
        var r = new SeededRandom(5);
        for (int length = 0; length <= 70; length++)
        {
            foreach (int start in new[] { 0, 1, 3, 31_000, 64_500 })
            {
                var dst = new float[length + 2];
                Array.Fill(dst, -9f);
                Kernels.WidenHalf(all.AsSpan(start, length), dst.AsSpan(1, length));
                Assert.Equal(-9f, dst[0]);
                Assert.Equal(-9f, dst[^1]);
                for (int i = 0; i < length; i++)
                    Assert.Equal(BitConverter.SingleToUInt32Bits((float)all[start + i]), BitConverter.SingleToUInt32Bits(dst[1 + i]));
            }
        }
        Assert.Throws<ArgumentException>(() => Kernels.WidenHalf(new Half[5], new float[4]));
    }

    [Theory]
    [InlineData(DType.Float16, 1)]
    [InlineData(DType.Float16, 2)]
    [InlineData(DType.BFloat16, 1)]
    [InlineData(DType.BFloat16, 2)]
    public void TableGather_16BitRows_EqualReference_OnAwkwardSizes(DType dtype, int threads)
    {
        // The table's own row loop (row source, prefetch, widening into the output row) against the plain reference,
        // bit for bit, on dims around every vector width, with repeated ids, special values and a scale.
        foreach (int dims in new[] { 1, 7, 8, 15, 16, 17, 31, 32, 33, 67, 768 })
        {
            var r = new SeededRandom((ulong)(dims + 100));
            const int rows = 97;
            using var table = new EmbeddingTable(rows, dims, dtype);
            table.CopyFrom(Enumerable.Range(0, rows * dims).Select(_ => (float)r.NextNormal()).ToArray());
            if (dtype == DType.Float16)
            {
                Half[] special = [BitConverter.UInt16BitsToHalf(0x0001), BitConverter.UInt16BitsToHalf(0x83FF), Half.NegativeZero,
                    Half.PositiveInfinity, Half.NegativeInfinity, BitConverter.UInt16BitsToHalf(0x7C01), Half.NaN, Half.MaxValue];
                for (int k = 0; k < special.Length; k++)
                    table.GetRow<Half>(k % rows)[k % dims] = special[k];
            }
            foreach (int count in new[] { 0, 1, 7, 3000 })
            {
                int[] ids = Enumerable.Range(0, count).Select(i => i % 5 == 0 ? 3 : r.NextInt(rows)).ToArray();
                foreach (float scale in new[] { 1f, 0.5f })
                {
                    var fast = new float[count * dims + 1];
                    fast[^1] = -7f;
                    var slow = new float[count * dims];
                    table.GatherUnchecked(ids, fast.AsSpan(0, count * dims), scale, threads);
                    if (dtype == DType.Float16)
                        Kernels.GatherReference<Half>(table.AsSpan<Half>(), dims, ids, scale, slow);
                    else
                        Kernels.GatherReference<BFloat16>(table.AsSpan<BFloat16>(), dims, ids, scale, slow);
                    Assert.Equal(-7f, fast[^1]);
                    for (int i = 0; i < slow.Length; i++)
                    {
                        if (BitConverter.SingleToUInt32Bits(slow[i]) != BitConverter.SingleToUInt32Bits(fast[i]))
                            Assert.Fail($"{dtype} dims {dims} count {count} scale {scale}: [{i}] = {fast[i]}, want {slow[i]}");
                    }
                }
            }
        }
    }

    [Fact]
    public unsafe void CopyStreaming_EqualsACopy_ForEveryLengthAndMisalignment()
    {
        // Lengths 0..256 and every 4-byte misalignment of the destination within a 64-byte line:
        // the unaligned head, the streamed middle and the tail must together write exactly the row.
        var r = new SeededRandom(7);
        var source = new float[256];
        for (int i = 0; i < source.Length; i++)
            source[i] = (float)r.NextNormal();
        var buffer = new float[256 + 64];
        fixed (float* src = source)
        fixed (float* buf = buffer)
        {
            for (int count = 0; count <= 256; count++)
            {
                for (int shift = 0; shift < 16; shift++)
                {
                    Array.Fill(buffer, -1f);
                    float* dst = (float*)(((nint)buf + 63) & ~(nint)63) + shift;
                    Kernels.CopyStreaming(src, dst, count);
                    Kernels.StreamingFence();
                    int at = (int)(dst - buf);
                    for (int i = 0; i < buffer.Length; i++)
                        Assert.Equal(i >= at && i < at + count ? source[i - at] : -1f, buffer[i]);
                }
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void TableGather_WithStreamingStores_EqualsReference(int threads)
    {
        // The streaming path normally starts at the last-level cache's size; forced here on awkward sizes and on
        // every 4-byte offset of the destination within a 64-byte line (aligned rows, spliced rows, and dims that
        // fall back to ordinary stores). Floats before and after the output must be left alone.
        foreach (int dims in new[] { 1, 7, 16, 32, 67, 128, 768 })
        {
            var r = new SeededRandom((ulong)dims);
            int rows = 301;
            var values = new float[rows * dims];
            for (int i = 0; i < values.Length; i++)
                values[i] = (float)r.NextNormal();
            using var table = new EmbeddingTable(rows, dims);
            table.CopyFrom(values);
            foreach (int count in new[] { 1, 2, 3000 })
            {
                int[] ids = Enumerable.Range(0, count).Select(_ => r.NextInt(rows)).ToArray();
                if (count > 1)
                    ids[1] = ids[0];
                if (count > 4)
                {
                    // The first and last rows of the table side by side, both ways round: the AVX2 splice reads the
                    // line two rows share with masked loads that must not reach outside either row.
                    ids[2] = 0;
                    ids[3] = rows - 1;
                    ids[4] = 0;
                }
                var expected = new float[ids.Length * dims];
                Kernels.GatherReference<float>(values, dims, ids, 1f, expected);
                foreach (int shift in count == 3000 ? Enumerable.Range(0, 16) : [0, 3, 12])
                {
                    var buffer = new float[ids.Length * dims + 48];
                    Array.Fill(buffer, -7f);
                    unsafe
                    {
                        fixed (float* b = buffer)
                        {
                            // Start `shift` floats past a 64-byte boundary inside the buffer.
                            int start = (int)((64 - ((nint)b & 63)) & 63) / 4 + shift;
                            table.GatherUnchecked(ids, buffer.AsSpan(start, ids.Length * dims), 1f, threads, streamingStores: true);
                            Kernels.StreamingFence();
                            Assert.Equal(expected, buffer.AsSpan(start, ids.Length * dims).ToArray());
                            for (int i = 0; i < buffer.Length; i++)
                                if (i < start || i >= start + ids.Length * dims)
                                    Assert.Equal(-7f, buffer[i]);
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void CacheSize_FromCpuidFields()
    {
        // A 16-way, 1-partition, 64-byte-line cache with 32,768 sets (ECX = sets − 1) is 32 MiB.
        int ebx = (15 << 22) | (0 << 12) | 63;
        Assert.Equal(32L << 20, Hardware.CacheBytes(ebx, 32767));
        Assert.True(Hardware.LastLevelCacheBytes >= 1 << 20);
        // The threshold is the last-level cache, capped: a virtual machine may report its host's whole L3.
        Assert.Equal(Math.Min(Hardware.LastLevelCacheBytes, 8L << 20), Hardware.StreamingStoreThresholdBytes);
        Assert.True(Hardware.StreamingStoreThresholdBytes <= Hardware.StreamingStoreCapBytes);
    }

    [Theory]
    [InlineData(1.0, 6.0)]
    [InlineData(2.0, 3.7416573867739413)]
    [InlineData(3.0, 3.3019272488946263)]
    [InlineData(double.PositiveInfinity, 3.0)]
    public void Norm_OfOneTwoThree(double p, double expected)
    {
        Assert.Equal(expected, Kernels.Norm([1f, -2f, 3f], p), 12);
    }
}
