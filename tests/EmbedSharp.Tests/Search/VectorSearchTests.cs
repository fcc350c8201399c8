using EmbedSharp.Numerics;
using EmbedSharp.Search;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Search;

public sealed class VectorSearchTests
{
    private static float[] Random(SeededRandom rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
            v[i] = (float)rng.NextNormal();
        return v;
    }

    [Fact]
    public void Kernels_match_their_scalar_references_at_every_length_0_to_256()
    {
        var rng = new SeededRandom(42);
        for (int n = 0; n <= 256; n++)
        {
            var x = Random(rng, n);
            var y = Random(rng, n);
            double scale = 1e-6 * (1 + x.Zip(y, (a, b) => Math.Abs(a * b)).Sum());
            Assert.True(Math.Abs(SearchKernels.Dot(x, y) - SearchKernels.DotReference(x, y)) <= scale, $"dot n={n}");
            double scale2 = 1e-6 * (1 + x.Zip(y, (a, b) => (a - b) * (a - b)).Sum());
            Assert.True(Math.Abs(SearchKernels.SquaredDistance(x, y) - SearchKernels.SquaredDistanceReference(x, y)) <= scale2, $"l2 n={n}");
        }
        Assert.Equal(0f, SearchKernels.Dot([], []));
    }

    [Fact]
    public void TopK_equals_sorting_everything_including_ties_NaN_and_exclusions()
    {
        var rng = new SeededRandom(7);
        foreach (int n in new[] { 0, 1, 2, 7, 31, 100, 257 })
        {
            var scores = new float[n];
            for (int i = 0; i < n; i++)
                scores[i] = rng.NextInt(5) switch { 0 => float.NaN, 1 => 0.5f, _ => (float)Math.Round(rng.NextNormal(), 1) };
            int[] exclude = n > 3 ? [0, n / 2, n - 1] : [];
            int[] manyExcluded = Enumerable.Range(0, n).Where(i => i % 3 == 0).ToArray();
            foreach (int k in new[] { 0, 1, 3, n, n + 5 })
            {
                foreach (bool largest in new[] { true, false })
                {
                    Assert.Equal(VectorSearch.TopKReference(scores, k, largest, exclude), VectorSearch.TopK(scores, k, largest, exclude));
                    Assert.Equal(VectorSearch.TopKReference(scores, k, largest, manyExcluded), VectorSearch.TopK(scores, k, largest, manyExcluded));
                }
            }
        }
    }

    [Fact]
    public void Ties_keep_the_lower_row_and_NaN_ranks_last()
    {
        var top = VectorSearch.TopK([0.5f, float.NaN, 0.9f, 0.5f, 0.9f], 5);
        Assert.Equal([2, 4, 0, 3, 1], top.Select(t => t.Index));
        var bottom = VectorSearch.TopK([0.5f, float.NaN, 0.9f, 0.5f], 4, largest: false);
        Assert.Equal([0, 3, 2, 1], bottom.Select(t => t.Index));
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    [InlineData(DType.BFloat16)]
    public void Search_scores_every_metric_like_the_definitions(DType dtype)
    {
        var rng = new SeededRandom(3);
        const int Rows = 50, Dims = 13;
        using var table = new EmbeddingTable(Rows, Dims, dtype);
        for (int r = 0; r < Rows; r++)
            table.WriteRow(r, r == 4 ? new float[Dims] : Random(rng, Dims));
        var q = Random(rng, Dims);
        var row = new float[Dims];
        foreach (var metric in new[] { SimilarityMetric.Cosine, SimilarityMetric.Dot, SimilarityMetric.L2 })
        {
            var expected = new float[Rows];
            for (int r = 0; r < Rows; r++)
            {
                table.ReadRow(r, row);
                double dot = 0, rr = 0, qq = 0, dd = 0;
                for (int j = 0; j < Dims; j++)
                {
                    dot += row[j] * q[j];
                    rr += row[j] * row[j];
                    qq += q[j] * q[j];
                    dd += (row[j] - q[j]) * (row[j] - q[j]);
                }
                expected[r] = metric switch
                {
                    SimilarityMetric.Dot => (float)dot,
                    SimilarityMetric.L2 => (float)Math.Sqrt(dd),
                    _ => rr == 0 ? 0 : (float)(dot / Math.Sqrt(rr * qq)),
                };
            }
            var hits = VectorSearch.Search(table, q, 10, metric, rowLimit: 40, exclude: [1]);
            var reference = VectorSearch.TopKReference(expected.AsSpan(0, 40), 10, metric != SimilarityMetric.L2, [1]);
            Assert.Equal(reference.Select(h => h.Index), hits.Select(h => h.Index));
            for (int i = 0; i < hits.Length; i++)
                Assert.Equal(reference[i].Score, hits[i].Score, 4);
            Assert.DoesNotContain(hits, h => h.Index == 1 || h.Index >= 40);
        }
        Assert.Equal(0f, VectorSearch.Search(table, q, Rows, SimilarityMetric.Cosine).Single(h => h.Index == 4).Score);
    }

    [Fact]
    public void Search_rejects_bad_arguments()
    {
        using var table = new EmbeddingTable(3, 2);
        Assert.Throws<ArgumentException>(() => VectorSearch.Search(table, [1f], 1, SimilarityMetric.Dot));
        Assert.Throws<ArgumentOutOfRangeException>(() => VectorSearch.Search(table, [1f, 2], -1, SimilarityMetric.Dot));
        Assert.Throws<ArgumentOutOfRangeException>(() => VectorSearch.Search(table, [1f, 2], 1, SimilarityMetric.Dot, rowLimit: 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => VectorSearch.Search(table, [1f, 2], 1, (SimilarityMetric)9));
        Assert.Empty(VectorSearch.Search(table, [1f, 2], 0, SimilarityMetric.Dot));
        var index = new ExactIndex(table, SimilarityMetric.L2);
        Assert.Equal((3, 2, SimilarityMetric.L2), (index.NumEmbeddings, index.Dims, index.Metric));
    }
}
