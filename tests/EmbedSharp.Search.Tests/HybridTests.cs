using EmbedSharp.Search.Hnsw;
using EmbedSharp.Search.Hybrid;
using EmbedSharp.Tables;

namespace EmbedSharp.Search.Tests;

public sealed class HybridTests
{
    private static readonly string[] Docs =
    [
        "The king sat on the throne",
        "Apple and pear",
        "Queen of hearts",
        "Fruit salad with apple, apple and more apple",
        "",
    ];

    private static KeyedVectors Vectors()
    {
        string[] words = ["the", "king", "queen", "throne", "apple", "pear", "fruit", "salad"];
        var table = new EmbeddingTable(words.Length, 4);
        table.WriteRow(0, [0.1f, 0.1f, 0.1f, 0.1f]);
        table.WriteRow(1, [1, 0.1f, 0, 0]);
        table.WriteRow(2, [0.9f, 0.2f, 0, 0]);
        table.WriteRow(3, [0.8f, 0, 0.1f, 0]);
        table.WriteRow(4, [0, 0, 1, 0.1f]);
        table.WriteRow(5, [0, 0.1f, 0.9f, 0]);
        table.WriteRow(6, [0, 0, 0.8f, 0.3f]);
        table.WriteRow(7, [0.1f, 0, 0.7f, 0.2f]);
        return new KeyedVectors(words, table, ownsTable: true);
    }

    [Fact]
    public void Tokens_are_lowercased_letter_and_digit_runs()
    {
        Assert.Equal(["café", "au", "lait", "42"], TextTokens.Words("Café-au-LAIT, 42!"));
        Assert.Empty(TextTokens.Words(" ,;"));
    }

    /// <summary>The formula of the class remarks, written out plainly.</summary>
    private static double Bm25Reference(string[] docs, bool[] removed, string query, int doc, double k1 = 1.2, double b = 0.75)
    {
        var tokens = docs.Select(d => TextTokens.Words(d).ToList()).ToList();
        var live = Enumerable.Range(0, docs.Length).Where(i => !removed[i]).ToList();
        double avg = live.Average(i => (double)tokens[i].Count);
        double score = 0;
        foreach (string t in TextTokens.Words(query).Distinct())
        {
            int df = live.Count(i => tokens[i].Contains(t));
            if (df == 0)
                continue;
            double idf = Math.Log(1 + (live.Count - df + 0.5) / (df + 0.5));
            int tf = tokens[doc].Count(x => x == t);
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * tokens[doc].Count / avg));
        }
        return score;
    }

    [Fact]
    public void Bm25_scores_equal_the_formula_and_respect_removal_and_filters()
    {
        var index = new Bm25Index();
        foreach (string d in Docs)
            index.Add(d);
        var removed = new bool[Docs.Length];
        foreach (string q in new[] { "apple", "the king apple", "queen hearts", "nothing" })
        {
            var hits = index.Search(q, 10);
            var expected = Enumerable.Range(0, Docs.Length).Select(i => (i, s: Bm25Reference(Docs, removed, q, i))).Where(x => x.s > 0)
                .OrderByDescending(x => x.s).ThenBy(x => x.i).ToList();
            Assert.Equal(expected.Select(e => e.i), hits.Select(h => h.Index));
            for (int i = 0; i < hits.Length; i++)
                Assert.Equal(expected[i].s, hits[i].Score, 4);
        }
        Assert.Equal([3, 1], index.Search("apple", 5).Select(h => h.Index));
        Assert.True(index.Remove(3));
        Assert.False(index.Remove(3));
        removed[3] = true;
        var after = index.Search("apple", 5);
        Assert.Equal([1], after.Select(h => h.Index));
        Assert.Equal(Bm25Reference(Docs, removed, "apple", 1), after[0].Score, 4);
        Assert.Empty(index.Search("apple", 5, SearchFilter.Allow([0, 2])));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Bm25Index(b: 2));
    }

    [Fact]
    public void Reciprocal_rank_fusion_sums_reciprocal_ranks()
    {
        Neighbor[] a = [new(1, 0), new(2, 0), new(3, 0)];
        Neighbor[] b = [new(3, 0), new(1, 0), new(1, 0)];
        var fused = RankFusion.Reciprocal([a, b], 3, rrfK: 0);
        Assert.Equal([1, 3, 2], fused.Select(f => f.Index));
        Assert.Equal(1 + 0.5, fused[0].Score, 5);
        Assert.Equal(1.0 / 3 + 1, fused[1].Score, 5);
        Assert.Equal([1, 3], RankFusion.Reciprocal([a, b], 2).Select(f => f.Index));
        Assert.Empty(RankFusion.Reciprocal([], 3));
    }

    [Fact]
    public void Sif_weights_frequent_words_down_and_removes_the_common_component()
    {
        using var kv = Vectors();
        var mean = new WordVectorEmbedder(kv, WordPooling.Mean);
        var v = new float[4];
        mean.Embed("KING", v);
        Assert.Equal(kv["king"], v);
        mean.Embed("unknown words only", v);
        Assert.All(v, x => Assert.Equal(0f, x));
        // "the" is row 0, the most frequent by Zipf: with SIF it barely moves the mean of "the king".
        var sif = new WordVectorEmbedder(kv, WordPooling.Sif);
        var withThe = new float[4];
        var alone = new float[4];
        sif.Embed("the king", withThe);
        sif.Embed("king", alone);
        double cos = Cosine(withThe, alone), meanCos;
        mean.Embed("the king", withThe);
        mean.Embed("king", alone);
        meanCos = Cosine(withThe, alone);
        Assert.True(cos > meanCos, $"SIF cosine {cos} should beat the mean's {meanCos}");
        sif.FitCommonComponent(Docs);
        Assert.Equal(1.0, Math.Sqrt(sif.CommonComponent.ToArray().Sum(x => (double)x * x)), 4);
        sif.Embed("apple and pear", v);
        double dot = 0;
        for (int j = 0; j < 4; j++)
            dot += v[j] * sif.CommonComponent[j];
        Assert.Equal(0, dot, 5);
        Assert.Throws<InvalidOperationException>(() => mean.FitCommonComponent(Docs));
    }

    private static double Cosine(float[] x, float[] y) =>
        x.Zip(y, (a, b) => (double)a * b).Sum() / Math.Sqrt(x.Sum(a => (double)a * a) * y.Sum(b => (double)b * b));

    [Fact]
    public void Hybrid_search_fuses_keywords_and_meaning()
    {
        using var kv = Vectors();
        var embedder = new WordVectorEmbedder(kv, WordPooling.Mean);
        var hybrid = new HybridIndex(embedder, new ExactIndex(4, SimilarityMetric.Cosine));
        foreach (string d in Docs)
            hybrid.Add(d);
        // "queen" matches doc 2 by keyword and docs 0 and 2 by meaning: doc 2 wins, doc 0 comes second.
        var hits = hybrid.Search("queen", 2);
        Assert.Equal([2, 0], hits.Select(h => h.Index));
        // "pear fruit": doc 1 has the keyword and both fruit docs are near in meaning.
        Assert.Equal(1, hybrid.Search("pear fruit", 3)[0].Index);
        Assert.DoesNotContain(hybrid.Search("pear fruit", 5, SearchFilter.Where(i => i != 1)), h => h.Index == 1);
        Assert.True(hybrid.Remove(1));
        Assert.DoesNotContain(hybrid.Search("pear", 5), h => h.Index == 1);
        using var hnsw = new HnswIndex(5);
        Assert.Throws<ArgumentException>(() => new HybridIndex(embedder, hnsw));
    }
}
