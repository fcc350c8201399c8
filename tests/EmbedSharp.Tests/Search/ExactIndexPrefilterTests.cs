using EmbedSharp.Numerics;
using EmbedSharp.Search;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Search;

/// <summary>
/// The exact 8-bit pre-filter of <see cref="ExactIndex.PrefilterCandidates"/>: its integer kernel against
/// the plain reference, its error bound, and its answers against the float scan (including near-ties
/// where only the fallback can be right). The class name keeps these in .ci/run's ISA-off reruns.
/// </summary>
public sealed class ExactIndexPrefilterTests
{
    /// <summary>Rows around a few centres (so neighbours are clear-cut and the pre-filter decides), finite normals otherwise.</summary>
    private static EmbeddingTable Clustered(int n, int dims, int seed, int centres = 5)
    {
        var rng = new SeededRandom((ulong)seed);
        var c = new float[centres * dims];
        for (int i = 0; i < c.Length; i++)
            c[i] = (float)rng.NextNormal();
        var values = new float[n * dims];
        for (int r = 0; r < n; r++)
        {
            int which = rng.NextInt(centres);
            for (int d = 0; d < dims; d++)
                values[r * dims + d] = c[which * dims + d] + 0.5f * (float)rng.NextNormal();
        }
        var table = new EmbeddingTable(n, dims);
        table.CopyFrom(values);
        return table;
    }

    private static float[] RowsOf(EmbeddingTable table, params int[] rows)
    {
        var q = new float[rows.Length * table.Dims];
        for (int i = 0; i < rows.Length; i++)
            table.ReadRow(rows[i], q.AsSpan(i * table.Dims, table.Dims));
        return q;
    }

    private static void AssertIdentical(Neighbor[] expected, Neighbor[] actual, string what)
    {
        Assert.True(expected.SequenceEqual(actual),
            $"{what}: [{string.Join(",", actual.Select(a => $"{a.Index}:{a.Score}"))}] expected [{string.Join(",", expected.Select(e => $"{e.Index}:{e.Score}"))}]");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(16, 4)]
    [InlineData(17, 7)]
    [InlineData(40, 33)]
    [InlineData(33, 300)]
    [InlineData(20, 8)]
    [InlineData(16, 12)]
    public unsafe void The_tile_kernel_equals_the_reference_integer_sums(int n, int dims)
    {
        var rng = new SeededRandom((ulong)(n * 131 + dims));
        using var table = Clustered(n, dims, n + dims);
        var shadow = Int8Shadow.Build(n, dims, (r, row) => table.ReadRow(r, row), unit: false, threads: 2);
        int groups = shadow.Groups;
        // Four queries with the extremes of a signed byte among random values; zero padding past dims.
        var queries = new sbyte[Int8Kernels.WideQueryBlock * groups * 4];
        for (int j = 0; j < Int8Kernels.WideQueryBlock; j++)
            for (int d = 0; d < dims; d++)
                queries[j * groups * 4 + d] = (sbyte)(d % 5 == 0 ? (j % 2 == 0 ? -128 : 127) : rng.NextInt(256) - 128);
        var fast = new int[Int8Kernels.QueryBlock * 16];
        var scalar = new int[Int8Kernels.QueryBlock * 16];
        var oneFast = new int[Int8Kernels.QueryBlock * 16];
        var oneScalar = new int[Int8Kernels.QueryBlock * 16];
        var wide = new int[Int8Kernels.WideQueryBlock * 16];
        var codes = new byte[dims];
        for (int t = 0; t < shadow.Tiles; t++)
        {
            fixed (byte* c = shadow.Codes)
            fixed (sbyte* q = queries)
            fixed (int* f = fast)
            fixed (int* s = scalar)
            fixed (int* of = oneFast)
            fixed (int* os = oneScalar)
            fixed (int* w = wide)
            {
                byte* tile = c + (nint)t * groups * Int8Kernels.TileBytesPerGroup;
                Int8Kernels.ScoreTile(tile, groups, q, f, 16);
                Int8Kernels.ScoreTileScalar(tile, groups, q, s, 16);
                Int8Kernels.ScoreTile8(tile, groups, q, w, 16);
                // The one-query kernel (a batch's queries past its last block of four), each query on its own.
                for (int j = 0; j < Int8Kernels.QueryBlock; j++)
                {
                    Int8Kernels.ScoreTileOne(tile, groups, q + j * groups * 4, of + j * 16);
                    Int8Kernels.ScoreTileOneScalar(tile, groups, q + j * groups * 4, os + j * 16);
                }
            }
            for (int r = t * 16; r < Math.Min(n, t * 16 + 16); r++)
            {
                for (int d = 0; d < dims; d++)
                    codes[d] = shadow.Codes[shadow.Offset(r, d)];
                for (int j = 0; j < Int8Kernels.QueryBlock; j++)
                {
                    int expected = Int8Kernels.DotReference(codes, queries.AsSpan(j * groups * 4, dims));
                    Assert.Equal(expected, fast[j * 16 + r % 16]);
                    Assert.Equal(expected, scalar[j * 16 + r % 16]);
                    Assert.Equal(expected, oneFast[j * 16 + r % 16]);
                    Assert.Equal(expected, oneScalar[j * 16 + r % 16]);
                }
                for (int j = 0; j < Int8Kernels.WideQueryBlock; j++)
                    Assert.Equal(Int8Kernels.DotReference(codes, queries.AsSpan(j * groups * 4, dims)), wide[j * 16 + r % 16]);
            }
        }
    }

    [Theory]
    [InlineData(1, 5, false)]
    [InlineData(50, 7, true)]
    [InlineData(300, 33, true)]
    [InlineData(200, 64, false)]
    public void The_estimate_is_within_its_bound_of_the_true_dot_product(int n, int dims, bool unit)
    {
        using var table = Clustered(n, dims, dims * 3 + n);
        var shadow = Int8Shadow.Build(n, dims, (r, row) => table.ReadRow(r, row), unit, threads: 2);
        var rng = new SeededRandom(11);
        var row = new float[dims];
        var bytes = new sbyte[shadow.Groups * 4];
        for (int trial = 0; trial < 5; trial++)
        {
            var q = new float[dims];
            for (int d = 0; d < dims; d++)
                q[d] = (float)rng.NextNormal();
            var plan = shadow.Plan(q, bytes);
            Assert.True(plan.Bound > 0);
            for (int r = 0; r < n; r++)
            {
                table.ReadRow(r, row);
                double scale = 1;
                if (unit)
                    scale = 1 / Math.Sqrt(row.Sum(v => (double)v * v));
                double exact = 0;
                long sum = 0;
                for (int d = 0; d < dims; d++)
                {
                    exact += (double)q[d] * row[d] * scale;
                    byte c = shadow.Codes[shadow.Offset(r, d)];
                    Assert.True(Math.Abs(row[d] * scale - (shadow.Min[d] + shadow.Step[d] * c)) <= shadow.Error[d] + 1e-15);
                    Assert.True(shadow.Error[d] <= shadow.Step[d] / 2 * (1 + 1e-9) + 1e-15);
                    Assert.InRange(bytes[d], -Int8Shadow.QueryLimit, Int8Shadow.QueryLimit);
                    sum += c * bytes[d];
                }
                double estimate = plan.Offset + (double)plan.T * sum;
                float inFloat = plan.Offset + plan.T * sum;
                Assert.True(Math.Abs(exact - estimate) <= plan.Bound + 2 * plan.Rounding, $"row {r}: |{exact} - {estimate}| > {plan.Bound}");
                Assert.True(Math.Abs(inFloat - estimate) <= plan.Rounding, $"row {r}: float estimate off by {Math.Abs(inFloat - estimate)} > {plan.Rounding}");
            }
        }
    }

    [Theory]
    [InlineData(0, 3)]
    [InlineData(1, 1)]
    [InlineData(7, 17)]
    [InlineData(300, 7)]
    [InlineData(2100, 33)]
    public void Answers_equal_the_float_scan_single_and_batched(int n, int dims)
    {
        using var table = Clustered(n, dims, n * 7 + dims);
        var rng = new SeededRandom(5);
        foreach (var metric in new[] { SimilarityMetric.Cosine, SimilarityMetric.Dot, SimilarityMetric.L2 })
        {
            var plain = new ExactIndex(table, metric);
            var pre = new ExactIndex(table, metric) { PrefilterCandidates = 24 };
            foreach (int m in new[] { 0, 1, 3, 7, 13, 16 })
            {
                var queries = new float[m * dims];
                for (int i = 0; i < queries.Length; i++)
                    queries[i] = (float)rng.NextNormal();
                // Half the queries are rows of the table (their neighbours are a cluster), half are random.
                for (int i = 0; i < m && n > 0; i += 2)
                    table.ReadRow(rng.NextInt(n), queries.AsSpan(i * dims, dims));
                foreach (int k in new[] { 0, 1, 10, n + 3 })
                {
                    var expected = plain.SearchBatch(queries, k, threads: 2);
                    var batched = pre.SearchBatch(queries, k, threads: 2);
                    var one = pre.SearchBatch(queries, k, threads: 1);
                    for (int i = 0; i < m; i++)
                    {
                        string what = $"{metric} n={n} dims={dims} m={m} k={k} query {i}";
                        AssertIdentical(expected[i], batched[i], what + " batch");
                        AssertIdentical(expected[i], one[i], what + " one thread");
                        AssertIdentical(plain.Search(queries.AsSpan(i * dims, dims), k), pre.Search(queries.AsSpan(i * dims, dims), k), what + " single");
                    }
                }
            }
            var (used, _) = pre.PrefilterCounts;
            if (n >= 300 && metric != SimilarityMetric.L2)
                Assert.True(used > 0, $"{metric} n={n}: the pre-filter was never used");
            if (metric == SimilarityMetric.L2)
                Assert.Equal(0, used);
        }
    }

    [Fact]
    public void Clear_neighbours_are_proven_without_the_full_scan()
    {
        using var table = Clustered(3000, 40, 9, centres: 30);
        var pre = new ExactIndex(table, SimilarityMetric.Cosine) { PrefilterCandidates = 64 };
        var plain = new ExactIndex(table, SimilarityMetric.Cosine);
        var queries = RowsOf(table, 0, 5, 17, 400, 2999);
        var expected = plain.SearchBatch(queries, 10);
        var found = pre.SearchBatch(queries, 10);
        for (int i = 0; i < 5; i++)
            AssertIdentical(expected[i], found[i], $"query {i}");
        var (used, fallbacks) = pre.PrefilterCounts;
        Assert.Equal(5, used);
        Assert.True(fallbacks < 5, $"{fallbacks} of 5 clear-cut queries needed the full scan");
    }

    [Fact]
    public void Near_ties_at_the_cut_fall_back_to_the_full_scan_and_stay_exact()
    {
        // 400 rows that are the same unit direction nudged by far less than the 8-bit step: the estimates
        // cannot separate the 10th from the 11th, so the bound must refuse and the float scan must answer.
        const int dims = 16, n = 400;
        var rng = new SeededRandom(3);
        var values = new float[n * dims];
        for (int r = 0; r < n; r++)
            for (int d = 0; d < dims; d++)
                values[r * dims + d] = (d == 0 ? 1f : 0f) + 1e-4f * (float)rng.NextNormal() + (r % 50 == 0 ? 5f * (float)rng.NextNormal() : 0f);
        using var table = new EmbeddingTable(n, dims);
        table.CopyFrom(values);
        foreach (var metric in new[] { SimilarityMetric.Cosine, SimilarityMetric.Dot })
        {
            var plain = new ExactIndex(table, metric);
            var pre = new ExactIndex(table, metric) { PrefilterCandidates = 32 };
            var queries = RowsOf(table, 1, 2, 3);
            var expected = plain.SearchBatch(queries, 10);
            var found = pre.SearchBatch(queries, 10);
            for (int i = 0; i < 3; i++)
                AssertIdentical(expected[i], found[i], $"{metric} query {i}");
            var (used, fallbacks) = pre.PrefilterCounts;
            Assert.Equal(3, used);
            Assert.Equal(3, fallbacks);
        }
    }

    [Fact]
    public void A_zero_query_and_removed_rows_and_added_rows_stay_exact()
    {
        const int dims = 9;
        using var source = Clustered(500, dims, 21);
        var plain = new ExactIndex(dims, SimilarityMetric.Cosine);
        var pre = new ExactIndex(dims, SimilarityMetric.Cosine) { PrefilterCandidates = 20 };
        var row = new float[dims];
        for (int r = 0; r < 300; r++)
        {
            source.ReadRow(r, row);
            plain.Add(row);
            pre.Add(row);
        }
        foreach (int id in new[] { 3, 10, 11, 250 })
        {
            plain.Remove(id);
            pre.Remove(id);
        }
        var queries = new float[3 * dims];
        source.ReadRow(10, queries.AsSpan(dims, dims));
        source.ReadRow(400, queries.AsSpan(2 * dims, dims));
        void Check(string what)
        {
            var expected = plain.SearchBatch(queries, 7);
            var found = pre.SearchBatch(queries, 7);
            for (int i = 0; i < 3; i++)
                AssertIdentical(expected[i], found[i], $"{what} query {i}");
        }
        Check("first");
        // Rows added after the 8-bit copy was made: the copy is remade, the new rows are found.
        for (int r = 300; r < 500; r++)
        {
            source.ReadRow(r, row);
            plain.Add(row);
            pre.Add(row);
        }
        Check("after adding");
        Assert.Contains(pre.Search(queries.AsSpan(2 * dims, dims), 1), nb => nb.Index == 400);
    }

    [Fact]
    public void A_filter_uses_the_float_scan_and_bad_settings_are_refused()
    {
        using var table = Clustered(600, 12, 4);
        var pre = new ExactIndex(table, SimilarityMetric.Cosine) { PrefilterCandidates = 16 };
        var plain = new ExactIndex(table, SimilarityMetric.Cosine);
        var q = RowsOf(table, 8);
        var filter = SearchFilter.Allow(Enumerable.Range(0, 600).Where(i => i % 3 != 0).ToArray());
        AssertIdentical(plain.Search(q, 5, filter), pre.Search(q, 5, filter), "filtered");
        Assert.Equal(0, pre.PrefilterCounts.Queries);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => pre.PrefilterCandidates = -1);
        Assert.Contains("[exact_index.prefilter]", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => pre.PrefilterCandidates = 70_000);
        pre.PrefilterCandidates = 0;
        pre.Search(q, 5);
        Assert.Equal(0, pre.PrefilterCounts.Queries);
    }
}
