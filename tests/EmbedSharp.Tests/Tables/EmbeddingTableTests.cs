using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Tables;

public sealed class EmbeddingTableTests
{
    [Theory]
    [InlineData(DType.Float32, 4)]
    [InlineData(DType.Float16, 2)]
    [InlineData(DType.BFloat16, 2)]
    public unsafe void NewTable_IsZeroedAlignedAndSized(DType dtype, int size)
    {
        using var t = new EmbeddingTable(7, 5, dtype);
        Assert.Equal(7 * 5 * size, t.ByteLength);
        Assert.Equal(0, (long)t.Pointer % EmbeddingTable.Alignment);
        Assert.All(t.ToArray(), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void RowSpans_MustMatchTheDType()
    {
        using var t = new EmbeddingTable(3, 2, DType.BFloat16);
        t.GetRow<BFloat16>(2)[1] = (BFloat16)1.5f;
        Assert.Equal(1.5f, t.ToArray()[5]);
        var ex = Assert.Throws<ArgumentException>(() => t.GetRow<float>(0));
        Assert.Contains("does not match the table's dtype BFloat16 (use BFloat16)", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.GetRow<BFloat16>(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.GetRow<BFloat16>(-1));
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    [InlineData(DType.BFloat16)]
    public void CopyInOut_RoundTripsThroughTheStorageType(DType dtype)
    {
        var r = new SeededRandom(8);
        float[] data = Enumerable.Range(0, 6 * 9).Select(_ => (float)r.NextNormal()).ToArray();
        using var t = new EmbeddingTable(6, 9, dtype);
        t.CopyFrom(data);
        float[] back = t.ToArray();
        for (int i = 0; i < data.Length; i++)
        {
            float want = dtype switch
            {
                DType.Float32 => data[i],
                DType.Float16 => (float)(Half)data[i],
                _ => (float)(BFloat16)data[i],
            };
            Assert.Equal(want, back[i]);
        }
        // Writing the rounded values again is exact (idempotent).
        t.CopyFrom(back);
        Assert.Equal(back, t.ToArray());

        using var c = t.Clone();
        Assert.Equal(back, c.ToArray());
        using var f = t.Clone(DType.Float32);
        Assert.Equal(back, f.ToArray());
    }

    [Fact]
    public void ReadWriteRow_Validate()
    {
        using var t = new EmbeddingTable(2, 3);
        Assert.Throws<ArgumentException>(() => t.WriteRow(0, [1, 2]));
        Assert.Throws<ArgumentException>(() => t.ReadRow(0, new float[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.WriteRow(2, [1, 2, 3]));
        Assert.Throws<ArgumentException>(() => t.CopyFrom(new float[5]));
        t.WriteRow(1, [1, 2, 3]);
        t.ClearRow(1);
        Assert.All(t.ToArray(), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void Dispose_IsIdempotent_AndUseAfterDisposeThrows()
    {
        var t = new EmbeddingTable(2, 2);
        t.Dispose();
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t.ToArray());
        Assert.Throws<ObjectDisposedException>(() => t.GetRow<float>(0));
    }

    [Fact]
    public void EmptyTables_Work()
    {
        using var a = new EmbeddingTable(0, 4);
        using var b = new EmbeddingTable(4, 0);
        Assert.Empty(a.ToArray());
        Assert.Empty(b.ToArray());
        Assert.Equal(0, b.GetRow<float>(3).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddingTable(-1, 2));
    }

    [Theory]
    [InlineData(DType.Float32, 1)]
    [InlineData(DType.Float32, 2)]
    [InlineData(DType.Float16, 2)]
    [InlineData(DType.BFloat16, 3)]
    public void Gather_MatchesReference_OnOneAndSeveralThreads(DType dtype, int threads)
    {
        // 5,000 ids × 67 dims = 335,000 output floats: above the parallel threshold.
        const int v = 3000, d = 67, n = 5000;
        var r = new SeededRandom(3);
        float[] w = Enumerable.Range(0, v * d).Select(_ => (float)r.NextNormal()).ToArray();
        using var t = new EmbeddingTable(v, d, dtype);
        t.CopyFrom(w);
        float[] stored = t.ToArray();
        int[] ids = Enumerable.Range(0, n).Select(i => i % 7 == 0 ? 5 : r.NextInt(v)).ToArray();
        var fast = new float[n * d];
        var slow = new float[n * d];
        t.GatherUnchecked(ids, fast, 0.5f, threads);
        Kernels.GatherReference<float>(stored, d, ids, 0.5f, slow);
        Assert.Equal(slow, fast);
    }

    [Fact]
    public void Gather_ValidatesBeforeWriting()
    {
        using var t = new EmbeddingTable(4, 2);
        var dst = new float[6];
        dst.AsSpan().Fill(9);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => t.Gather([1, 2, 4], dst));
        Assert.Contains("indices[2] = 4", ex.Message);
        Assert.All(dst, x => Assert.Equal(9f, x));
        Assert.Throws<ArgumentException>(() => t.Gather([1, 2], new float[3]));
    }

    [Fact]
    public unsafe void LargeTables_Are2MiBAligned()
    {
        using var t = new EmbeddingTable(3000, 256); // 3 MB
        Assert.Equal(0, (long)t.Pointer % (2 * 1024 * 1024));
        Assert.All(t.GetRow<float>(2999).ToArray(), x => Assert.Equal(0f, x));
    }
}
