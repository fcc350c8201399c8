using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Search;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Search;

public sealed class ExactIndexTests
{
    private static readonly SimilarityMetric[] Metrics = [SimilarityMetric.Cosine, SimilarityMetric.Dot, SimilarityMetric.L2];

    private static EmbeddingTable RandomTable(int n, int dims, int seed, DType dtype = DType.Float32)
    {
        var rng = new SeededRandom((ulong)seed);
        var values = new float[n * dims];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)rng.NextNormal();
        var table = new EmbeddingTable(n, dims);
        table.CopyFrom(values);
        if (dtype == DType.Float32)
            return table;
        var narrow = table.Clone(dtype);
        table.Dispose();
        return narrow;
    }

    private static float[] RandomQueries(int m, int dims, int seed)
    {
        var rng = new SeededRandom((ulong)seed);
        var q = new float[m * dims];
        for (int i = 0; i < q.Length; i++)
            q[i] = (float)rng.NextNormal();
        return q;
    }

    /// <summary>The reference: the plain scan of <see cref="VectorSearch"/> over the allowed rows.</summary>
    private static Neighbor[] Reference(EmbeddingTable table, ReadOnlySpan<float> q, int k, SimilarityMetric metric, Func<int, bool>? allow = null)
    {
        var scores = new float[table.NumEmbeddings];
        VectorSearch.Scores(table, q, metric, scores);
        var exclude = Enumerable.Range(0, table.NumEmbeddings).Where(i => allow is not null && !allow(i)).ToArray();
        return VectorSearch.TopKReference(scores, k, metric != SimilarityMetric.L2, exclude);
    }

    private static void AssertSame(Neighbor[] expected, Neighbor[] actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} results, expected {expected.Length}");
        Assert.True(expected.Select(e => e.Index).SequenceEqual(actual.Select(a => a.Index)),
            $"{what}: [{string.Join(",", actual.Select(a => a.Index))}] expected [{string.Join(",", expected.Select(e => e.Index))}]");
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i].Score, actual[i].Score, 4);
    }

    [Theory]
    [InlineData(0, 3)]
    [InlineData(1, 1)]
    [InlineData(7, 17)]
    [InlineData(130, 5)]
    [InlineData(2100, 33)]
    public void Single_and_batched_search_equal_the_reference_scan(int n, int dims)
    {
        using var table = RandomTable(n, dims, n * 31 + dims);
        var queries = RandomQueries(5, dims, 99);
        foreach (var metric in Metrics)
        {
            var index = new ExactIndex(table, metric);
            foreach (int k in new[] { 0, 1, 10, n + 3 })
            {
                var batch = index.SearchBatch(queries, k, threads: 2);
                var batch1 = index.SearchBatch(queries, k, threads: 1);
                for (int i = 0; i < 5; i++)
                {
                    var q = queries.AsSpan(i * dims, dims);
                    var expected = Reference(table, q, k, metric);
                    AssertSame(expected, index.Search(q, k), $"{metric} n={n} k={k} single");
                    AssertSame(expected, batch[i], $"{metric} n={n} k={k} batch");
                    Assert.Equal(batch[i], batch1[i]);
                }
            }
        }
    }

    [Theory]
    [InlineData(4, 300, 1)]
    [InlineData(6, 7, 2)]
    [InlineData(37, 33, 2)]
    [InlineData(48, 3, 1)]
    public void A_small_batch_runs_as_one_pass_and_matches_the_reference(int m, int dims, int threads)
    {
        // Up to ExactIndex.MultiScanMaxQueries float32 queries share one pass over the table, four at a time;
        // 600 rows make two full tiles of 256 and a short one.
        Assert.True(m <= ExactIndex.MultiScanMaxQueries);
        using var table = RandomTable(600, dims, m * 7 + dims);
        var queries = RandomQueries(m, dims, 17);
        foreach (var metric in Metrics)
        {
            var index = new ExactIndex(table, metric);
            var batch = index.SearchBatch(queries, 9, threads: threads);
            for (int i = 0; i < m; i++)
                AssertSame(Reference(table, queries.AsSpan(i * dims, dims), 9, metric), batch[i], $"{metric} m={m} query {i}");
        }
    }

    [Fact]
    public void A_large_batch_runs_through_the_tiles_and_matches_the_reference()
    {
        using var table = RandomTable(2500, 24, 5);
        var queries = RandomQueries(200, 24, 6);
        foreach (var metric in Metrics)
        {
            var index = new ExactIndex(table, metric);
            var batch = index.SearchBatch(queries, 7, threads: 2);
            for (int i = 0; i < 200; i += 13)
                AssertSame(Reference(table, queries.AsSpan(i * 24, 24), 7, metric), batch[i], $"{metric} query {i}");
        }
    }

    [Fact]
    public void Duplicates_rank_by_the_lower_id_and_zero_vectors_score_zero()
    {
        using var table = new EmbeddingTable(6, 4);
        float[] a = [1, 2, 3, 4];
        table.WriteRow(1, a);
        table.WriteRow(3, a);
        table.WriteRow(5, a);
        table.WriteRow(2, [0.5f, 0, 0, 0]);
        foreach (var metric in Metrics)
        {
            var index = new ExactIndex(table, metric);
            var hits = index.Search(a, 3);
            Assert.Equal([1, 3, 5], hits.Select(h => h.Index));
            Assert.Equal(hits[0], index.SearchBatch(a, 3)[0][0]);
        }
        var cosine = new ExactIndex(table, SimilarityMetric.Cosine).Search(a, 6);
        Assert.Equal(0f, cosine.Single(h => h.Index == 0).Score);
        Assert.All(new ExactIndex(table).Search(new float[4], 6), h => Assert.Equal(0f, h.Score));
    }

    [Fact]
    public void NaN_and_bad_shapes_are_rejected_before_anything_changes()
    {
        using var index = new ExactIndex(3, SimilarityMetric.L2);
        index.Add([1, 2, 3]);
        var e = Assert.Throws<ArgumentException>(() => index.Search([1, float.NaN, 0], 1));
        Assert.Contains("[exact_index.search] query[1] is NaN", e.Message);
        Assert.Throws<ArgumentException>(() => index.SearchBatch([1, 2, 3, float.PositiveInfinity, 0, 0], 1));
        Assert.Throws<ArgumentException>(() => index.SearchBatch([1, 2, 3, 4], 1));
        Assert.Throws<ArgumentException>(() => index.Add([float.NaN, 0, 0]));
        Assert.Throws<ArgumentException>(() => index.Search([1, 2], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Search([1, 2, 3], -1));
        Assert.Equal(1, index.Count);
        Assert.Empty(index.SearchBatch([], 3));
    }

    [Fact]
    public void Filters_return_k_allowed_rows_on_both_paths()
    {
        using var table = RandomTable(3000, 16, 11);
        var queries = RandomQueries(8, 16, 12);
        var rare = SearchFilter.Allow([5, 17, 2999, 1000, 1000, 40]);   // selective: visits the allowed ids only
        var even = SearchFilter.Where(i => i % 2 == 0);                  // predicate: filtered full scan
        var below = SearchFilter.Below(900).Except([3, 4]);
        foreach (var metric in Metrics)
        {
            var index = new ExactIndex(table, metric);
            foreach (var (filter, allow) in new (SearchFilter, Func<int, bool>)[] { (rare, rare.Allows), (even, i => i % 2 == 0), (below, i => i < 900 && i != 3 && i != 4) })
            {
                var batch = index.SearchBatch(queries, 10, filter);
                for (int i = 0; i < 8; i++)
                {
                    var q = queries.AsSpan(i * 16, 16);
                    var expected = Reference(table, q, 10, metric, allow);
                    AssertSame(expected, index.Search(q, 10, filter), $"{metric} single");
                    AssertSame(expected, batch[i], $"{metric} batch");
                }
            }
        }
        Assert.Equal(5, rare.AllowedCount);
    }

    [Theory]
    [InlineData(DType.Float16)]
    [InlineData(DType.BFloat16)]
    public void Sixteen_bit_rows_are_widened_and_match_the_reference(DType dtype)
    {
        using var table = RandomTable(1100, 40, 3, dtype);
        var queries = RandomQueries(6, 40, 4);
        foreach (var metric in Metrics)
        {
            var index = new ExactIndex(table, metric);
            var batch = index.SearchBatch(queries, 5);
            for (int i = 0; i < 6; i++)
            {
                var expected = Reference(table, queries.AsSpan(i * 40, 40), 5, metric);
                AssertSame(expected, index.Search(queries.AsSpan(i * 40, 40), 5), $"{dtype} {metric}");
                AssertSame(expected, batch[i], $"{dtype} {metric} batch");
            }
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void Mlx_packed_rows_rank_like_their_dequantized_rows_and_rerank_recovers_fp32(int bits)
    {
        using var table = RandomTable(1500, 64, 21);
        var packed = QuantizedTable.Quantize(table, groupSize: 32, bits: bits);
        using var dequantized = packed.Dequantize();
        var queries = RandomQueries(10, 64, 22);
        foreach (var metric in Metrics)
        {
            var scan = ExactIndex.Quantized(packed, metric);
            var reranked = ExactIndex.Quantized(packed, metric, table, rerankFactor: 8);
            var batch = reranked.SearchBatch(queries, 10);
            int overlap = 0, reference = 0;
            for (int i = 0; i < 10; i++)
            {
                var q = queries.AsSpan(i * 64, 64);
                var onCodes = Reference(dequantized, q, 10, metric);
                var hits = scan.Search(q, 10);
                // Scores are those of the dequantized rows; the order may differ only where rounding swaps near-ties.
                overlap += hits.Select(h => h.Index).Intersect(onCodes.Select(h => h.Index)).Count();
                var exact = Reference(table, q, 10, metric);
                var rr = reranked.Search(q, 10);
                reference += rr.Select(h => h.Index).Intersect(exact.Select(h => h.Index)).Count();
                Assert.Equal(rr, batch[i]);
                foreach (var h in rr)
                    Assert.Equal(exact.FirstOrDefault(e => e.Index == h.Index, h).Score, h.Score, 4);
            }
            Assert.True(overlap >= 98, $"{metric} {bits}-bit scan overlaps the dequantized reference in {overlap}/100");
            Assert.True(reference >= (bits == 8 ? 100 : 97), $"{metric} {bits}-bit re-ranked recall {reference}/100");
        }
    }

    [Fact]
    public void A_float_index_quantizes_to_a_reranked_packed_view_keeping_removals()
    {
        using var index = new ExactIndex(64, SimilarityMetric.Dot);
        using var table = RandomTable(800, 64, 51);
        var row = new float[64];
        for (int i = 0; i < 800; i++)
        {
            table.ReadRow(i, row);
            index.Add(row);
        }
        index.Remove(5);
        using var q4 = index.ToQuantized(4, 64, 4);
        Assert.True(q4.IsReadOnly);
        Assert.Equal(799, q4.Count);
        var queries = RandomQueries(10, 64, 52);
        var exact = index.SearchBatch(queries, 10);
        var packed = q4.SearchBatch(queries, 10);
        int hits = 0;
        for (int i = 0; i < 10; i++)
        {
            hits += packed[i].Select(h => h.Index).Intersect(exact[i].Select(h => h.Index)).Count();
            Assert.DoesNotContain(packed[i], h => h.Index == 5);
        }
        Assert.True(hits >= 95, $"4-bit re-ranked recall {hits}/100");
        Assert.Throws<NotSupportedException>(() => q4.ToQuantized());
    }

    [Fact]
    public void Int8_rows_are_scanned_on_their_codes()
    {
        using var table = RandomTable(900, 48, 31);
        var int8 = RowwiseQuantizedTable.Quantize(table, 8);
        using var dequantized = int8.Dequantize();
        var queries = RandomQueries(10, 48, 32);
        foreach (var metric in Metrics)
        {
            var index = ExactIndex.Quantized(int8, metric);
            var reranked = ExactIndex.Quantized(int8, metric, table, 4);
            int overlap = 0, recall = 0;
            for (int i = 0; i < 10; i++)
            {
                var q = queries.AsSpan(i * 48, 48);
                overlap += index.Search(q, 10).Select(h => h.Index).Intersect(Reference(dequantized, q, 10, metric).Select(h => h.Index)).Count();
                recall += reranked.Search(q, 10).Select(h => h.Index).Intersect(Reference(table, q, 10, metric).Select(h => h.Index)).Count();
            }
            Assert.True(overlap >= 98, $"{metric} int8 overlap {overlap}");
            Assert.True(recall >= 99, $"{metric} int8 re-ranked recall {recall}");
            Assert.Throws<NotSupportedException>(() => index.Add(new float[48]));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactIndex.Quantized(RowwiseQuantizedTable.Quantize(table, 4)));
    }

    [Fact]
    public unsafe void Byte_and_unrolled_dots_match_their_references_at_every_length()
    {
        var rng = new SeededRandom(8);
        for (int n = 0; n <= 100; n++)
        {
            var codes = new byte[n];
            var x = new float[n];
            for (int i = 0; i < n; i++)
            {
                codes[i] = (byte)rng.NextInt(256);
                x[i] = (float)rng.NextNormal();
            }
            var y = new float[n];
            for (int i = 0; i < n; i++)
                y[i] = (float)rng.NextNormal();
            fixed (byte* c = codes)
            fixed (float* xp = x)
            fixed (float* yp = y)
            {
                Assert.Equal(SearchKernels.DotBytesReference(codes, x), SearchKernels.DotBytes(c, xp, n), 2);
                Assert.True(Math.Abs(SearchKernels.DotReference(x, y) - SearchKernels.DotUnrolled(xp, yp, n)) <= 1e-5 * (1 + n), $"unrolled dot n={n}");
            }
        }
    }

    [Fact]
    public void Add_remove_save_and_open_round_trip()
    {
        using var table = RandomTable(70, 9, 41);
        using var index = new ExactIndex(9, SimilarityMetric.L2, DType.Float16);
        var row = new float[9];
        for (int i = 0; i < 70; i++)
        {
            table.ReadRow(i, row);
            Assert.Equal(i, index.Add(row));
        }
        Assert.True(index.Remove(3));
        Assert.False(index.Remove(3));
        Assert.False(index.Remove(99));
        table.ReadRow(3, row);
        Assert.DoesNotContain(index.Search(row, 70), h => h.Index == 3);
        Assert.Equal(69, index.Search(row, 100).Length);
        var bytes = new MemoryStream();
        index.Save(bytes);
        using var opened = ExactIndex.Open(new MemoryStream(bytes.ToArray()));
        Assert.Equal((70, 69, 9, SimilarityMetric.L2), (opened.NumEmbeddings, opened.Count, opened.Dims, opened.Metric));
        var q = RandomQueries(3, 9, 1);
        Assert.Equal(index.SearchBatch(q, 5), opened.SearchBatch(q, 5));
        Assert.Equal(70, opened.Add(row));
    }

    [Fact]
    public void Truncated_and_mutated_files_give_clear_errors()
    {
        using var index = new ExactIndex(4, SimilarityMetric.Dot);
        for (int i = 0; i < 10; i++)
            index.Add([i, 1, 2, 3]);
        var ms = new MemoryStream();
        index.Save(ms);
        byte[] good = ms.ToArray();
        for (int cut = 0; cut < good.Length; cut += 7)
        {
            var e = Assert.Throws<InvalidDataException>(() => ExactIndex.Open(new MemoryStream(good[..cut])));
            Assert.StartsWith("[exact_index.open] at byte", e.Message);
        }
        var rng = new SeededRandom(3);
        for (int trial = 0; trial < 500; trial++)
        {
            var bad = (byte[])good.Clone();
            for (int f = 0; f < 3; f++)
                bad[rng.NextInt(Math.Min(bad.Length, 40))] ^= (byte)(1 + rng.NextInt(255));
            try
            {
                using var opened = ExactIndex.Open(new MemoryStream(bad));
                opened.Search([1, 0, 0, 0], 3);
            }
            catch (InvalidDataException)
            {
            }
        }
    }
}
