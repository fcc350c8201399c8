using EmbedSharp.Numerics;
using EmbedSharp.Search.Hnsw;

namespace EmbedSharp.Search.Tests;

public sealed class HnswIndexTests
{
    private static readonly SimilarityMetric[] Metrics = [SimilarityMetric.Cosine, SimilarityMetric.Dot, SimilarityMetric.L2];

    [Fact]
    public unsafe void Distance_kernels_match_their_references_at_every_length()
    {
        var rng = new SeededRandom(1);
        for (int n = 0; n <= 100; n++)
        {
            var x = new float[n];
            var y = new float[n];
            for (int i = 0; i < n; i++)
            {
                x[i] = (float)rng.NextNormal();
                y[i] = (float)rng.NextNormal();
            }
            fixed (float* px = x)
            fixed (float* py = y)
            {
                float dot = Distances.DotReference(x, y), l2 = Distances.SquaredL2Reference(x, y);
                Assert.True(Math.Abs(dot - Distances.Dot(px, py, n)) <= 1e-5 * (1 + n), $"dot n={n}");
                Assert.True(Math.Abs(l2 - Distances.SquaredL2(px, py, n)) <= 1e-5 * (1 + l2), $"l2 n={n}");
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    public void Small_indexes_return_exactly_the_exact_answer(int n)
    {
        int dims = 5;
        var x = TestData.Mixture(n, dims, 3, (ulong)n + 1);
        using var table = TestData.Table(x, dims);
        var q = TestData.Mixture(4, dims, 2, 77);
        foreach (var metric in Metrics)
        {
            using var index = new HnswIndex(dims, metric, new HnswOptions { M = 4, EfConstruction = 50 });
            Assert.Equal(0, index.AddBatch(x, threads: 1));
            var exact = new ExactIndex(table, metric);
            foreach (int k in new[] { 0, 1, 3, n + 5 })
            {
                var expected = exact.SearchBatch(q, k);
                var found = index.SearchBatch(q, k, null, 2, ef: 64);
                for (int i = 0; i < 4; i++)
                {
                    Assert.Equal(expected[i].Select(e => e.Index), found[i].Select(f => f.Index));
                    for (int j = 0; j < found[i].Length; j++)
                        Assert.Equal(expected[i][j].Score, found[i][j].Score, 3);
                }
            }
        }
    }

    [Fact]
    public void Recall_is_high_on_clustered_data_for_every_metric_and_threaded_build()
    {
        int dims = 16, n = 2500;
        var x = TestData.Mixture(n, dims, 20, 3);
        using var table = TestData.Table(x, dims);
        var q = TestData.Mixture(100, dims, 20, 4);
        foreach (var metric in Metrics)
        {
            using var index = new HnswIndex(dims, metric, new HnswOptions { M = 12, EfConstruction = 100 });
            int reports = 0;
            index.AddBatch(x, threads: 2, progress: new Progress<int>(_ => Interlocked.Increment(ref reports)));
            var exact = new ExactIndex(table, metric).SearchBatch(q, 10);
            double recall = TestData.Recall(exact, index.SearchBatch(q, 10, null, 2, ef: 80));
            Assert.True(recall >= (metric == SimilarityMetric.Dot ? 0.85 : 0.95), $"{metric}: recall@10 {recall}");
        }
    }

    [Fact]
    public void Duplicates_zero_vectors_and_NaN()
    {
        using var index = new HnswIndex(3, SimilarityMetric.Cosine);
        for (int i = 0; i < 5; i++)
            index.Add([1, 2, 3]);
        index.Add([0, 0, 0]);
        Assert.Equal([0, 1, 2], index.Search([1, 2, 3], 3).Select(h => h.Index));
        Assert.Equal(0f, index.Search([1, 2, 3], 10).Single(h => h.Index == 5).Score, 5);
        var e = Assert.Throws<ArgumentException>(() => index.Add([1, float.NaN, 0]));
        Assert.Contains("[hnsw.add]", e.Message);
        Assert.Throws<ArgumentException>(() => index.Search([float.PositiveInfinity, 0, 0], 1));
        Assert.Throws<ArgumentException>(() => index.AddBatch([1, 2, 3, 4]));
        Assert.Equal(6, index.Count);
    }

    [Fact]
    public void Deletes_never_shrink_results_and_compaction_frees_memory_and_keeps_recall()
    {
        int dims = 16, n = 3000;
        var x = TestData.Mixture(n, dims, 15, 9);
        var q = TestData.Mixture(60, dims, 15, 10);
        using var index = new HnswIndex(dims, SimilarityMetric.L2, new HnswOptions { M = 12, EfConstruction = 100 });
        index.AddBatch(x, threads: 2);
        var rng = new SeededRandom(2);
        var removed = new HashSet<int>();
        while (removed.Count < n * 4 / 10)
        {
            int id = rng.NextInt(n);
            Assert.Equal(removed.Add(id), index.Remove(id));
        }
        using var survivors = new ExactIndex(dims, SimilarityMetric.L2);
        for (int i = 0; i < n; i++)
            survivors.Add(x.AsSpan(i * dims, dims));
        foreach (int id in removed)
            survivors.Remove(id);
        var exact = survivors.SearchBatch(q, 10);
        var before = index.SearchBatch(q, 10, null, 1, ef: 64);
        Assert.All(before, r => Assert.Equal(10, r.Length));
        Assert.All(before, r => Assert.DoesNotContain(r, h => removed.Contains(h.Index)));
        double recallBefore = TestData.Recall(exact, before);
        long memory = index.MemoryBytes;
        index.Compact();
        Assert.Equal(index.Count, index.NodeCount);
        Assert.True(index.MemoryBytes < memory * 0.8, $"memory {memory} -> {index.MemoryBytes}");
        var after = index.SearchBatch(q, 10, null, 1, ef: 64);
        double recallAfter = TestData.Recall(exact, after);
        Assert.True(recallBefore >= 0.9 && recallAfter >= 0.9, $"recall {recallBefore} before, {recallAfter} after compaction");
        Assert.All(after, r => Assert.DoesNotContain(r, h => removed.Contains(h.Index)));
        // Re-adding gives new ids and the vectors are found again.
        int again = index.Add(x.AsSpan(0, dims));
        Assert.Equal(n, again);
        Assert.Equal(again, index.Search(x.AsSpan(0, dims), 1)[0].Index is var top && (top == again || !removed.Contains(0)) ? again : -1);
    }

    [Fact]
    public void Filtered_search_stays_exact_at_one_percent_and_accurate_above()
    {
        int dims = 16, n = 5000;
        var x = TestData.Mixture(n, dims, 25, 11);
        using var table = TestData.Table(x, dims);
        var q = TestData.Mixture(50, dims, 25, 12);
        using var index = new HnswIndex(dims, SimilarityMetric.Cosine, new HnswOptions { M = 12, EfConstruction = 100 });
        index.AddBatch(x, threads: 2);
        var exact = new ExactIndex(table, SimilarityMetric.Cosine);
        var onePercent = SearchFilter.Allow(Enumerable.Range(0, n).Where(i => i % 100 == 7).ToArray());
        var predicate = SearchFilter.Where(i => i % 100 == 7);
        var fifth = SearchFilter.Where(i => i % 5 == 1);
        foreach (var (filter, minRecall) in new[] { (onePercent, 1.0), (predicate, 1.0), (fifth, 0.9) })
        {
            var truth = exact.SearchBatch(q, 10, filter);
            var found = index.SearchBatch(q, 10, filter, 2, ef: 64);
            Assert.All(found, r => Assert.Equal(10, r.Length));
            Assert.All(found, r => Assert.All(r, h => Assert.True(filter.Allows(h.Index))));
            double recall = TestData.Recall(truth, found);
            Assert.True(recall >= minRecall, $"filtered recall {recall}");
        }
    }

    [Fact]
    public void Save_and_open_mapped_round_trip_then_add_after_open()
    {
        int dims = 8;
        var x = TestData.Mixture(500, dims, 5, 13);
        string path = Path.Combine(Path.GetTempPath(), $"hnsw-{Guid.NewGuid():N}.idx");
        try
        {
            using var index = new HnswIndex(dims, SimilarityMetric.L2, new HnswOptions { M = 8, EfConstruction = 60 });
            index.AddBatch(x, threads: 2);
            index.Remove(3);
            index.SaveFile(path);
            var q = TestData.Mixture(20, dims, 5, 14);
            var expected = index.SearchBatch(q, 5);
            using (var opened = HnswIndex.Open(path))
            {
                Assert.True(opened.IsMapped);
                Assert.Equal((500, 499, 8), (opened.NumEmbeddings, opened.Count, opened.Dims));
                Assert.Equal(expected, opened.SearchBatch(q, 5));
                Assert.Equal(500, opened.Add(x.AsSpan(0, dims)));
                Assert.False(opened.IsMapped);
                Assert.False(opened.Contains(3));
            }
            using var loaded = HnswIndex.Load(new MemoryStream(File.ReadAllBytes(path)));
            Assert.Equal(expected, loaded.SearchBatch(q, 5));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Truncated_and_mutated_files_fail_clearly_and_never_crash()
    {
        int dims = 4;
        var x = TestData.Mixture(120, dims, 3, 15);
        using var index = new HnswIndex(dims, SimilarityMetric.L2, new HnswOptions { M = 4, EfConstruction = 20 });
        index.AddBatch(x, threads: 1);
        index.Remove(7);
        var ms = new MemoryStream();
        index.Save(ms);
        byte[] good = ms.ToArray();
        string path = Path.Combine(Path.GetTempPath(), $"hnsw-fuzz-{Guid.NewGuid():N}.idx");
        var rng = new SeededRandom(16);
        try
        {
            foreach (int cut in new[] { 0, 10, 63, 64, 65, good.Length / 2, good.Length - 1 })
            {
                File.WriteAllBytes(path, good[..cut]);
                var e = Assert.Throws<InvalidDataException>(() => HnswIndex.Open(path));
                Assert.StartsWith("[hnsw.open] " + path + " at byte", e.Message);
            }
            int rejected = 0;
            for (int trial = 0; trial < 300; trial++)
            {
                var bad = (byte[])good.Clone();
                int flips = 1 + rng.NextInt(4);
                for (int f = 0; f < flips; f++)
                {
                    // Half the mutations hit the header, the rest anywhere (links, labels, levels, tombstones).
                    int at = trial % 2 == 0 ? rng.NextInt(64) : 64 + dims * 4 * 120 + rng.NextInt(bad.Length - 64 - dims * 4 * 120);
                    bad[at] ^= (byte)(1 + rng.NextInt(255));
                }
                File.WriteAllBytes(path, bad);
                try
                {
                    using var opened = HnswIndex.Open(path);
                    opened.Search(x.AsSpan(0, dims), 5);
                    opened.Search(x.AsSpan(0, dims), 5, SearchFilter.Where(i => i % 2 == 0));
                }
                catch (InvalidDataException)
                {
                    rejected++;
                }
            }
            Assert.True(rejected > 100, $"{rejected} of 300 mutated files rejected");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
