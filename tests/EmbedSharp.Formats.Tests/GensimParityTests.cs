using System.Text.Json;
using EmbedSharp.Formats.Glove;
using EmbedSharp.Formats.Word2Vec;
using EmbedSharp.Search;
using Xunit.Abstractions;

namespace EmbedSharp.Formats.Tests;

/// <summary>
/// The shared fixtures read to the same bits gensim reads, and the analogy and word-pair
/// evaluations report what gensim reports (tests/Data/gensim/expected.json).
/// </summary>
public sealed class GensimParityTests(ITestOutputHelper output)
{
    public static TheoryData<string> Fixtures()
    {
        var data = new TheoryData<string>();
        foreach (var f in Expected().GetProperty("fixtures").EnumerateArray())
            data.Add(f.GetProperty("file").GetString()!);
        return data;
    }

    private static JsonElement Expected() =>
        JsonDocument.Parse(File.ReadAllBytes(TestFiles.Data("gensim", "expected.json"))).RootElement;

    private static JsonElement ExpectedFor(string file) =>
        Expected().GetProperty("fixtures").EnumerateArray().Single(f => f.GetProperty("file").GetString() == file);

    private static void Close(double expected, double actual)
    {
        if (double.IsNaN(expected))
        {
            Assert.True(double.IsNaN(actual), $"expected NaN, got {actual}");
            return;
        }
        Assert.True(Math.Abs(expected - actual) <= 5e-5 + 1e-3 * Math.Abs(expected), $"expected {expected}, got {actual}");
    }

    private static double Number(JsonElement e, string name) =>
        e.GetProperty(name).ValueKind == JsonValueKind.Null ? double.NaN : e.GetProperty(name).GetDouble();

    private static WordEmbeddings Load(string file)
    {
        string path = TestFiles.Shared("embeddings", file);
        // gensim reads these with no_header=True, which is GloVe's layout.
        EmbeddingFormat format = file.Contains("glove") || file.Contains("noheader")
            ? GloveFormat.Instance
            : file.EndsWith(".bin") ? Word2VecFormat.Binary : Word2VecFormat.Text;
        Assert.Same(format == Word2VecFormat.Text && file.EndsWith(".vec") ? FastText.FastTextFormat.Vec : format, FormatDetector.Detect(path));
        return format.Read(path);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Reads_the_same_words_and_vectors_as_gensim(string file)
    {
        var e = ExpectedFor(file);
        using var emb = Load(file);
        Assert.Equal(e.GetProperty("numEmbeddings").GetInt32(), emb.NumEmbeddings);
        Assert.Equal(e.GetProperty("dims").GetInt32(), emb.Dims);
        Assert.Equal(e.GetProperty("firstWord").GetString(), emb.Words![0]);
        Assert.Equal(e.GetProperty("lastWord").GetString(), emb.Words[^1]);
        Assert.Equal(e.GetProperty("wordsSha256").GetString(), TestFiles.Sha256(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", emb.Words))));
        Assert.Equal(e.GetProperty("vectorsSha256").GetString(), TestFiles.VectorsSha256(emb.Table));
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Analogy_evaluation_matches_gensim(string file)
    {
        var e = ExpectedFor(file).GetProperty("analogies");
        using var emb = Load(file);
        using var kv = emb.ToKeyedVectors();
        using var fs = File.OpenRead(TestFiles.Shared("analogy", "questions-words.txt"));
        var result = kv.EvaluateWordAnalogies(fs);
        var expectedSections = e.GetProperty("sections").EnumerateArray().ToArray();
        Assert.Equal(expectedSections.Length, result.Sections.Count);
        for (int i = 0; i < expectedSections.Length; i++)
        {
            var s = expectedSections[i].EnumerateArray().ToArray();
            Assert.Equal(s[0].GetString(), result.Sections[i].Name);
            Assert.Equal(s[1].GetInt32(), result.Sections[i].Correct.Count);
            Assert.Equal(s[2].GetInt32(), result.Sections[i].Incorrect.Count);
        }
        Assert.Equal(e.GetProperty("score").GetDouble(), result.Score, 12);
        Assert.Equal(19544, result.Questions);
        var total = result.Sections[^1];
        Assert.Equal(19544 - total.Correct.Count - total.Incorrect.Count, result.OutOfVocabulary);
        output.WriteLine($"{file}: analogy score {result.Score:F4} on {total.Correct.Count + total.Incorrect.Count} questions, OOV {result.OovRatio:F1}% (gensim {e.GetProperty("score").GetDouble():F4})");
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Word_pair_evaluation_matches_gensim(string file)
    {
        var expected = ExpectedFor(file).GetProperty("pairs");
        using var emb = Load(file);
        using var kv = emb.ToKeyedVectors();
        foreach (var p in expected.EnumerateObject())
        {
            using var fs = File.OpenRead(TestFiles.Shared("similarity", p.Name));
            if (p.Value.TryGetProperty("error", out _))
            {
                Assert.Throws<InvalidDataException>(() => kv.EvaluateWordPairs(fs));
                continue;
            }
            var r = kv.EvaluateWordPairs(fs);
            var v = p.Value;
            output.WriteLine($"{file} {p.Name}: pearson {r.Pearson:F6} (gensim {Number(v, "pearson"):F6}), spearman {r.Spearman:F6} (gensim {Number(v, "spearman"):F6}), oov {r.OovRatio:F2}%");
            Assert.Equal(v.GetProperty("oovRatio").GetDouble(), r.OovRatio, 9);
            // Cosines are float32 in both but BLAS sums in another order; with near-collinear vectors
            // (Hamlet: all cosines ≈ 0.99) that noise moves r by ~1e-5, so compare to 5e-5 (plus 1e-3 relative, for tiny p-values).
            Close(Number(v, "pearson"), r.Pearson);
            Close(Number(v, "spearman"), r.Spearman);
            Close(Number(v, "pearsonP"), r.PearsonPValue);
            Close(Number(v, "spearmanP"), r.SpearmanPValue);
        }
    }
}
