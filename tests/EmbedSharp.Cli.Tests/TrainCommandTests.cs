namespace EmbedSharp.Cli.Tests;

public sealed class TrainCommandTests(CliFixture fx) : IClassFixture<CliFixture>
{
    /// <summary>A few hundred lines of the shipped corpus: enough words with count ≥ 5.</summary>
    private string Corpus()
    {
        string path = fx.PathOf("corpus.txt");
        if (!File.Exists(path))
        {
            using var gz = new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(CliFixture.RepoRoot, "data", "quickstart", "corpus.txt.gz")), System.IO.Compression.CompressionMode.Decompress);
            using var reader = new StreamReader(gz);
            File.WriteAllLines(path, Enumerable.Range(0, 800).Select(_ => reader.ReadLine()!));
        }
        return path;
    }

    [Theory]
    [InlineData("word2vec", "w2v.bin")]
    [InlineData("word2vec", "w2v-cbow.txt", "--arch", "cbow")]
    [InlineData("glove", "glove.txt")]
    [InlineData("fasttext", "ft.vec")]
    [InlineData("nplm", "nplm.npy")]
    public void EachModel_TrainsAndWritesAReadableFile(string model, string file, params string[] extra)
    {
        string output = fx.PathOf(Path.Combine("out", file));
        var (code, text, error) = CliFixture.Run([.. new[] { "train", Corpus(), "--model", model, "--out", output, "--epochs", "1", "--dims", "16", "--threads", "1" }, .. extra]);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("wrote " + output, text);
        var (c2, inspect, _) = CliFixture.Run("inspect", output, "--json");
        Assert.Equal(0, c2);
        Assert.Contains("\"dims\":16", inspect);
    }

    [Fact]
    public void FastTextBin_IsAFullModel_WhoseUnknownWordsGetSubwordVectors()
    {
        string output = fx.PathOf("ft.bin");
        var (code, _, error) = CliFixture.Run("train", Corpus(), "--model", "fasttext", "--out", output, "--epochs", "1", "--dims", "8", "--bucket", "5000", "--threads", "1");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        var (c2, vectors, _) = CliFixture.Run("vector", output, "unseenwordzz");
        Assert.Equal(0, c2);
        Assert.StartsWith("unseenwordzz ", vectors);
        Assert.DoesNotContain("unseenwordzz 0 0 0 0 0 0 0 0 ", vectors);
    }

    [Fact]
    public void SingleThread_IsDeterministic()
    {
        string a = fx.PathOf("det-a.txt"), b = fx.PathOf("det-b.txt");
        Assert.Equal(0, CliFixture.Run("train", Corpus(), "--out", a, "--epochs", "1", "--dims", "8", "--threads", "1", "--seed", "7").Code);
        Assert.Equal(0, CliFixture.Run("train", Corpus(), "--out", b, "--epochs", "1", "--dims", "8", "--threads", "1", "--seed", "7").Code);
        Assert.Equal(File.ReadAllText(a), File.ReadAllText(b));
    }

    [Fact]
    public void Errors_AreOneLine_WithTheValidValues()
    {
        var (code, _, error) = CliFixture.Run("train", fx.PathOf("missing.txt"), "--out", fx.PathOf("x.bin"));
        Assert.Equal(1, code);
        Assert.Contains("no such file", error);
        (code, _, error) = CliFixture.Run("train", Corpus(), "--out", fx.PathOf("x.bin"), "--model", "bert");
        Assert.Equal(1, code);
        Assert.Contains("valid values are word2vec, fasttext, glove, nplm", error);
        (code, _, error) = CliFixture.Run("train", Corpus(), "--out", fx.PathOf("x.bin"), "--arch", "tree");
        Assert.Equal(1, code);
        Assert.Contains("valid values are skipgram, cbow", error);
        (code, _, _) = CliFixture.Run("train", Corpus());
        Assert.NotEqual(0, code); // --out is required
    }
}

public sealed class TrainCancellationTests(CliFixture fx) : IClassFixture<CliFixture>
{
    [Fact]
    public void CancellingTraining_StillWritesAUsableTable()
    {
        string corpus = Path.Combine(CliFixture.RepoRoot, "data", "quickstart", "corpus.txt.gz");
        string output = fx.PathOf("cancelled.txt");
        var console = new EmbedSharp.Cli.Output.BufferConsole();
        // Cancel once training has really started (a fixed delay fails on a loaded machine, where counting
        // the vocabulary alone can take longer than the delay).
        using var cts = new CancellationTokenSource();
        var settings = new Commands.TrainCommand.Settings(corpus, output, "word2vec", "skipgram", 16, 5, 5, false, 5, 50, 1, 1, 3, 6, 1000, null);
        int code = Commands.TrainCommand.Run(console, settings, cts.Token, fraction =>
        {
            if (fraction > 0.02)
                cts.Cancel();
        });
        Assert.Equal(0, code);
        Assert.Contains("stopped early (Ctrl-C); saved what was learned", console.OutText);
        var (c2, text, _) = CliFixture.Run("neighbors", output, "king", "--top", "3");
        Assert.Equal(0, c2);
        Assert.Contains("1", text);
    }
}
