using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EmbedSharp.Numerics;
using EmbedSharp.Search.Hnsw;

namespace EmbedSharp.Search.Tests;

/// <summary>The graph walk's kernels (Vector512 float dot, int8 code dot on every path) against their references.</summary>
public sealed class HnswWalkKernelsTests
{
    [Fact]
    public unsafe void Wide_float_dot_matches_the_reference_at_multiples_of_16()
    {
        var rng = new SeededRandom(5);
        foreach (int n in new[] { 16, 32, 48, 64, 80, 112, 128, 144, 256, 304 })
        {
            var x = new float[n];
            var y = new float[n];
            for (int i = 0; i < n; i++)
            {
                x[i] = (float)rng.NextNormal();
                y[i] = (float)rng.NextNormal();
            }
            float expected = Distances.DotReference(x, y);
            fixed (float* px = x)
            fixed (float* py = y)
            {
                // The dispatching entry point runs on every machine (Vector512 or the Vector256/128 fallbacks) …
                Assert.True(Math.Abs(expected - Distances.Dot(px, py, n)) <= 1e-4 * (1 + n), $"dot n={n}");
                // … and the Vector512 kernel itself where the hardware has it.
                if (Vector512.IsHardwareAccelerated)
                    Assert.True(Math.Abs(expected - Distances.DotWide(px, py, n)) <= 1e-4 * (1 + n), $"wide n={n}");
            }
        }
    }

    [Fact]
    public unsafe void Int8_code_dot_is_exact_on_every_path_and_length()
    {
        var rng = new SeededRandom(6);
        for (int n = 0; n <= 200; n += n < 40 ? 1 : 29)
        {
            var c = new byte[n];
            var w = new sbyte[n];
            for (int i = 0; i < n; i++)
            {
                // The extremes saturate vpmaddubsw; the paths here must not.
                c[i] = i % 5 == 0 ? (byte)255 : (byte)rng.NextInt(256);
                w[i] = i % 7 == 0 ? (sbyte)-127 : i % 7 == 1 ? (sbyte)127 : (sbyte)(rng.NextInt(255) - 127);
            }
            int expected = Int8Dot.Reference(c, w);
            fixed (byte* pc = c)
            fixed (sbyte* pw = w)
            {
                Assert.Equal(expected, Int8Dot.Dot(pc, pw, n));
                Assert.Equal(expected, Int8Dot.DotScalar(pc, pw, n, 0));
                if (Avx2.IsSupported)
                    Assert.Equal(expected, Int8Dot.DotAvx2(pc, pw, n));
                if (AvxVnni.IsSupported)
                    Assert.Equal(expected, Int8Dot.DotVnni(pc, pw, n));
            }
        }
    }
}

public sealed class HnswInt8Tests
{
    private static readonly SimilarityMetric[] Metrics = [SimilarityMetric.Cosine, SimilarityMetric.Dot, SimilarityMetric.L2];

    [Fact]
    public void Int8_walk_keeps_recall_and_returns_exact_float_scores()
    {
        int dims = 32, n = 3000;
        var x = TestData.Mixture(n, dims, 20, 21);
        using var table = TestData.Table(x, dims);
        var q = TestData.Mixture(80, dims, 20, 22);
        foreach (var metric in Metrics)
        {
            using var index = new HnswIndex(dims, metric, new HnswOptions { M = 12, EfConstruction = 100 });
            index.AddBatch(x, threads: 2);
            var exact = new ExactIndex(table, metric).SearchBatch(q, 10);
            var plain = index.SearchBatch(q, 10, null, 1, ef: 80);
            long memory = index.MemoryBytes;
            index.EnableInt8Traversal();
            Assert.True(index.Int8Traversal);
            Assert.Equal(n * (long)dims + (metric == SimilarityMetric.L2 ? n * 4L : 0), index.CodeBytes);
            Assert.True(index.MemoryBytes > memory);
            var coded = index.SearchBatch(q, 10, null, 1, ef: 80);
            double recallPlain = TestData.Recall(exact, plain), recallCoded = TestData.Recall(exact, coded);
            Assert.True(recallCoded >= (metric == SimilarityMetric.Dot ? 0.8 : 0.9) && recallCoded >= recallPlain - 0.03, $"{metric}: int8 walk recall {recallCoded}, float walk {recallPlain}");
            // Scores are re-computed on float32: every returned score is the exact one of its id.
            var byId = new ExactIndex(table, metric);
            for (int i = 0; i < q.Length / dims; i++)
            {
                var all = byId.Search(q.AsSpan(i * dims, dims), n).ToDictionary(h => h.Index, h => h.Score);
                for (int j = 0; j < coded[i].Length; j++)
                {
                    Assert.Equal(all[coded[i][j].Index], coded[i][j].Score, 3);
                    if (j > 0)
                        Assert.True(coded[i][j - 1].Score >= coded[i][j].Score || metric == SimilarityMetric.L2 && coded[i][j - 1].Score <= coded[i][j].Score);
                }
            }
            index.DisableInt8Traversal();
            Assert.Equal(0, index.CodeBytes);
            Assert.Equal(plain, index.SearchBatch(q, 10, null, 1, ef: 80));
        }
    }

    [Fact]
    public void Int8_walk_survives_adds_deletes_compaction_and_filters()
    {
        int dims = 16, n = 2000;
        var x = TestData.Mixture(n, dims, 15, 23);
        var q = TestData.Mixture(40, dims, 15, 24);
        using var index = new HnswIndex(dims, SimilarityMetric.L2, new HnswOptions { M = 10, EfConstruction = 80 });
        index.AddBatch(x.AsSpan(0, n / 2 * dims), threads: 2);
        index.EnableInt8Traversal();
        index.AddBatch(x.AsSpan(n / 2 * dims), threads: 2);   // coded on arrival, with the first half's scales
        var rng = new SeededRandom(3);
        var removed = new HashSet<int>();
        while (removed.Count < n / 4)
        {
            int id = rng.NextInt(n);
            if (removed.Add(id))
                index.Remove(id);
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
        index.Compact();
        Assert.True(index.Int8Traversal);
        var after = index.SearchBatch(q, 10, null, 1, ef: 64);
        double recallBefore = TestData.Recall(exact, before), recallAfter = TestData.Recall(exact, after);
        Assert.True(recallBefore >= 0.9 && recallAfter >= 0.9, $"recall {recallBefore} before, {recallAfter} after compaction");
        var fifth = SearchFilter.Where(i => i % 5 == 1);
        var truth = survivors.SearchBatch(q, 10, fifth);
        var found = index.SearchBatch(q, 10, fifth, 1, ef: 64);
        Assert.All(found, r => Assert.All(r, h => Assert.True(fifth.Allows(h.Index))));
        Assert.True(TestData.Recall(truth, found) >= 0.85, $"filtered recall {TestData.Recall(truth, found)}");
    }
}
