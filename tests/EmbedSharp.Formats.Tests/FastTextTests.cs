using System.Diagnostics;
using System.Globalization;
using System.Text;
using EmbedSharp.Formats.FastText;
using EmbedSharp.Formats.Word2Vec;
using Xunit.Abstractions;

namespace EmbedSharp.Formats.Tests;

/// <summary>A fact that is skipped, with the reason printed, when Debian's <c>fasttext</c> binary is not on PATH.</summary>
public sealed class FastTextCliFactAttribute : FactAttribute
{
    public FastTextCliFactAttribute()
    {
        if (FastTextCli.Path is null)
            Skip = "the fasttext binary is not on PATH (apt-get install -y fasttext); the golden files under tests/Data/fasttext still cover compatibility";
    }
}

internal static class FastTextCli
{
    public static readonly string? Path = (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(d => System.IO.Path.Combine(d, "fasttext"))
        .FirstOrDefault(File.Exists);

    public static string Run(string args, string? stdin = null, string? workDir = null)
    {
        var psi = new ProcessStartInfo(Path!, args)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workDir ?? Environment.CurrentDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        using var p = Process.Start(psi)!;
        var stdoutTask = p.StandardOutput.ReadToEndAsync();
        var stderrTask = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
            p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(30_000))
        {
            p.Kill();
            throw new TimeoutException($"fasttext {args} did not finish in 30 s");
        }
        string stdout = stdoutTask.Result;
        Assert.True(p.ExitCode == 0, $"fasttext {args} exited with {p.ExitCode}: {stderrTask.Result}");
        return stdout;
    }
}

public sealed class FastTextTests(ITestOutputHelper output)
{
    /// <summary>Parses <c>word v1 … vD</c> lines (fastText's print-word-vectors and .vec rows).</summary>
    internal static List<(string Word, float[] Vector)> ParseVectors(string text, bool header)
    {
        var rows = new List<(string, float[])>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(header ? 1 : 0))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            rows.Add((parts[0], parts.Skip(1).Select(p => float.Parse(p, CultureInfo.InvariantCulture)).ToArray()));
        }
        return rows;
    }

    /// <summary>fastText prints 5 significant digits; ours must round to what it printed.</summary>
    internal static void AssertPrinted(float[] printed, float[] ours, string word)
    {
        Assert.Equal(printed.Length, ours.Length);
        for (int i = 0; i < printed.Length; i++)
        {
            double tol = 5.01e-5 * Math.Abs(printed[i]) + 1e-12;
            Assert.True(Math.Abs(printed[i] - ours[i]) <= tol,
                $"'{word}'[{i}]: fastText printed {printed[i]:R}, ours is {ours[i]:R}");
        }
    }

    [Theory]
    [InlineData("crime-and-punishment")]
    [InlineData("toy-model")]
    [InlineData("lee_fasttext_new")]
    public void Shared_models_give_fastTexts_vectors_for_known_and_unknown_words(string name)
    {
        string bin = TestFiles.Shared("embeddings", "fasttext", name + ".bin");
        Assert.Same(FastTextFormat.Bin, FormatDetector.Detect(bin));
        using var model = FastTextModel.Load(bin);
        var golden = ParseVectors(File.ReadAllText(TestFiles.Shared("embeddings", "fasttext", name + ".golden-word-vectors.txt")), header: false);
        int oov = 0;
        foreach (var (word, vector) in golden)
        {
            AssertPrinted(vector, model.GetWordVector(word), word);
            if (model.Dictionary.GetId(word) < 0)
                oov++;
        }
        Assert.True(oov > 0, "the golden file has out-of-vocabulary words");
        output.WriteLine($"{name}: v{model.Version} {model.Args.Model} dim {model.Dims}, {model.Dictionary.NumWords} words, {golden.Count} golden vectors ({oov} OOV) match");
    }

    [Theory]
    [InlineData("crime-and-punishment")]
    [InlineData("toy-model")]
    public void Shared_model_rows_match_the_vec_fastText_wrote(string name)
    {
        using var model = FastTextModel.Load(TestFiles.Shared("embeddings", "fasttext", name + ".bin"));
        using var emb = FastTextFormat.Bin.Read(TestFiles.Shared("embeddings", "fasttext", name + ".bin"));
        using var vec = FastTextFormat.Vec.Read(TestFiles.Shared("embeddings", "fasttext", name + ".vec"));
        Assert.Equal(vec.Words, emb.Words);
        var ours = new float[emb.Dims];
        var printed = new float[emb.Dims];
        for (int r = 0; r < emb.NumEmbeddings; r++)
        {
            emb.Table.ReadRow(r, ours);
            vec.Table.ReadRow(r, printed);
            AssertPrinted(printed, ours, emb.Words![r]);
        }
        Assert.Equal(model.Dictionary.Counts.Take(model.Dictionary.NumWords), emb.Counts!);
    }

    [Theory]
    [InlineData("tiny-skipgram.bin")]
    [InlineData("tiny-supervised.ftz")]
    public void Golden_models_match_print_word_vectors(string file)
    {
        using var model = FastTextModel.Load(TestFiles.Data("fasttext", file));
        var expected = ParseVectors(File.ReadAllText(TestFiles.Data("fasttext", Path.GetFileNameWithoutExtension(file) + ".print-word-vectors.txt")), header: false);
        var queries = File.ReadAllLines(TestFiles.Data("fasttext", "queries.txt"));
        Assert.Equal(queries, expected.Select(e => e.Word));
        foreach (var (word, vector) in expected)
            AssertPrinted(vector, model.GetWordVector(word), word);
        if (file.EndsWith(".ftz"))
        {
            Assert.True(model.IsQuantized);
            Assert.True(model.Dictionary.IsPruned);
            var q = Assert.IsType<FastTextQuantizedMatrix>(model.Input);
            Assert.NotNull(q.NormQuantizer);
            Assert.Equal((5, 2, 1), (q.Quantizer.M, q.Quantizer.SubDims, q.Quantizer.LastSubDims));
            Assert.Equal(3, model.Dictionary.NumLabels);
            Assert.Throws<ArgumentException>(() => model.GetWordVector("__label__1"));
        }
    }

    [Fact]
    public void Golden_model_nearest_neighbours_match_fasttext_nn()
    {
        using var model = FastTextModel.Load(TestFiles.Data("fasttext", "tiny-skipgram.bin"));
        var text = File.ReadAllText(TestFiles.Data("fasttext", "tiny-skipgram.nn.txt"));
        var blocks = text.Split("Query word? ", StringSplitOptions.RemoveEmptyEntries);
        var queries = File.ReadAllLines(TestFiles.Data("fasttext", "nn-queries.txt"));
        Assert.Equal(queries.Length, blocks.Length);
        for (int q = 0; q < queries.Length; q++)
            AssertNeighbours(model, queries[q], blocks[q]);
    }

    internal static void AssertNeighbours(FastTextModel model, string query, string block)
    {
        var expected = block.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' '))
            .Select(p => (Word: p[0], Sim: float.Parse(p[1], CultureInfo.InvariantCulture)))
            .ToArray();
        var ours = model.NearestNeighbors(query, expected.Length);
        Assert.Equal(expected.Length, ours.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            // fastText prints 6 significant digits; words must agree unless two similarities tie at that precision.
            Assert.True(Math.Abs(expected[i].Sim - ours[i].Similarity) <= 2e-6, $"{query} #{i}: {expected[i]} vs {ours[i]}");
            bool tie = expected.Count(e => Math.Abs(e.Sim - expected[i].Sim) <= 2e-6) > 1;
            if (!tie)
                Assert.Equal(expected[i].Word, ours[i].Word);
        }
    }

    [Theory]
    [InlineData("tiny-skipgram.bin", "fasttext")]
    [InlineData("tiny-supervised.ftz", "fasttext")]
    [InlineData("toy-model.bin", "shared")]
    [InlineData("crime-and-punishment.bin", "shared")]
    public void Saving_a_version_12_model_reproduces_the_file_byte_for_byte(string file, string where)
    {
        string path = where == "shared" ? TestFiles.Shared("embeddings", "fasttext", file) : TestFiles.Data("fasttext", file);
        using var model = FastTextModel.Load(path);
        using var ms = new MemoryStream();
        model.Save(ms);
        Assert.Equal(File.ReadAllBytes(path), ms.ToArray());
    }

    [Fact]
    public void Hash_sign_extends_bytes_like_fastText()
    {
        // FNV-1a over sign-extended bytes: for ASCII it is plain FNV-1a.
        Assert.Equal(FnvUnsigned("<the>"u8), FastTextDictionary.Hash("<the>"u8));
        // 'é' is C3 A9: both bytes ≥ 0x80 are xor-ed as 0xFFFFFFC3 / 0xFFFFFFA9, so the hashes differ.
        var bytes = Encoding.UTF8.GetBytes("<é>");
        Assert.NotEqual(FnvUnsigned(bytes), FastTextDictionary.Hash(bytes));
        uint h = 2166136261;
        foreach (byte b in bytes)
            h = (h ^ (b >= 0x80 ? 0xFFFFFF00u | b : b)) * 16777619;
        Assert.Equal(h, FastTextDictionary.Hash(bytes));
    }

    private static uint FnvUnsigned(ReadOnlySpan<byte> bytes)
    {
        uint h = 2166136261;
        foreach (byte b in bytes)
            h = (h ^ b) * 16777619;
        return h;
    }

    [Fact]
    public void Subwords_follow_character_boundaries_and_markers()
    {
        using var model = FastTextModel.Load(TestFiles.Data("fasttext", "tiny-skipgram.bin"));
        // minn 2, maxn 5: n-grams of "<ab>" are <a <ab <ab> ab ab> b> (the lone '<' and '>' are skipped).
        var grams = model.Dictionary.GetSubwords("ab").Select(s => s.Subword).ToArray();
        Assert.Equal(["<a", "<ab", "<ab>", "ab", "ab>", "b>"], grams);
        // Multi-byte characters are never split: every n-gram is valid UTF-8 and 2..5 characters long.
        foreach (var (sub, id) in model.Dictionary.GetSubwords("Привет"))
        {
            Assert.InRange(sub.Length, 2, 5);
            Assert.InRange(id, model.Dictionary.NumWords, model.Dictionary.NumWords + model.Args.Bucket - 1);
        }
        Assert.Equal([model.Dictionary.GetId("</s>")], model.Dictionary.GetSubwordIds("</s>"));
    }

    [Fact]
    public void Plain_vectors_written_as_a_model_read_back_exactly()
    {
        using var source = Word2VecFormat.Binary.Read(TestFiles.Shared("embeddings", "word2vec", "euclidean_vectors.bin"));
        using var dir = new TempDir();
        string bin = dir.File("plain.bin");
        FastTextFormat.Bin.Write(bin, source);
        using var model = FastTextModel.Load(bin);
        Assert.Equal(0, model.Args.Maxn);
        using var back = FastTextFormat.Bin.Read(bin);
        Assert.Equal(source.Words, back.Words);
        Assert.Equal(source.Table.ToArray(), back.Table.ToArray());
    }

    [FastTextCliFact]
    public void A_model_trained_now_by_fasttext_matches_print_word_vectors_and_nn()
    {
        using var dir = new TempDir();
        var corpus = File.ReadLines(TestFiles.Shared("text", "lee_background.cor")).Take(30);
        File.WriteAllLines(dir.File("corpus.txt"), corpus);
        FastTextCli.Run("skipgram -input corpus.txt -output m -dim 6 -minCount 2 -minn 3 -maxn 4 -bucket 257 -epoch 5 -thread 1 -verbose 0", workDir: dir.Path);
        using var model = FastTextModel.Load(dir.File("m.bin"));
        var queries = new[] { "the", "government", "</s>", "zebra", "naïve", "Привет", "ÿÿ", "a", "unbelievably" };
        var printed = ParseVectors(FastTextCli.Run($"print-word-vectors {dir.File("m.bin")}", string.Join("\n", queries) + "\n"), header: false);
        Assert.Equal(queries, printed.Select(p => p.Word));
        foreach (var (word, vector) in printed)
            AssertPrinted(vector, model.GetWordVector(word), word);
        // The .vec fastText wrote next to the model holds every word's vector.
        using var vec = FastTextFormat.Vec.Read(dir.File("m.vec"));
        using var ours = model.ToWordEmbeddings();
        Assert.Equal(vec.Words, ours.Words);
        var a = new float[ours.Dims];
        var b = new float[ours.Dims];
        for (int r = 0; r < ours.NumEmbeddings; r++)
        {
            vec.Table.ReadRow(r, a);
            ours.Table.ReadRow(r, b);
            AssertPrinted(a, b, ours.Words![r]);
        }
        var nnQueries = new[] { "the", "government", "zebra" };
        var nn = FastTextCli.Run($"nn {dir.File("m.bin")} 4", string.Join("\n", nnQueries) + "\n");
        var blocks = nn.Split("Query word? ", StringSplitOptions.RemoveEmptyEntries);
        for (int q = 0; q < nnQueries.Length; q++)
            AssertNeighbours(model, nnQueries[q], blocks[q]);
        output.WriteLine($"trained {model.Dictionary.NumWords} words; {printed.Count} print-word-vectors rows and {nnQueries.Length} nn queries agree");
    }

    [FastTextCliFact]
    public void Fasttext_reads_the_models_we_write()
    {
        using var dir = new TempDir();
        using var source = Glove.GloveFormat.Instance.Read(TestFiles.Shared("embeddings", "glove", "test_glove.txt"));
        string bin = dir.File("glove.bin");
        FastTextFormat.Bin.Write(bin, source);
        var words = source.Words!.Take(20).ToArray();
        var printed = ParseVectors(FastTextCli.Run($"print-word-vectors {bin}", string.Join("\n", words) + "\n"), header: false);
        var row = new float[source.Dims];
        for (int i = 0; i < words.Length; i++)
        {
            source.Table.ReadRow(i, row);
            AssertPrinted(printed[i].Vector, row, words[i]);
        }
        // A loaded model saved again is a file fastText reads the same way.
        using var model = FastTextModel.Load(TestFiles.Data("fasttext", "tiny-supervised.ftz"));
        string copy = dir.File("copy.ftz");
        model.Save(copy);
        var queries = File.ReadAllText(TestFiles.Data("fasttext", "queries.txt"));
        Assert.Equal(FastTextCli.Run($"print-word-vectors {TestFiles.Data("fasttext", "tiny-supervised.ftz")}", queries),
                     FastTextCli.Run($"print-word-vectors {copy}", queries));
    }
}
