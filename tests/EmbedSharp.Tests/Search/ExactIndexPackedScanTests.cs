using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Search;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Search;

/// <summary>
/// The 4-bit integer-domain scan (<see cref="PackedScan4"/>) against the plain reference (the dequantized row's dot
/// in double), and the exact index over 4-bit rows against the scan of its dequantized rows. The class name carries
/// "ExactIndex" so CI reruns it with intrinsics off and without AVX2 (the float kernels take over there).
/// </summary>
public sealed class ExactIndexPackedScanTests
{
    private static readonly SimilarityMetric[] Metrics = [SimilarityMetric.Cosine, SimilarityMetric.Dot, SimilarityMetric.L2];

    private static EmbeddingTable Table(int n, int dims, int seed, bool awkward = false)
    {
        var rng = new SeededRandom((ulong)seed);
        var values = new float[n * dims];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)rng.NextNormal() + (i % dims < 3 ? 2f : 0f);
        if (awkward && n > 4)
        {
            Array.Clear(values, 0, dims);                                  // a zero row
            values.AsSpan(dims, dims).CopyTo(values.AsSpan(2 * dims));      // a duplicate
            values.AsSpan(3 * dims, dims).Fill(7.5f);                        // a constant row (scale 0)
        }
        var table = new EmbeddingTable(n, dims);
        table.CopyFrom(values);
        return table;
    }

    private static float[] Query(int dims, int seed, float spike = 0f)
    {
        var rng = new SeededRandom((ulong)seed);
        var q = new float[dims];
        for (int i = 0; i < dims; i++)
            q[i] = (float)rng.NextNormal();
        if (dims > 5)
            q[5] += spike;
        return q;
    }

    private static float ScaleAt(QuantizedTable t, int row, int g) => BitConverter.ToSingle(t.Scales.Slice((row * t.GroupsPerRow + g) * 4, 4));

    [Theory]
    [InlineData(1, 64, 64)]
    [InlineData(7, 64, 64)]
    [InlineData(8, 128, 64)]
    [InlineData(9, 192, 64)]
    [InlineData(17, 128, 128)]
    [InlineData(300, 256, 128)]
    [InlineData(41, 320, 64)]
    [InlineData(16, 1024, 128)]
    [InlineData(11, 384, 128)]
    [InlineData(24, 256, 64)]
    public void Integer_scores_equal_the_dequantized_dot_within_the_query_rounding(int n, int dims, int groupSize)
    {
        using var table = Table(n, dims, n * 7 + dims, awkward: true);
        var packed = QuantizedTable.Quantize(table, groupSize: groupSize, bits: 4);
        if (!PackedScan4.Supports(packed))
            return; // no AVX2 here: the index uses the float kernels, covered by ExactIndexTests
        // Precise queries round to 16 bits (α = max|q| / 32512), fast ones to one byte (α = max|q| / 127); the error
        // is at most α / 2 per element times the codes (≤ 15) times the group's scale.
        foreach (var (precise, range) in new[] { (true, 32512.0), (false, 127.0) })
        {
            foreach (var (seed, spike) in new[] { (1, 0f), (2, 40f), (3, -0.001f) })
            {
                var q = Query(dims, seed, spike);
                var query = new PackedScan4.Query(q, groupSize, precise);
                var scores = new float[n + 1];
                scores[n] = 12345f;
                PackedScan4.Score(packed, query, 0, n, scores.AsSpan(0, n));
                Assert.Equal(12345f, scores[n]); // nothing written past count
                float qMax = q.Max(Math.Abs);
                var row = new float[dims];
                for (int r = 0; r < n; r++)
                {
                    double expected = PackedScan4.DotReference(packed, r, q);
                    packed.DequantizeRow(r, row);
                    double magnitude = 0, rounding = 0;
                    for (int i = 0; i < dims; i++)
                        magnitude += Math.Abs((double)row[i] * q[i]);
                    for (int g = 0; g < packed.GroupsPerRow; g++)
                        rounding += Math.Abs(ScaleAt(packed, r, g)) * 15 * groupSize * qMax / (2 * range);
                    double tolerance = rounding + 2e-6 * magnitude + 1e-6;
                    Assert.True(Math.Abs(scores[r] - expected) <= tolerance,
                        $"precise={precise} n={n} dims={dims} gs={groupSize} row {r}: {scores[r]} vs {expected} (tolerance {tolerance})");
                }
            }
        }
    }

    [Fact]
    public void The_fast_query_is_coarser_than_the_precise_one_so_the_bound_above_can_fail()
    {
        // A query whose elements sit between byte steps: the one-byte rounding must show, the 16-bit one must not.
        using var table = Table(16, 128, 77);
        var packed = QuantizedTable.Quantize(table, groupSize: 64, bits: 4);
        if (!PackedScan4.Supports(packed))
            return;
        var q = Query(128, 5);
        var precise = new float[16];
        var fast = new float[16];
        PackedScan4.Score(packed, new PackedScan4.Query(q, 64, precise: true), 0, 16, precise);
        PackedScan4.Score(packed, new PackedScan4.Query(q, 64, precise: false), 0, 16, fast);
        double preciseError = 0, fastError = 0;
        for (int r = 0; r < 16; r++)
        {
            double expected = PackedScan4.DotReference(packed, r, q);
            preciseError = Math.Max(preciseError, Math.Abs(precise[r] - expected));
            fastError = Math.Max(fastError, Math.Abs(fast[r] - expected));
        }
        Assert.True(fastError > 20 * preciseError, $"fast {fastError}, precise {preciseError}");
    }

    [Fact]
    public void A_zero_query_scores_zero_and_one_row_ranges_inside_the_table_read_their_own_rows()
    {
        using var table = Table(40, 128, 5);
        var packed = QuantizedTable.Quantize(table, groupSize: 64, bits: 4);
        if (!PackedScan4.Supports(packed))
            return;
        var zero = new PackedScan4.Query(new float[128], 64);
        var scores = new float[40];
        PackedScan4.Score(packed, zero, 0, 40, scores);
        Assert.All(scores, s => Assert.Equal(0f, s));
        var q = Query(128, 9);
        var query = new PackedScan4.Query(q, 64);
        var all = new float[40];
        PackedScan4.Score(packed, query, 0, 40, all);
        var one = new float[1];
        for (int r = 0; r < 40; r += 13)
        {
            PackedScan4.Score(packed, query, r, 1, one);
            Assert.Equal(all[r], one[0], 3);
            Assert.Equal(PackedScan4.DotReference(packed, r, q), one[0], 2);
        }
    }

    [Theory]
    [InlineData(1, 128)]
    [InlineData(33, 64)]
    [InlineData(700, 128)]
    [InlineData(9001, 192)]
    public void The_4bit_index_returns_the_reference_top_k_of_its_dequantized_rows(int n, int dims)
    {
        using var table = Table(n, dims, n + dims, awkward: true);
        var packed = QuantizedTable.Quantize(table, groupSize: 64, bits: 4);
        using var dequantized = packed.Dequantize();
        foreach (var metric in Metrics)
        {
            var index = ExactIndex.Quantized(packed, metric);
            SearchFilter? notFour = n > 10 ? SearchFilter.Where(id => id != 4) : null;
            foreach (int k in new[] { 1, 10, n + 3 })
            {
                var batch = index.SearchBatch(Enumerable.Range(0, 3).SelectMany(s => Query(dims, 40 + s)).ToArray(), k, notFour, threads: 2);
                for (int s = 0; s < 3; s++)
                {
                    var q = Query(dims, 40 + s);
                    var scores = new float[n];
                    VectorSearch.Scores(dequantized, q, metric, scores);
                    int[] exclude = n > 10 ? [4] : [];
                    var expected = VectorSearch.TopKReference(scores, k, metric != SimilarityMetric.L2, exclude);
                    foreach (var hits in new[] { index.Search(q, k, notFour), index.Search(q, k, notFour, 1), batch[s] })
                    {
                        Assert.Equal(expected.Length, hits.Length);
                        // Reported scores are recomputed on the dequantized row; ids may differ only where scores tie.
                        for (int i = 0; i < hits.Length; i++)
                            Assert.True(Math.Abs(expected[i].Score - hits[i].Score) <= 1e-4f * (1 + Math.Abs(expected[i].Score)),
                                $"{metric} n={n} k={k} rank {i}: {hits[i].Index}:{hits[i].Score} expected {expected[i].Index}:{expected[i].Score}");
                        Assert.DoesNotContain(hits, h => n > 10 && h.Index == 4);
                    }
                }
            }
        }
    }

    [Fact]
    public void A_fused_row_table_takes_the_float_kernels_and_finds_the_same_neighbours()
    {
        using var table = Table(700, 128, 12);
        var packed = QuantizedTable.Quantize(table, groupSize: 64, bits: 4);
        var fused = packed.ToLayout(QuantizedRowLayout.FusedRows);
        Assert.False(PackedScan4.Supports(fused));
        Assert.Equal(PackedScan4.Supports(packed), Avx2.IsSupported && Vector256.IsHardwareAccelerated);
        foreach (var metric in Metrics)
        {
            var q = Query(128, 9);
            var expected = ExactIndex.Quantized(packed, metric).Search(q, 10);
            var hits = ExactIndex.Quantized(fused, metric).Search(q, 10);
            Assert.Equal(expected.Length, hits.Length);
            for (int i = 0; i < hits.Length; i++)
                Assert.True(Math.Abs(expected[i].Score - hits[i].Score) <= 1e-4f * (1 + Math.Abs(expected[i].Score)),
                    $"{metric} rank {i}: {hits[i].Index}:{hits[i].Score} expected {expected[i].Index}:{expected[i].Score}");
        }
    }

    [Fact]
    public void Filters_and_rerank_on_4bit_rows_keep_only_allowed_ids_and_recover_fp32_neighbours()
    {
        const int n = 5000, dims = 128;
        using var table = Table(n, dims, 77);
        var packed = QuantizedTable.Quantize(table, groupSize: 64, bits: 4);
        var index = ExactIndex.Quantized(packed, SimilarityMetric.Dot, table, rerankFactor: 4);
        var exact = new ExactIndex(table, SimilarityMetric.Dot);
        var even = SearchFilter.Where(id => id % 2 == 0);
        int hits = 0;
        for (int s = 0; s < 20; s++)
        {
            var q = Query(dims, 500 + s);
            var got = index.Search(q, 10);
            hits += got.Select(h => h.Index).Intersect(exact.Search(q, 10).Select(h => h.Index)).Count();
            var filtered = index.Search(q, 10, even);
            Assert.Equal(10, filtered.Length);
            Assert.All(filtered, h => Assert.Equal(0, h.Index % 2));
            int agree = exact.Search(q, 10, even).Select(h => h.Index).Intersect(filtered.Select(h => h.Index)).Count();
            Assert.True(agree >= 8, $"filtered 4-bit search agrees with the fp32 filtered search on {agree}/10");
        }
        Assert.True(hits >= 190, $"4-bit scan + fp32 re-rank recall {hits}/200");
    }

    [Theory]
    [InlineData(0, 8)]
    [InlineData(1, 8)]
    [InlineData(7, 24)]
    [InlineData(8, 16)]
    [InlineData(9, 136)]
    [InlineData(41, 128)]
    [InlineData(300, 40)]
    public unsafe void The_float_tile_kernel_equals_the_reference_dot_row_by_row(int n, int dims)
    {
        if (!SearchKernels.SupportsDotRows(dims))
            return; // no AVX/FMA here: the scan uses the per-row kernel, covered by ExactIndexTests
        using var table = Table(n, dims, 3 * n + dims);
        var rows = new float[n * dims + 8];
        table.CopyTo(rows.AsSpan(0, n * dims));
        var q = Query(dims, 11, spike: 3f);
        var dst = new float[n + 1];
        dst[n] = -1f;
        fixed (float* rp = rows)
        fixed (float* qp = q)
        fixed (float* dp = dst)
            SearchKernels.DotRows(rp, dims, qp, n, dp);
        Assert.Equal(-1f, dst[n]);
        for (int r = 0; r < n; r++)
        {
            float expected = SearchKernels.DotReference(rows.AsSpan(r * dims, dims), q);
            Assert.True(Math.Abs(dst[r] - expected) <= 1e-5f * (1 + dims), $"n={n} dims={dims} row {r}: {dst[r]} vs {expected}");
        }
    }

    [Fact]
    public void A_tiny_query_ranks_like_its_scaled_up_copy()
    {
        const int n = 400, dims = 128;
        using var table = Table(n, dims, 91);
        var packed = QuantizedTable.Quantize(table, groupSize: 64, bits: 4);
        var index = ExactIndex.Quantized(packed, SimilarityMetric.Dot);
        var q = Query(dims, 92);
        var tiny = q.Select(v => v * 1e-36f).ToArray();
        Assert.False(PackedScan4.Suits(tiny));
        Assert.True(PackedScan4.Suits(q) && PackedScan4.Suits(new float[dims]));
        Assert.Equal(index.Search(q, 10).Select(h => h.Index), index.Search(tiny, 10).Select(h => h.Index));
    }
}
