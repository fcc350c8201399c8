using EmbedSharp.Numerics;
using EmbedSharp.Search.Ivf;

namespace EmbedSharp.Search.Tests;

public sealed class IvfIndexTests
{
    private static readonly SimilarityMetric[] Metrics = [SimilarityMetric.Cosine, SimilarityMetric.Dot, SimilarityMetric.L2];

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(300, 16)]
    public void Flat_lists_probed_exhaustively_equal_exact_search(int n, int nlist)
    {
        int dims = 6;
        var x = TestData.Mixture(n, dims, 4, (ulong)n);
        using var table = TestData.Table(x, dims);
        var q = TestData.Mixture(5, dims, 4, 99);
        foreach (var metric in Metrics)
        {
            var index = IvfIndex.Train(x, dims, metric, new IvfOptions { NList = nlist, NProbe = nlist });
            index.AddBatch(x, threads: 2);
            var exact = new ExactIndex(table, metric);
            foreach (int k in new[] { 0, 1, 5, n + 2 })
            {
                var expected = exact.SearchBatch(q, k);
                var found = index.SearchBatch(q, k);
                for (int i = 0; i < 5; i++)
                {
                    Assert.Equal(expected[i].Select(e => e.Index), found[i].Select(f => f.Index));
                    for (int j = 0; j < found[i].Length; j++)
                        Assert.Equal(expected[i][j].Score, found[i][j].Score, 3);
                }
            }
        }
    }

    [Fact]
    public void Pq_with_rerank_reaches_high_recall_and_probing_more_lists_helps()
    {
        int dims = 16, n = 3000;
        var x = TestData.Mixture(n, dims, 30, 5);
        using var table = TestData.Table(x, dims);
        var q = TestData.Mixture(60, dims, 30, 6);
        foreach (var metric in Metrics)
        {
            var truth = new ExactIndex(table, metric).SearchBatch(q, 10);
            var pq = IvfIndex.Train(x, dims, metric, new IvfOptions { NList = 32, PqM = 4, TrainIterations = 4, MaxPointsPerCentroid = 8 });
            pq.AddBatch(x, threads: 2);
            var reranked = IvfIndex.Train(x, dims, metric, new IvfOptions { NList = 32, PqM = 4, RerankFactor = 8, TrainIterations = 4, MaxPointsPerCentroid = 8 });
            reranked.AddBatch(x, threads: 2);
            double few = TestData.Recall(truth, pq.SearchBatch(q, 10, null, 2, nprobe: 1));
            double many = TestData.Recall(truth, pq.SearchBatch(q, 10, null, 2, nprobe: 8));
            double rr = TestData.Recall(truth, reranked.SearchBatch(q, 10, null, 2, nprobe: 8));
            Assert.True(many > few, $"{metric}: nprobe 8 recall {many} not above nprobe 1's {few}");
            Assert.True(many >= 0.4, $"{metric}: PQ recall {many}");
            Assert.True(rr >= 0.9, $"{metric}: re-ranked recall {rr}");
            Assert.Equal(4 + 4 + dims * 4, reranked.BytesPerVector);
        }
    }

    [Fact]
    public void Filters_removal_compaction_and_round_trip()
    {
        int dims = 8, n = 2000;
        var x = TestData.Mixture(n, dims, 10, 7);
        using var table = TestData.Table(x, dims);
        var q = TestData.Mixture(20, dims, 10, 8);
        var index = IvfIndex.Train(x, dims, SimilarityMetric.L2, new IvfOptions { NList = 20, NProbe = 4 });
        index.AddBatch(x);
        var rare = SearchFilter.Allow(Enumerable.Range(0, n).Where(i => i % 100 == 3).ToArray());
        var truth = new ExactIndex(table, SimilarityMetric.L2).SearchBatch(q, 10, rare);
        var found = index.SearchBatch(q, 10, rare);
        Assert.Equal(1.0, TestData.Recall(truth, found));
        for (int id = 0; id < n; id += 3)
            Assert.True(index.Remove(id));
        Assert.False(index.Remove(0));
        var before = index.SearchBatch(q, 10);
        Assert.All(before, r => Assert.All(r, h => Assert.NotEqual(0, h.Index % 3)));
        index.Compact();
        Assert.Equal(before, index.SearchBatch(q, 10));
        var ms = new MemoryStream();
        index.Save(ms);
        var loaded = IvfIndex.Load(new MemoryStream(ms.ToArray()));
        Assert.Equal((index.NumEmbeddings, index.Count, index.NList), (loaded.NumEmbeddings, loaded.Count, loaded.NList));
        Assert.Equal(before, loaded.SearchBatch(q, 10));
        Assert.Equal(n, loaded.Add(x.AsSpan(0, dims)));
    }

    [Fact]
    public void Bad_input_and_hostile_files_fail_clearly()
    {
        int dims = 4;
        var x = TestData.Mixture(300, dims, 3, 9);
        Assert.Throws<ArgumentException>(() => IvfIndex.Train(x.AsSpan(0, 8), dims, SimilarityMetric.L2, new IvfOptions { NList = 4 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => IvfIndex.Train(x, dims, SimilarityMetric.L2, new IvfOptions { NList = 4, PqM = 3 }));
        var index = IvfIndex.Train(x, dims, SimilarityMetric.L2, new IvfOptions { NList = 4, PqM = 2, RerankFactor = 2, TrainIterations = 3 });
        index.AddBatch(x);
        Assert.Throws<ArgumentException>(() => index.Add([1, float.NaN, 0, 0]));
        Assert.Throws<ArgumentException>(() => index.Search([1, 2, 3], 1));
        index.Remove(5);
        var ms = new MemoryStream();
        index.Save(ms);
        byte[] good = ms.ToArray();
        for (int cut = 0; cut < good.Length; cut += 101)
        {
            var e = Assert.Throws<InvalidDataException>(() => IvfIndex.Load(new MemoryStream(good[..cut])));
            Assert.StartsWith("[", e.Message);
        }
        var rng = new SeededRandom(4);
        for (int trial = 0; trial < 300; trial++)
        {
            var bad = (byte[])good.Clone();
            int at = trial % 2 == 0 ? rng.NextInt(64) : rng.NextInt(bad.Length);
            bad[at] ^= (byte)(1 + rng.NextInt(255));
            try
            {
                var opened = IvfIndex.Load(new MemoryStream(bad));
                opened.Search(x.AsSpan(0, dims), 3);
            }
            catch (InvalidDataException)
            {
            }
        }
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(4, 0)]
    [InlineData(4, 3)]
    public void Mapped_open_answers_as_a_loaded_copy_and_copies_on_first_change(int pqM, int rerank)
    {
        int dims = 8, n = 600;
        var x = TestData.Mixture(n, dims, 6, 21);
        var q = TestData.Mixture(15, dims, 6, 22);
        var index = IvfIndex.Train(x, dims, SimilarityMetric.Dot, new IvfOptions { NList = 8, NProbe = 3, PqM = pqM, RerankFactor = rerank, TrainIterations = 3 });
        index.AddBatch(x, threads: 1);
        index.Remove(7);
        string path = Path.Combine(Path.GetTempPath(), $"ivf-mapped-{Guid.NewGuid():N}.ivf");
        try
        {
            index.SaveFile(path);
            var expected = index.SearchBatch(q, 5);
            using (var mapped = IvfIndex.Open(path))
            {
                Assert.True(mapped.IsMapped);
                Assert.Equal(expected, mapped.SearchBatch(q, 5));
                var v = new float[dims];
                var w = new float[dims];
                Assert.True(mapped.TryGetVector(11, v));
                Assert.True(index.TryGetVector(11, w));
                Assert.Equal(w, v);
                Assert.False(mapped.Contains(7));
                // The first change copies the lists out of the mapping; the file is untouched.
                Assert.Equal(n, mapped.Add(x.AsSpan(0, dims)));
                Assert.False(mapped.IsMapped);
                Assert.Equal(n, mapped.Count);
                Assert.True(mapped.TryGetVector(11, v));
                Assert.Equal(w, v);
            }
            using (var copy = IvfIndex.Open(path, mapped: false))
            {
                Assert.False(copy.IsMapped);
                Assert.Equal(expected, copy.SearchBatch(q, 5));
            }
            var disposed = IvfIndex.Open(path);
            disposed.Dispose();
            Assert.Equal(0, disposed.Count);
            Assert.Empty(disposed.Search(q.AsSpan(0, dims), 3));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Mapped_open_of_truncated_or_corrupted_files_fails_clearly()
    {
        int dims = 4;
        var x = TestData.Mixture(300, dims, 3, 9);
        var index = IvfIndex.Train(x, dims, SimilarityMetric.L2, new IvfOptions { NList = 4, PqM = 2, RerankFactor = 2, TrainIterations = 3 });
        index.AddBatch(x);
        var ms = new MemoryStream();
        index.Save(ms);
        byte[] good = ms.ToArray();
        string path = Path.Combine(Path.GetTempPath(), $"ivf-hostile-{Guid.NewGuid():N}.ivf");
        try
        {
            for (int cut = 0; cut < good.Length; cut += 97)
            {
                File.WriteAllBytes(path, good[..cut]);
                var e = Assert.Throws<InvalidDataException>(() => IvfIndex.Open(path));
                Assert.StartsWith("[ivf.open]", e.Message);
                Assert.Contains(path, e.Message);
            }
            var rng = new SeededRandom(5);
            for (int trial = 0; trial < 150; trial++)
            {
                var bad = (byte[])good.Clone();
                int at = trial % 2 == 0 ? rng.NextInt(64) : rng.NextInt(bad.Length);
                bad[at] ^= (byte)(1 + rng.NextInt(255));
                File.WriteAllBytes(path, bad);
                try
                {
                    using var opened = IvfIndex.Open(path);
                    opened.Search(x.AsSpan(0, dims), 3);
                }
                catch (InvalidDataException)
                {
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
