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
        Assert.Equal(Hardware.LastLevelCacheBytes, Hardware.StreamingStoreThresholdBytes);
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
