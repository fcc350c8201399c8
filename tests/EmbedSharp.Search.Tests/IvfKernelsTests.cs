using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Search.Ivf;

namespace EmbedSharp.Search.Tests;

/// <summary>IVF's fast kernels against their plain references (also run with hardware intrinsics off by .ci/run).</summary>
public sealed unsafe class IvfKernelsTests
{
    private static float[] Normal(SeededRandom rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = (float)rng.NextNormal();
        return x;
    }

    private static void Close(float expected, float actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-4f * (1 + Math.Abs(expected)), $"{what}: expected {expected}, got {actual}");

    [Theory]
    [InlineData(0, 8)]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(5, 8)]
    [InlineData(7, 13)]
    [InlineData(9, 128)]
    [InlineData(17, 33)]
    public void Centroid_scores_match_the_reference(int n, int dims)
    {
        var rng = new SeededRandom((ulong)(n * 1000 + dims));
        var q = Normal(rng, dims);
        var c = Normal(rng, n * dims);
        foreach (bool l2 in new[] { false, true })
        {
            var expected = new float[n];
            var actual = new float[n + 1];
            actual[n] = 42;
            IvfKernels.CentroidScoresReference(q, c, dims, l2, expected);
            fixed (float* qp = q)
            fixed (float* cp = c)
            fixed (float* ap = actual)
                IvfKernels.CentroidScores(qp, cp, n, dims, l2, ap);
            for (int i = 0; i < n; i++)
                Close(expected[i], actual[i], $"n={n} dims={dims} l2={l2} row {i}");
            Assert.Equal(42, actual[n]);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 7)]
    [InlineData(3, 3)]
    [InlineData(16, 8)]
    [InlineData(5, 13)]
    public void Adc_table_from_transposed_codebooks_matches_the_reference(int m, int sub)
    {
        const int K = ProductQuantizer.Ksub;
        var rng = new SeededRandom((ulong)(m * 100 + sub));
        var q = Normal(rng, m * sub);
        var centroids = Normal(rng, m * K * sub);
        var transposed = IvfKernels.TransposeCodebooks(centroids, m, sub);
        foreach (bool l2 in new[] { false, true })
        {
            var expected = new float[m * K];
            var actual = new float[m * K];
            IvfKernels.AdcTableReference(q, centroids, m, sub, l2, expected);
            fixed (float* qp = q)
            fixed (float* tp = transposed)
            fixed (float* ap = actual)
                IvfKernels.AdcTable(qp, tp, m, sub, l2, ap);
            for (int i = 0; i < expected.Length; i++)
                Close(expected[i], actual[i], $"m={m} sub={sub} l2={l2} entry {i}");
        }
    }

    [Fact]
    public void Adc_table_agrees_with_the_product_quantizer_s_own_table()
    {
        var rng = new SeededRandom(5);
        int dims = 12, m = 3;
        var pq = ProductQuantizer.Train(Normal(rng, 300 * dims), dims, m, iterations: 2, seed: 3, threads: 1);
        var q = Normal(rng, dims);
        var transposed = IvfKernels.TransposeCodebooks(pq.Centroids, m, pq.SubDims);
        foreach (var kind in new[] { PqTable.Dot, PqTable.L2 })
        {
            var expected = new float[m * ProductQuantizer.Ksub];
            var actual = new float[expected.Length];
            pq.ComputeTable(q, kind, expected);
            fixed (float* qp = q)
            fixed (float* tp = transposed)
            fixed (float* ap = actual)
                IvfKernels.AdcTable(qp, tp, m, pq.SubDims, kind == PqTable.L2, ap);
            for (int i = 0; i < expected.Length; i++)
                Close(expected[i], actual[i], $"{kind} entry {i}");
        }
    }

    [Theory]
    [InlineData(0, 16)]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(9, 4)]
    [InlineData(33, 7)]
    [InlineData(50, 16)]
    public void Adc_scan_matches_the_reference_and_the_quantizer_s_score(int count, int m)
    {
        const int K = ProductQuantizer.Ksub;
        var rng = new SeededRandom((ulong)(count * 31 + m));
        var table = Normal(rng, m * K);
        var codes = new byte[count * m];
        for (int i = 0; i < codes.Length; i++)
            codes[i] = (byte)rng.NextInt(K);
        if (codes.Length > 0)
            codes[^1] = 255;
        var expected = new float[count];
        var actual = new float[count + 1];
        actual[count] = -7;
        IvfKernels.AdcScanReference(codes, m, table, expected);
        fixed (byte* cp = codes)
        fixed (float* tp = table)
        fixed (float* ap = actual)
            IvfKernels.AdcScan(cp, count, m, tp, ap);
        for (int i = 0; i < count; i++)
        {
            Close(expected[i], actual[i], $"count={count} m={m} code {i}");
            Close(ProductQuantizer.Score(table, codes.AsSpan(i * m, m)), actual[i], $"Score of code {i}");
        }
        Assert.Equal(-7, actual[count]);
    }

    [Theory]
    [InlineData(0, 3)]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(5, 17)]
    public void Opq_rotation_matches_the_reference(int rows, int dims)
    {
        var rng = new SeededRandom((ulong)(rows * 7 + dims));
        var x = Normal(rng, rows * dims);
        if (x.Length > 0)
            x[0] = 0;
        var r = Normal(rng, dims * dims);
        var expected = new float[rows * dims];
        var actual = new float[rows * dims];
        Opq.RotateReference(x, dims, r, expected);
        Opq.Rotate(x, dims, r, actual);
        for (int i = 0; i < expected.Length; i++)
            Close(expected[i], actual[i], $"rows={rows} dims={dims} entry {i}");
    }
}
