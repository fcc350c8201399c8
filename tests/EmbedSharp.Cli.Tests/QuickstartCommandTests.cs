using System.Globalization;
using System.Text.RegularExpressions;

namespace EmbedSharp.Cli.Tests;

public sealed class QuickstartCommandTests(CliFixture fx) : IClassFixture<CliFixture>
{
    [Fact]
    public void Quickstart_TrainsEvaluatesQuantizesAndWritesEverything()
    {
        string outDir = fx.PathOf("qs");
        string data = Path.Combine(CliFixture.RepoRoot, "data", "quickstart");
        var (code, output, error) = CliFixture.Run("quickstart", "--out", outDir, "--data", data, "--epochs", "1", "--dims", "32", "--threads", "2");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Matches(@"trained [\d,]+ words", output);
        foreach (string side in new[] { "float32", "8-bit (g32)", "4-bit (g32)" })
            Assert.Contains(side, output);
        Assert.Contains("nearest neighbours", output);
        Assert.Contains("times in corpus", output);
        // Every score comes with its coverage: analogy questions and WS-353 pairs covered of all.
        var cells = Regex.Matches(output, @"(\d\.\d{3}) \(([\d,]+) of ([\d,]+)\)").Select(m => (
            Score: double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
            Covered: int.Parse(m.Groups[2].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture),
            Total: int.Parse(m.Groups[3].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture))).ToArray();
        Assert.Equal(8, cells.Length);   // float32, 8-bit, 4-bit and the gensim baseline, two tests each
        Assert.All(cells.Where((_, i) => i % 2 == 0), c => Assert.Equal(19_544, c.Total));
        Assert.All(cells.Where((_, i) => i % 2 == 1), c => Assert.Equal(353, c.Total));
        Assert.All(cells, c => Assert.InRange(c.Covered, 1, c.Total - 1));
        Assert.Contains("gensim", output);
        // Neighbour overlap with float32: 8-bit keeps nearly all, 4-bit fewer, both as percentages.
        double[] overlap = Regex.Matches(output, @"(\d+\.\d) %").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(2, overlap.Length);
        Assert.InRange(overlap[0], 80, 100);
        Assert.True(overlap[1] <= overlap[0]);
        Assert.Matches(@"mean loss per epoch \d\.\d{3}", output);
        Assert.Contains("reading the scores", output);
        foreach (string f in new[] { "vectors.safetensors", "vectors.safetensors.vocab", "vectors.txt", "map.png", "loss.png", Path.Combine("mlx-4bit", "config.json") })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f + " missing");
        Assert.Matches(@"quickstart took [\d.]+ s", output);
    }

    [Fact]
    public void Quickstart_WithoutData_SaysWhatToDo()
    {
        var (code, _, error) = CliFixture.Run("quickstart", "--data", fx.PathOf("nowhere"), "--out", fx.PathOf("qs2"));
        Assert.Equal(1, code);
        Assert.Contains("pass --data with the folder that holds the quick-start files", error);
    }

    [Theory]
    [InlineData("--epochs", "0")]
    [InlineData("--dims", "0")]
    [InlineData("--threads", "0")]
    public void BadOptionValues_AreOneLineErrors(string option, string value)
    {
        var (code, _, error) = CliFixture.Run("quickstart", option, value);
        Assert.Equal(1, code);
        Assert.Equal($"error: [quickstart] {option} must be ≥ 1\n", error);
    }

    [Fact]
    public void DimsThatCannotBeQuantized_AreRefusedBeforeTraining()
    {
        var (code, output, error) = CliFixture.Run("quickstart", "--dims", "48", "--out", fx.PathOf("qs3"));
        Assert.Equal(1, code);
        Assert.Equal("error: [quickstart] --dims 48 must be a multiple of 32 to quantize; try 64 or 128\n", error);
        Assert.Equal("", output);   // nothing trained, nothing written
    }

    [Fact]
    public void UnknownCommand_FailsWithUsage()
    {
        Assert.NotEqual(0, CliFixture.Run("no-such-command").Code);
    }
}
