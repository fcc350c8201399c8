using System.Globalization;
using System.Text.Json;

namespace EmbedSharp.Cli.Tests;

[Collection(nameof(ModelTrainingCollection))]
public sealed class TabularCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("es-tab-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Click = 1 exactly for the "blue" and "teal" colours; x is noise.</summary>
    private string Write(string name, int rows, int seed)
    {
        var rng = new Random(seed);
        string[] colours = ["red", "blue", "green", "teal", "grey"];
        var lines = new List<string> { "colour,x,click" };
        for (int r = 0; r < rows; r++)
        {
            string c = colours[rng.Next(colours.Length)];
            lines.Add($"{c},{rng.NextDouble().ToString("F3", CultureInfo.InvariantCulture)},{(c is "blue" or "teal" ? 1 : 0)}");
        }
        string path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void TrainEvaluateExport_RoundTrip()
    {
        string train = Write("train.csv", 600, 1), test = Write("test.csv", 200, 2);
        string model = Path.Combine(_dir, "m.tab"), tables = Path.Combine(_dir, "tables");
        var (code, output, error) = CliFixture.Run("tabular", "train", train, "--target", "click", "--epochs", "20", "--hidden", "16", "--lr", "0.01",
            "--out", model, "--test", test, "--export", tables, "--json");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        using (var doc = JsonDocument.Parse(output))
        {
            Assert.Equal("binary", doc.RootElement.GetProperty("task").GetString());
            Assert.True(doc.RootElement.GetProperty("accuracy").GetDouble() > 0.95);
        }
        Assert.True(File.Exists(Path.Combine(tables, "colour.csv")));
        string[] vec = File.ReadAllLines(Path.Combine(tables, "colour.vec"));
        Assert.StartsWith("6 ", vec[0]);
        Assert.True(File.Exists(Path.Combine(tables, "colour.safetensors")));
        var (vcode, vout, _) = CliFixture.Run("inspect", Path.Combine(tables, "colour.safetensors"));
        Assert.Equal(0, vcode);
        Assert.Contains("6", vout);
        (code, output, _) = CliFixture.Run("tabular", "evaluate", model, "--test", test, "--json");
        Assert.Equal(0, code);
        using var again = JsonDocument.Parse(output);
        Assert.True(again.RootElement.GetProperty("auc").GetDouble() > 0.95);
    }

    [Fact]
    public void BadInput_OneLineErrors()
    {
        string bad = Path.Combine(_dir, "bad.csv");
        File.WriteAllLines(bad, ["a,b", "1,2", "3"]);
        var (code, _, error) = CliFixture.Run("tabular", "train", bad, "--target", "b", "--out", Path.Combine(_dir, "x.tab"));
        Assert.Equal(1, code);
        Assert.Equal($"error: [csv.read] {bad} line 3 column 2: the row has 1 fields but the header has 2", error.Trim());
        string ok = Write("ok.csv", 20, 3);
        (code, _, error) = CliFixture.Run("tabular", "train", ok, "--target", "nope", "--out", Path.Combine(_dir, "x.tab"));
        Assert.Equal(1, code);
        Assert.Contains("no column named 'nope'", error);
        (code, _, error) = CliFixture.Run("tabular", "train", ok, "--target", "click", "--dims-rule", "cube", "--out", Path.Combine(_dir, "x.tab"));
        Assert.Equal(1, code);
        Assert.Contains("valid values are fastai, sqrt, fourth-root", error);
    }
}
