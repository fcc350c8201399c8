using EmbedSharp.Vocabularies;


namespace EmbedSharp.Tests.Vocabularies;

/// <summary>
/// Subword ids against Debian's fasttext 0.9.2. The constants were made with
/// <c>fasttext skipgram -input corpus.txt -output m -minn 3 -maxn 6 -bucket 2000000 -dim 10 -epoch 1 -minCount 1</c>
/// (and <c>-minn 1 -maxn 3 -bucket 1000</c> for the second set) on a 13-word corpus
/// ("the quick brown fox jumps over the lazy dog naïve café straße 東京" repeated, plus "&lt;/s&gt;"), then
/// <c>model.get_subwords(word)</c> from Debian's python3-fasttext, which returns the n-grams and their
/// row ids (<c>nwords + hash mod bucket</c>, nwords = 13).
/// </summary>
public sealed class SubwordHasherTests
{
    private const int NumWords = 13;
    private static readonly string[] FastTextWords = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "naïve", "café", "straße", "東京", "</s>"];

    public static TheoryData<string, int, string[], int[]> Minn3Maxn6 => new()
    {
        { "the", 0, ["the", "<th", "<the", "<the>", "the", "the>", "he>"], [0, 1151164, 409739, 1648973, 861993, 60947, 816293] },
        { "fox", 3, ["fox", "<fo", "<fox", "<fox>", "fox", "fox>", "ox>"], [3, 200165, 1681901, 1016839, 1416283, 1237469, 339665] },
        { "naïve", 8, ["naïve", "<na", "<naï", "<naïv", "<naïve", "naï", "naïv", "naïve", "naïve>", "aïv", "aïve", "aïve>", "ïve", "ïve>", "ve>"],
            [8, 1806903, 1907705, 878203, 933214, 1590559, 1719417, 832056, 156700, 356845, 1223020, 1505344, 1711583, 1788561, 1088667] },
        { "café", 9, ["café", "<ca", "<caf", "<café", "<café>", "caf", "café", "café>", "afé", "afé>", "fé>"],
            [9, 916760, 1991844, 794652, 17200, 369674, 454614, 761698, 960375, 1966025, 1609710] },
        { "東京", 11, ["東京", "<東京", "<東京>", "東京>"], [11, 473674, 106182, 163728] },
        { "where", -1, ["<wh", "<whe", "<wher", "<where", "whe", "wher", "where", "where>", "her", "here", "here>", "ere", "ere>", "re>"],
            [167665, 989728, 1526720, 1071599, 420954, 312634, 969189, 121247, 1473433, 1540824, 115004, 1529046, 1568482, 867511] },
        { "ab", -1, ["<ab", "<ab>", "ab>"], [209521, 621755, 1241769] },
        { "é", -1, ["<é>"], [806244] },
        { "Größe", -1, ["<Gr", "<Grö", "<Größ", "<Größe", "Grö", "Größ", "Größe", "Größe>", "röß", "röße", "röße>", "öße", "öße>", "ße>"],
            [1726591, 40604, 93294, 240345, 1360974, 1362504, 531719, 1502617, 114051, 1900150, 639874, 1147334, 342162, 679525] },
    };

    public static TheoryData<string, int, int[]> Minn1Maxn3Bucket1000 => new()
    {
        { "fox", 3, [3, 620, 165, 614, 863, 283, 947, 887, 665, 708, 104] },
        { "é", -1, [640, 244, 790, 794] },
        { "ñu", -1, [496, 215, 934, 321, 267, 661, 295] },
        { "", -1, [380] },
    };

    [Theory]
    [MemberData(nameof(Minn3Maxn6))]
    public void Rows_equal_fasttext_minn3_maxn6(string word, int wordId, string[] grams, int[] expectedRows)
    {
        var hasher = new SubwordHasher(3, 6, 2_000_000);
        var rows = new List<int>();
        hasher.GetSubwordRows(word, NumWords, wordId, rows);
        Assert.Equal(expectedRows, rows);
        var ngrams = new List<string>();
        hasher.GetNgramBuckets(word, new List<int>(), ngrams);
        Assert.Equal(grams.Skip(wordId >= 0 ? 1 : 0), ngrams);
    }

    [Theory]
    [MemberData(nameof(Minn1Maxn3Bucket1000))]
    public void Rows_equal_fasttext_minn1_maxn3_with_boundary_unigrams_skipped(string word, int wordId, int[] expected)
    {
        var rows = new List<int>();
        new SubwordHasher(1, 3, 1000).GetSubwordRows(word, NumWords, wordId, rows);
        Assert.Equal(expected, rows);
    }

    [Fact]
    public void Subword_policy_over_a_vocabulary_matches_fasttext_ids()
    {
        Vocabulary v = Vocabulary.FromTokens(FastTextWords);
        var policy = new SubwordPolicy(v, new SubwordHasher());
        Assert.Equal([9, 916760, 1991844, 794652, 17200, 369674, 454614, 761698, 960375, 1966025, 1609710], policy.GetRows("café"));
        Assert.Equal([12], policy.GetRows("</s>")); // fastText gives its end-of-sentence word no n-grams
        Assert.Equal(13 + 2_000_000, policy.NumEmbeddings);
    }

    [Fact]
    public void Hash_sign_extends_bytes_like_fasttext()
    {
        // ASCII: identical to plain FNV-1a ("a" → 0xE40C292C).
        Assert.Equal(0xE40C292Cu, SubwordHasher.Hash("a"u8));
        Assert.Equal(2166136261u, SubwordHasher.Hash(""u8));
        // Non-ASCII: differs from plain FNV-1a because 0xC3 is XORed in as 0xFFFFFFC3.
        byte[] e = "é"u8.ToArray();
        uint plain = 2166136261u;
        foreach (byte b in e)
            plain = (plain ^ b) * 16777619u;
        Assert.NotEqual(plain, SubwordHasher.Hash(e));
        Assert.Equal(SubwordHasher.Hash(e), SubwordHasher.Hash("é"));
    }

    [Fact]
    public void Maxn_zero_disables_ngrams_and_bad_settings_are_rejected()
    {
        Assert.Empty(new SubwordHasher(0, 0, 10).GetNgramBuckets("word"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SubwordHasher(4, 3, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SubwordHasher(0, 3, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SubwordHasher(3, 6, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SubwordHasher().GetSubwordRows("x", 5, 5, new List<int>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SubwordHasher(3, 6, int.MaxValue).GetSubwordRows("x", 5, -1, new List<int>()));
    }
}
