using System.Text.Json;

namespace EmbedSharp.Cli.Tests;

public sealed class QueryCommandTests(CliFixture fx) : IClassFixture<CliFixture>
{
    [Fact]
    public void Vector_MatchesFastTextPrintWordVectors_ByteForByte_IncludingUnknownWords()
    {
        string data = Path.Combine(CliFixture.RepoRoot, "tests", "Data", "fasttext");
        string queries = File.ReadAllText(Path.Combine(data, "queries.txt"));
        string expected = File.ReadAllText(Path.Combine(data, "tiny-skipgram.print-word-vectors.txt"));
        var (code, output, error) = CliFixture.RunWithInput(queries, "vector", CliFixture.FastTextBin);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Equal(expected, output);
    }

    [Fact]
    public void Vector_WordsAsArguments_UnknownWordsGetZerosWithoutSubwords()
    {
        var (code, output, _) = CliFixture.Run("vector", fx.Word2VecText, "king", "nosuchword");
        Assert.Equal(0, code);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("king 0.94 1.01 ", lines[0]);
        Assert.Equal("nosuchword " + string.Concat(Enumerable.Repeat("0 ", 64)), lines[1]);
    }

    [Fact]
    public void Neighbors_RankTheSameClusterFirst_TableAndJson()
    {
        var (code, output, _) = CliFixture.Run("neighbors", fx.Word2VecText, "king", "--top", "2");
        Assert.Equal(0, code);
        Assert.Contains("queen", output);
        Assert.Contains("prince", output);
        Assert.DoesNotContain("apple", output);

        (code, output, _) = CliFixture.Run("neighbors", fx.Word2VecText, "apple", "--top", "2", "--json");
        Assert.Equal(0, code);
        var words = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("word").GetString()).ToArray();
        Assert.Equal(2, words.Length);
        Assert.All(words, w => Assert.Contains(w, new[] { "pear", "plum" }));
    }

    [Fact]
    public void Analogy_And_Similarity()
    {
        var (code, output, _) = CliFixture.Run("analogy", fx.Word2VecText, "king", "queen", "apple", "--top", "1", "--json");
        Assert.Equal(0, code);
        Assert.Contains(JsonDocument.Parse(output.Trim()).RootElement.GetProperty("word").GetString(), new[] { "pear", "plum" });

        (code, output, _) = CliFixture.Run("similarity", fx.Word2VecText, "pear", "plum", "--json");
        Assert.Equal(0, code);
        Assert.True(JsonDocument.Parse(output.Trim()).RootElement.GetProperty("cosine").GetDouble() > 0.99);
    }

    [Fact]
    public void Evaluate_ReportsAccuracyAndCorrelation()
    {
        var (code, output, error) = CliFixture.Run("evaluate", fx.Word2VecText, "--analogies", fx.Analogies, "--pairs", fx.Pairs, "--json");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal("analogy", lines[0].GetProperty("task").GetString());
        Assert.Equal(4, lines[0].GetProperty("questions").GetInt32());
        Assert.Equal("pairs", lines[1].GetProperty("task").GetString());
        Assert.Equal(4, lines[1].GetProperty("pairs").GetInt32());
        Assert.True(lines[1].GetProperty("pearson").GetDouble() > 0.9);
        Assert.True(lines[1].GetProperty("spearman").GetDouble() > 0.5);
    }

    [Fact]
    public void Inspect_DescribesTheFile()
    {
        var (code, output, _) = CliFixture.Run("inspect", fx.Word2VecText, "--json");
        Assert.Equal(0, code);
        var o = JsonDocument.Parse(output.Trim()).RootElement;
        Assert.Equal("word2vec", o.GetProperty("format").GetString());
        Assert.Equal(6, o.GetProperty("num_embeddings").GetInt32());
        Assert.Equal(64, o.GetProperty("dims").GetInt32());
        (code, output, _) = CliFixture.Run("inspect", CliFixture.FastTextBin);
        Assert.Equal(0, code);
        Assert.Contains("fasttext-bin", output);
        Assert.Contains("minn", output);
    }

    [Fact]
    public void Convert_ThenQuery_TheConvertedFile()
    {
        string st = fx.PathOf("tiny.safetensors");
        var (code, output, _) = CliFixture.Run("convert", fx.Word2VecText, st);
        Assert.Equal(0, code);
        Assert.Contains("converted 6 × 64 from word2vec to safetensors", output);
        string bin = fx.PathOf("tiny.bin");
        Assert.Equal(0, CliFixture.Run("convert", st, bin, "--to", "word2vec-binary").Code);
        var (c1, v1, _) = CliFixture.Run("vector", fx.Word2VecText, "plum");
        var (c2, v2, _) = CliFixture.Run("vector", bin, "plum");
        Assert.Equal(0, c1 + c2);
        Assert.Equal(v1, v2);
    }

    [Fact]
    public void Quantize_WritesAnMlxCheckpoint_ThatInspectReads()
    {
        string outDir = fx.PathOf("q4");
        var (code, output, error) = CliFixture.Run("quantize", fx.Word2VecText, outDir, "--bits", "4", "--group-size", "32", "--json");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        var o = JsonDocument.Parse(output.Trim()).RootElement;
        Assert.Equal(4, o.GetProperty("bits").GetInt32());
        Assert.Equal(6 * 64 * 4, o.GetProperty("bytes_before").GetInt64());
        Assert.True(o.GetProperty("mean_cosine").GetDouble() > 0.99);
        Assert.True(File.Exists(Path.Combine(outDir, "config.json")));
        Assert.Contains("\"bits\": 4", File.ReadAllText(Path.Combine(outDir, "config.json")).Replace("\"bits\":4", "\"bits\": 4"));

        (code, output, _) = CliFixture.Run("inspect", outDir);
        Assert.Equal(0, code);
        Assert.Contains("embed_tokens.weight", output);
        Assert.Contains("affine 4-bit, group 32", output);
    }

    [Fact]
    public void Plot_WritesAPng()
    {
        string png = fx.PathOf("map.png");
        var (code, _, error) = CliFixture.Run("plot", fx.Word2VecText, "king", "queen", "apple", "pear", "--out", png);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        byte[] head = File.ReadAllBytes(png)[..8];
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, head);
    }

    [Theory]
    [InlineData("neighbors", "{missing}", "king")]
    [InlineData("vector", "{missing}")]
    [InlineData("inspect", "{missing}")]
    public void MissingFile_IsOneLine_ExitCode1(params string[] args)
    {
        string missing = fx.PathOf("nope.txt");
        var (code, output, error) = CliFixture.Run(args.Select(a => a.Replace("{missing}", missing)).ToArray());
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Equal($"error: [{args[0]}] no such file: {missing}\n", error);
    }

    [Fact]
    public void ErrorPaths_SayWhatToDoNext()
    {
        var (code, _, error) = CliFixture.Run("neighbors", fx.Word2VecText, "zzz");
        Assert.Equal(1, code);
        Assert.Contains("'zzz' is not in the vocabulary", error);

        (code, _, error) = CliFixture.Run("vector", fx.Word2VecText, "king", "--format", "word2vec-binary");
        Assert.Equal(1, code);
        Assert.Contains("looks like word2vec, not word2vec-binary; drop --format", error);

        (code, _, error) = CliFixture.Run("vector", fx.Word2VecText, "--format", "nosuch");
        Assert.Equal(1, code);
        Assert.Contains("unknown format 'nosuch'; valid formats are", error);

        (code, _, error) = CliFixture.Run("quantize", fx.Word2VecText, fx.PathOf("bad"), "--group-size", "48");
        Assert.Equal(1, code);
        Assert.StartsWith("error: [quantize]", error);

        (code, _, error) = CliFixture.Run("quantize", fx.Word2VecText, fx.PathOf("bad2"), "--mode", "int3");
        Assert.Equal(1, code);
        Assert.Contains("int3", error);

        (code, _, error) = CliFixture.Run("plot", fx.Word2VecText, "king", "queen", "--out", fx.PathOf("map.gif"));
        Assert.Equal(1, code);
        Assert.Contains("use a .png or .svg path", error);

        (code, _, error) = CliFixture.Run("evaluate", fx.Word2VecText);
        Assert.Equal(1, code);
        Assert.Contains("give at least one --analogies or --pairs file", error);

        string garbage = fx.PathOf("garbage.txt");
        File.WriteAllBytes(garbage, [0x00, 0xFF, 0x13, 0x37, 0x00, 0x01]);
        (code, _, error) = CliFixture.Run("inspect", garbage);
        Assert.Equal(1, code);
        Assert.StartsWith("error: ", error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public void EveryCommand_HasHelpWithAnExample()
    {
        foreach (string command in new[] { "quickstart", "train", "convert", "quantize", "inspect", "vector", "neighbors", "analogy", "similarity", "evaluate", "plot", "bench" })
        {
            var (code, output, _) = CliFixture.Run(command, "--help");
            Assert.Equal(0, code);
            Assert.Contains("Example", output);
        }
    }
}
