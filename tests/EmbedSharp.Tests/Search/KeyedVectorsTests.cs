using System.Text;
using EmbedSharp.Numerics;
using EmbedSharp.Search;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Search;

public sealed class KeyedVectorsTests
{
    private static readonly string[] Words = ["the", "king", "queen", "man", "woman", "Paris", "paris", "France", "apple", "zero", "Berlin", "Germany"];

    private static (KeyedVectors Kv, float[][] Rows) Build(int dims = 9, ulong seed = 11)
    {
        var rng = new SeededRandom(seed);
        var table = new EmbeddingTable(Words.Length, dims);
        var rows = new float[Words.Length][];
        for (int r = 0; r < Words.Length; r++)
        {
            rows[r] = new float[dims];
            if (Words[r] != "zero")
            {
                for (int j = 0; j < dims; j++)
                    rows[r][j] = (float)rng.NextNormal();
            }
            table.WriteRow(r, rows[r]);
        }
        return (new KeyedVectors(Words, table, ownsTable: true), rows);
    }

    private static double[] Unit(float[] v)
    {
        double n = Math.Sqrt(v.Sum(x => (double)x * x));
        return v.Select(x => n == 0 ? 0 : x / n).ToArray();
    }

    private static double Cos(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

    /// <summary>gensim's most_similar written out plainly in double.</summary>
    private static (string, double)[] ReferenceMostSimilar(float[][] rows, string[] pos, string[] neg, int topN, int limit)
    {
        int dims = rows[0].Length;
        var mean = new double[dims];
        foreach (var w in pos)
            mean = mean.Zip(Unit(rows[Array.IndexOf(Words, w)]), (m, u) => m + u).ToArray();
        foreach (var w in neg)
            mean = mean.Zip(Unit(rows[Array.IndexOf(Words, w)]), (m, u) => m - u).ToArray();
        var q = Unit(mean.Select(x => (float)(x / (pos.Length + neg.Length))).ToArray());
        var skip = pos.Concat(neg).ToHashSet();
        return Enumerable.Range(0, limit).Where(i => !skip.Contains(Words[i]))
            .Select(i => (Words[i], Cos(Unit(rows[i]), q)))
            .OrderByDescending(t => t.Item2).Take(topN).ToArray();
    }

    [Fact]
    public void Lookups_and_errors()
    {
        var (kv, rows) = Build();
        using var owner = kv;
        Assert.Equal(12, kv.Count);
        Assert.Equal(9, kv.Dims);
        Assert.Equal(rows[2], kv["queen"]);
        Assert.True(kv.TryGetVector("king", out var v));
        Assert.Equal(rows[1], v);
        Assert.False(kv.TryGetVector("prince", out _));
        var buffer = new float[9];
        Assert.True(kv.TryGetVector("man", buffer));
        Assert.Throws<ArgumentException>(() => kv.TryGetVector("man", new float[3]));
        var e = Assert.Throws<KeyNotFoundException>(() => kv["prince"]);
        Assert.Contains("'prince' is not in the vocabulary (12 words)", e.Message);
        Assert.Equal(1.0, Unit(rows[3]).Zip(kv.GetVector("man", normalized: true), (a, b) => a * b).Sum(), 5);
        Assert.Equal(0, kv.GetNorm("zero"));
        Assert.Throws<ArgumentException>(() => new KeyedVectors(["a", "a"], new EmbeddingTable(2, 1)));
        Assert.Throws<ArgumentException>(() => new KeyedVectors(["a"], new EmbeddingTable(2, 1)));
    }

    [Fact]
    public void MostSimilar_is_3CosAdd_over_unit_vectors_excluding_the_query()
    {
        var (kv, rows) = Build();
        using var owner = kv;
        foreach (var (pos, neg, limit) in new[] { (new[] { "king", "woman" }, new[] { "man" }, 12), (new[] { "Paris" }, Array.Empty<string>(), 12), (new[] { "Germany", "Paris" }, new[] { "France" }, 8) })
        {
            var expected = ReferenceMostSimilar(rows, pos, neg, 5, limit);
            var ours = kv.MostSimilar(pos, neg, 5, restrictVocab: limit);
            Assert.Equal(expected.Select(e => e.Item1), ours.Select(o => o.Word));
            for (int i = 0; i < ours.Length; i++)
                Assert.Equal(expected[i].Item2, ours[i].Similarity, 5);
        }
        Assert.Equal(kv.MostSimilar(["king", "woman"], ["man"], 3), kv.Analogy("man", "king", "woman", 3));
        Assert.Empty(kv.MostSimilar("king", topN: 0));
        Assert.Throws<KeyNotFoundException>(() => kv.MostSimilar("prince"));
        Assert.Throws<ArgumentException>(() => kv.MostSimilar([], []));
        // A zero vector has cosine 0 with everything, never NaN.
        Assert.Equal(0f, kv.Similarity("zero", "king"));
    }

    [Fact]
    public void SimilarByVector_includes_the_word_itself()
    {
        var (kv, rows) = Build();
        using var owner = kv;
        var hits = kv.SimilarByVector(rows[7], 3);
        Assert.Equal("France", hits[0].Word);
        Assert.Equal(1f, hits[0].Similarity, 5);
    }

    [Fact]
    public void Cosmul_follows_levy_and_goldberg()
    {
        var (kv, rows) = Build();
        using var owner = kv;
        string[] pos = ["king", "woman"], neg = ["man"];
        var scores = Enumerable.Range(0, Words.Length).Where(i => !pos.Contains(Words[i]) && !neg.Contains(Words[i]))
            .Select(i =>
            {
                var u = Unit(rows[i]);
                double num = pos.Aggregate(1.0, (acc, w) => acc * (1 + Cos(u, Unit(rows[Array.IndexOf(Words, w)]))) / 2);
                double den = neg.Aggregate(1.0, (acc, w) => acc * (1 + Cos(u, Unit(rows[Array.IndexOf(Words, w)]))) / 2);
                return (Word: Words[i], Score: num / (den + 1e-6));
            })
            .OrderByDescending(t => t.Score).Take(4).ToArray();
        var ours = kv.MostSimilarCosmul(pos, neg, 4);
        Assert.Equal(scores.Select(s => s.Word), ours.Select(o => o.Word));
        for (int i = 0; i < 4; i++)
            Assert.Equal(scores[i].Score, ours[i].Similarity, 4);
        Assert.Equal(ours.Take(1), kv.Analogy("man", "king", "woman", 1, AnalogyMethod.Mul));
        Assert.Throws<ArgumentException>(() => kv.MostSimilarCosmul([], ["man"]));
    }

    [Fact]
    public void Centrality_doesnt_match_and_set_similarity()
    {
        var (kv, rows) = Build();
        using var owner = kv;
        string[] group = ["king", "queen", "man", "apple", "missing"];
        var used = group.Where(w => w != "missing").ToArray();
        var units = used.Select(w => Unit(rows[Array.IndexOf(Words, w)])).ToArray();
        var mean = Unit(Enumerable.Range(0, 9).Select(j => (float)units.Average(u => u[j])).ToArray());
        var expected = used.Select((w, k) => (w, Cos(units[k], mean))).OrderByDescending(t => t.Item2).ToArray();
        var ranked = kv.RankByCentrality(group);
        Assert.Equal(expected.Select(e => e.w), ranked.Select(r => r.Word));
        Assert.Equal(expected[^1].w, kv.DoesntMatch(group));
        Assert.Throws<ArgumentException>(() => kv.DoesntMatch(["nothing", "here"]));
        // n_similarity averages raw vectors, then compares.
        var m1 = Enumerable.Range(0, 9).Select(j => (rows[1][j] + rows[2][j]) / 2f).ToArray();
        var m2 = rows[3];
        Assert.Equal(Cos(Unit(m1), Unit(m2)), kv.NSimilarity(["king", "queen"], ["man"]), 5);
        Assert.Equal(Cos(Unit(rows[1]), Unit(rows[2])), kv.Similarity("king", "queen"), 5);
        Assert.Throws<ArgumentException>(() => kv.NSimilarity([], ["man"]));
    }

    [Fact]
    public void Restrict_sees_only_the_first_words_and_shares_the_table()
    {
        var (kv, _) = Build();
        using var owner = kv;
        using var first = kv.Restrict(5);
        Assert.Equal(5, first.Count);
        Assert.Same(kv.Table, first.Table);
        Assert.False(first.Contains("Paris"));
        Assert.All(first.MostSimilar("king", 10), h => Assert.Contains(h.Word, Words[..5]));
        Assert.Equal(kv.MostSimilar("king", 3, restrictVocab: 5), first.MostSimilar("king", 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => kv.Restrict(13));
        first.Dispose();
        Assert.False(kv.Table.IsDisposed);
    }

    private sealed class CountingIndex(EmbeddingTable unit) : IVectorIndex
    {
        private readonly ExactIndex _exact = new(unit, SimilarityMetric.Cosine);
        public int Calls;
        public int NumEmbeddings => unit.NumEmbeddings;
        public int Count => unit.NumEmbeddings;
        public int Dims => unit.Dims;
        public SimilarityMetric Metric => SimilarityMetric.Cosine;
        public bool IsReadOnly => true;

        public Neighbor[] Search(ReadOnlySpan<float> query, int k, SearchFilter? filter = null)
        {
            Calls++;
            return _exact.Search(query, k, filter);
        }

        public Neighbor[][] SearchBatch(ReadOnlySpan<float> queries, int k, SearchFilter? filter = null, int threads = -1) =>
            _exact.SearchBatch(queries, k, filter, threads);

        public int Add(ReadOnlySpan<float> vector) => _exact.Add(vector);

        public bool Remove(int id) => _exact.Remove(id);

        public void Save(Stream destination) => _exact.Save(destination);
    }

    [Fact]
    public void An_index_answers_queries_through_the_seam()
    {
        var (kv, _) = Build();
        using var owner = kv;
        var exact = kv.MostSimilar(["king", "woman"], ["man"], 4);
        var index = new CountingIndex(kv.Table);
        kv.Index = index;
        var viaIndex = kv.MostSimilar(["king", "woman"], ["man"], 4);
        Assert.Equal(1, index.Calls);
        Assert.Equal(exact.Select(e => e.Word), viaIndex.Select(v => v.Word));
        // restrict_vocab and the excluded query words reach the index as a filter.
        kv.Index = null;
        var restricted = kv.MostSimilar(["king", "woman"], ["man"], 4, restrictVocab: 6);
        kv.Index = index;
        Assert.Equal(restricted.Select(r => r.Word), kv.MostSimilar(["king", "woman"], ["man"], 4, restrictVocab: 6).Select(r => r.Word));
    }

    private const string Analogies = """
        : capital-common-countries
        paris france berlin germany
        Paris France Berlin Germany
        paris france rome italy
        bad line
        : family
        man king woman queen
        man king woman QUEEN
        """;

    [Fact]
    public void Analogy_evaluation_reports_sections_oov_and_case_rules()
    {
        // Row 5 "Paris" comes before row 6 "paris": upper-cased lookups use the first (most frequent) casing.
        var (kv, _) = Build();
        using var owner = kv;
        var result = kv.EvaluateWordAnalogies(new StringReader(Analogies));
        Assert.Equal(["capital-common-countries", "family", "Total accuracy"], result.Sections.Select(s => s.Name));
        Assert.Equal(5, result.Questions); // "bad line" is skipped, not counted
        Assert.Equal(1, result.OutOfVocabulary); // rome/italy
        Assert.Equal(20.0, result.OovRatio, 9);
        Assert.Equal(4, result.Sections[^1].Correct.Count + result.Sections[^1].Incorrect.Count);
        Assert.Equal(new AnalogyQuestion("PARIS", "FRANCE", "BERLIN", "GERMANY"), result.Sections[0].Correct.Concat(result.Sections[0].Incorrect).First());
        // Each question's verdict is whether the best 3CosAdd candidate outside a, b, c is d.
        foreach (var q in result.Sections[^1].Correct)
            Assert.Equal(q.Expected, kv.MostSimilar([Cased(q.B), Cased(q.C)], [Cased(q.A)], 1)[0].Word.ToUpperInvariant());
        var withDummy = kv.EvaluateWordAnalogies(new StringReader(Analogies), dummy4unknown: true);
        Assert.Equal(5, withDummy.Sections[^1].Correct.Count + withDummy.Sections[^1].Incorrect.Count);
        var caseSensitive = kv.EvaluateWordAnalogies(new StringReader(Analogies), caseInsensitive: false);
        Assert.Equal(3, caseSensitive.OutOfVocabulary); // lower-case france (twice) and QUEEN are unknown; Paris France Berlin Germany is not
        var restricted = kv.EvaluateWordAnalogies(new StringReader(Analogies), restrictVocab: 5);
        Assert.Equal(3, restricted.OutOfVocabulary);
        Assert.Throws<InvalidDataException>(() => kv.EvaluateWordAnalogies(new StringReader("a b c d\n: s\n")));
        var empty = kv.EvaluateWordAnalogies(new StringReader(""));
        Assert.Equal(0.0, empty.Score);
        Assert.Equal("Total accuracy", Assert.Single(empty.Sections).Name);
    }

    private static string Cased(string upper) => Words.First(w => w.ToUpperInvariant() == upper);

    [Fact]
    public void Word_pair_evaluation_skips_comments_and_bad_lines_and_counts_oov()
    {
        var (kv, rows) = Build();
        using var owner = kv;
        var text = "# comment\n# another\nking\tqueen\t8.5\nman\twoman\t7\nking\tapple\t1.5\nParis\tFrance\t9\nbad line\t3\nking\tprince\t6\nqueen\tman\tnot-a-number\napple\tthe\t2\n";
        var r = kv.EvaluateWordPairs(new MemoryStream(Encoding.UTF8.GetBytes(text)));
        Assert.Equal(5, r.Pairs);
        Assert.Equal(1, r.OutOfVocabulary);
        Assert.Equal(100.0 / 6, r.OovRatio, 9);
        double[] gold = [8.5, 7, 1.5, 9, 2];
        double[] model = [kv.Similarity("king", "queen"), kv.Similarity("man", "woman"), kv.Similarity("king", "apple"), kv.Similarity("Paris", "France"), kv.Similarity("apple", "the")];
        Assert.Equal(Statistics.Spearman(gold, model).Rho, r.Spearman, 12);
        Assert.Equal(Statistics.Pearson(gold, model).R, r.Pearson, 12);
        var dummy = kv.EvaluateWordPairs(new StringReader(text), dummy4unknown: true);
        Assert.Equal(100.0 / 6, dummy.OovRatio, 9);
        Assert.Throws<InvalidDataException>(() => kv.EvaluateWordPairs(new StringReader("x\ty\t1\n")));
        Assert.Throws<InvalidDataException>(() => kv.EvaluateWordPairs(new MemoryStream([0x6B, 0x69, 0xFF, 0x09, 0x61, 0x09, 0x31, 0x0A])));
        _ = rows;
    }
}
