using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Quantization;

public sealed class RowwiseAndReportTests
{
    private static EmbeddingTable RandomTable(int rows, int dims, ulong seed)
    {
        var rng = new SeededRandom(seed);
        var t = new EmbeddingTable(rows, dims);
        var x = new float[rows * dims];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)(0.05 * rng.NextNormal());
        t.CopyFrom(x);
        return t;
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    [InlineData(2)]
    public void Rowwise_error_is_within_half_a_step_plus_fp16_bias_rounding(int bits)
    {
        using var t = RandomTable(13, 40, (ulong)bits);
        var q = RowwiseQuantizedTable.Quantize(t, bits);
        Assert.Equal(13L * (40 * bits / 8 + 4), q.ByteLength);
        var w = new float[40];
        var d = new float[40];
        for (int r = 0; r < 13; r++)
        {
            t.ReadRow(r, w);
            q.DequantizeRow(r, d);
            float scale = (float)q.Scales[r];
            for (int i = 0; i < 40; i++)
                Assert.True(Math.Abs(w[i] - d[i]) <= scale * 0.5f + Math.Abs(w.Min()) * 1e-3f + 1e-6f, $"row {r} [{i}] {w[i]} vs {d[i]}");
        }
    }

    [Fact]
    public void Rowwise_fused_layout_round_trips_both_ways()
    {
        using var t = RandomTable(5, 16, 3);
        var q = RowwiseQuantizedTable.Quantize(t, 4);
        foreach (bool last in new[] { true, false })
        {
            byte[] fused = q.ToFused(last);
            Assert.Equal(5 * (8 + 4), fused.Length);
            var back = RowwiseQuantizedTable.FromFused(fused, 5, 16, 4, last);
            Assert.Equal(q.Codes.ToArray(), back.Codes.ToArray());
            Assert.Equal(q.Scales.ToArray(), back.Scales.ToArray());
            Assert.Equal(q.Biases.ToArray(), back.Biases.ToArray());
        }
        Assert.Throws<ArgumentException>(() => RowwiseQuantizedTable.FromFused(new byte[10], 5, 16, 4));
    }

    [Fact]
    public void Rowwise_handles_constant_and_empty_rows_and_rejects_bad_bits()
    {
        var q = RowwiseQuantizedTable.Quantize(Enumerable.Repeat(0.25f, 8).ToArray(), 1, 8, 4);
        var d = new float[8];
        q.DequantizeRow(0, d);
        Assert.All(d, v => Assert.Equal(0.25f, v));
        Assert.Equal(0, RowwiseQuantizedTable.Quantize([], 0, 8, 8).NumEmbeddings);
        Assert.Throws<ArgumentOutOfRangeException>(() => RowwiseQuantizedTable.Quantize(new float[8], 1, 8, 3));
        Assert.Throws<ArgumentException>(() => RowwiseQuantizedTable.Quantize(new float[7], 1, 7, 4));
        var g = new float[16];
        q.Gather([0, 0], g);
        Assert.Throws<ArgumentOutOfRangeException>(() => q.Gather([1], g));
    }

    [Fact]
    public void Report_counts_bytes_and_errors()
    {
        using var t = RandomTable(64, 128, 8);
        var r8 = QuantizationReport.Measure(t, 64, 8);
        var r4 = QuantizationReport.Measure(t, 64, 4);
        var r2 = QuantizationReport.Measure(t, 64, 2);
        Assert.Equal(64L * 128 * 4, r8.BytesBefore);
        Assert.Equal(64L * 128 * 8 / 8 + 64L * 2 * 4 * 2, r8.BytesAfter);
        Assert.True(r8.RmsError < r4.RmsError && r4.RmsError < r2.RmsError);
        Assert.True(r8.MaxAbsError >= r8.RmsError);
        Assert.True(r8.MinCosine > 0.999 && r8.MeanCosine <= 1.0000001);
        Assert.True(r4.CompressionRatio > 6);
        var rowwise = QuantizationReport.MeasureRowwise(t, 8);
        Assert.Equal(64L * (128 + 4), rowwise.BytesAfter);
        Assert.Contains("cosine", rowwise.ToString());

        using var zeros = new EmbeddingTable(2, 64);
        var z = QuantizationReport.Measure(zeros);
        Assert.Equal(0, z.MaxAbsError);
        Assert.Equal(1, z.MinCosine);
        Assert.Throws<ArgumentException>(() => QuantizationReport.Compare(zeros, QuantizedTable.Quantize(t)));
    }
}
