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
        // The 4-bit table is about 1/8 of float32 plus scales and biases; its analogy accuracy is printed beside.
        double[] acc = Regex.Matches(output, @"(\d\.\d{3}) \([\d,]+ q\.\)").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(3, acc.Length);
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
    public void UnknownCommand_FailsWithUsage()
    {
        Assert.NotEqual(0, CliFixture.Run("no-such-command").Code);
    }
}
