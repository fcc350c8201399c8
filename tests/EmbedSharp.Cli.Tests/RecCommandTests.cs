using System.Text.Json;

namespace EmbedSharp.Cli.Tests;

/// <summary>
/// The model-training CLI tests run alone, after the parallel ones: they keep both cores busy, and
/// TrainCancellationTests cancels after a fixed 1.5 s that must fall inside its training.
/// </summary>
[CollectionDefinition(nameof(ModelTrainingCollection), DisableParallelization = true)]
public sealed class ModelTrainingCollection;

[Collection(nameof(ModelTrainingCollection))]
public sealed class RecCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("es-rec-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Two taste groups: users 1–20 rate items 1–10 high and 11–20 low; users 21–40 the reverse.</summary>
    private (string Train, string Test) Ratings()
    {
        var train = new List<string>();
        var test = new List<string>();
        for (int u = 1; u <= 40; u++)
            for (int i = 1; i <= 20; i++)
            {
                bool likes = (u <= 20) == (i <= 10);
                string line = $"{u}\t{i}\t{(likes ? 5 : 1)}\t{u * 100 + i}";
                ((u + i) % 4 == 0 ? test : train).Add(line);
            }
        string a = Path.Combine(_dir, "train.tsv"), b = Path.Combine(_dir, "test.tsv");
        File.WriteAllLines(a, train);
        File.WriteAllLines(b, test);
        return (a, b);
    }

    [Fact]
    public void TrainEvaluatePredictRecommend_RoundTrip()
    {
        var (train, test) = Ratings();
        string model = Path.Combine(_dir, "out", "mf.rec");
        var (code, output, error) = CliFixture.Run("rec", "train", train, "--model", "mf", "--factors", "4", "--epochs", "80", "--out", model, "--test", test, "--json");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.True(File.Exists(model));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(model)!, "*.tmp-*"));
        (code, output, _) = CliFixture.Run("rec", "evaluate", model, "--test", test, "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        double rmse = doc.RootElement.GetProperty("rmse").GetDouble();
        Assert.True(rmse < 1.0, $"rmse {rmse}");
        Assert.Equal(200, doc.RootElement.GetProperty("ratings").GetInt32());
        Assert.True(doc.RootElement.TryGetProperty("hr_at_10", out _));

        (code, output, _) = CliFixture.Run("rec", "predict", model, "--pairs", test);
        Assert.Equal(0, code);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(200, lines.Length);
        Assert.Matches(@"^\d+\t\d+\t[0-9.]+$", lines[0]);

        (code, output, _) = CliFixture.Run("rec", "recommend", model, "1", "--k", "2");
        Assert.Equal(0, code);
        // User 1 likes items 1–10 and has not seen 3 and 7: those come first.
        Assert.All(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.InRange(int.Parse(l.Split('\t')[0]), 1, 10));

        (code, output, _) = CliFixture.Run("rec", "recommend", model, "--like", "11,12,13", "--k", "3", "--json");
        Assert.Equal(0, code);
        Assert.All(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.InRange(JsonDocument.Parse(l).RootElement.GetProperty("item").GetInt32(), 14, 20));
    }

    [Fact]
    public void BadInput_GetsOneLineErrorsNamingFileLineAndColumn()
    {
        var (train, _) = Ratings();
        string bad = Path.Combine(_dir, "bad.tsv");
        File.WriteAllLines(bad, ["1\t2\t4\t0", "1\t3\t9\t0"]);
        var (code, _, error) = CliFixture.Run("rec", "train", bad, "--out", Path.Combine(_dir, "x.rec"));
        Assert.Equal(1, code);
        Assert.Equal($"error: [movielens.ratings] {bad} line 2 column 3: rating 9 is outside 1..5", error.Trim());

        string model = Path.Combine(_dir, "bpr.rec");
        (code, _, error) = CliFixture.Run("rec", "train", train, "--model", "bpr", "--factors", "4", "--epochs", "2", "--out", model);
        Assert.Equal(0, code);
        (code, _, error) = CliFixture.Run("rec", "recommend", model, "777");
        Assert.Equal(1, code);
        Assert.StartsWith("error: [rec recommend] user 777 is not in", error);
        (code, _, error) = CliFixture.Run("rec", "train", train, "--model", "nope", "--out", model);
        Assert.Equal(1, code);
        Assert.Contains("valid values are mf, svdpp, als, ials, bpr, two-tower", error);
        File.WriteAllText(Path.Combine(_dir, "junk.rec"), "not a model at all, just some text that is long enough to read a header from it");
        (code, _, error) = CliFixture.Run("rec", "evaluate", Path.Combine(_dir, "junk.rec"), "--test", train);
        Assert.Equal(1, code);
        Assert.Contains("magic", error);
    }
    /// <summary>Side files for the 40 users and 20 movies of <see cref="Ratings"/>: the taste group shows in the occupation and the genre.</summary>
    private (string Users, string Items) SideFiles()
    {
        string users = Path.Combine(_dir, "u.user"), items = Path.Combine(_dir, "u.item");
        File.WriteAllLines(users, Enumerable.Range(1, 40).Select(u => $"{u}|{20 + u}|{(u % 2 == 0 ? "M" : "F")}|{(u <= 20 ? "artist" : "engineer")}|{55400 + u}"));
        File.WriteAllLines(items, Enumerable.Range(1, 20).Select(i =>
            $"{i}|Movie {i} (19{70 + i})|01-Jan-19{70 + i}||http://x|" + string.Join("|", Enumerable.Range(0, 19).Select(g => g == (i <= 10 ? 1 : 5) ? "1" : "0"))));
        return (users, items);
    }

    [Fact]
    public void Dlrm_TrainEvaluatePredict_WithSideFilesAndEarlyStopping()
    {
        var (train, test) = Ratings();
        var (users, items) = SideFiles();
        string model = Path.Combine(_dir, "dlrm.rec");
        var (code, output, error) = CliFixture.Run("rec", "train", train, "--model", "dlrm", "--users", users, "--items", items, "--factors", "4",
            "--epochs", "30", "--patience", "3", "--lr", "0.01", "--test", test, "--out", model, "--json");
        Assert.True(code == 0, error);
        using (var doc = JsonDocument.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]))
        {
            var root = doc.RootElement;
            Assert.Equal("click = rating >= 4", root.GetProperty("target").GetString());
            Assert.InRange(root.GetProperty("best_epoch").GetInt32(), 1, root.GetProperty("epochs_run").GetInt32());
            Assert.True(root.TryGetProperty("validation_auc", out _));
            Assert.Equal(600, root.GetProperty("interactions").GetInt32());
            Assert.Equal(200, root.GetProperty("ratings").GetInt32());
        }
        (code, output, error) = CliFixture.Run("rec", "evaluate", model, "--test", test, "--json");
        Assert.True(code == 0, error);
        using (var doc = JsonDocument.Parse(output))
        {
            double auc = doc.RootElement.GetProperty("auc").GetDouble();
            Assert.True(auc > 0.9, $"auc {auc}");
            Assert.Equal(200, doc.RootElement.GetProperty("ratings").GetInt32());
            Assert.Equal(100, doc.RootElement.GetProperty("clicks").GetInt32());
        }
        (code, output, _) = CliFixture.Run("rec", "predict", model, "--pairs", test);
        Assert.Equal(0, code);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(200, lines.Length);
        Assert.All(lines, l => Assert.InRange(double.Parse(l.Split('\t')[2], System.Globalization.CultureInfo.InvariantCulture), 0, 1));
        (code, _, error) = CliFixture.Run("rec", "recommend", model, "1");
        Assert.Equal(1, code);
        Assert.StartsWith("error: [rec recommend]", error);
        Assert.Contains("rec predict", error);
    }

    [Fact]
    public void Dlrm_BadSideInput_GetsOneLineErrors()
    {
        var (train, _) = Ratings();
        var (users, items) = SideFiles();
        string model = Path.Combine(_dir, "dlrm.rec");
        var (code, _, error) = CliFixture.Run("rec", "train", train, "--model", "dlrm", "--out", model);
        Assert.Equal(1, code);
        Assert.StartsWith("error: [rec train] --model dlrm needs the side files: --users FILE", error);
        string badItems = Path.Combine(_dir, "bad.item");
        File.WriteAllLines(badItems, [File.ReadLines(items).First(), "2|Movie|01-Jan-1990||u|" + string.Join("|", Enumerable.Repeat("2", 19))]);
        (code, _, error) = CliFixture.Run("rec", "train", train, "--model", "dlrm", "--users", users, "--items", badItems, "--out", model);
        Assert.Equal(1, code);
        Assert.Equal($"error: [movielens.items] {badItems} line 2 column 6: genre flag '2' is not 0 or 1", error.Trim());
        string fewUsers = Path.Combine(_dir, "few.user");
        File.WriteAllLines(fewUsers, File.ReadLines(users).Skip(1));
        (code, _, error) = CliFixture.Run("rec", "train", train, "--model", "dlrm", "--users", fewUsers, "--items", items, "--out", model);
        Assert.Equal(1, code);
        Assert.Contains("user 1 of rating", error);
        Assert.Contains(fewUsers, error);
        (code, _, error) = CliFixture.Run("rec", "train", train, "--model", "mf", "--users", users, "--out", model);
        Assert.Equal(1, code);
        Assert.Contains("--users and --items are side files for --model dlrm and bmf only", error);
        (code, _, error) = CliFixture.Run("rec", "train", train, "--model", "mf", "--recency-boost", "5", "--out", model);
        Assert.Equal(1, code);
        Assert.Contains("--recency-boost weights implicit ALS's confidences and BPR's pairs", error);
        (code, _, error) = CliFixture.Run("rec", "train", train, "--model", "ials", "--recency-boost", "5", "--recency-half-life", "0", "--out", model);
        Assert.Equal(1, code);
        Assert.StartsWith("error: [rec train] --recency-boost and --recency-half-life must be finite and > 0", error);
        (code, _, error) = CliFixture.Run("rec", "train", train, "--model", "ials", "--factors", "4", "--epochs", "3", "--recency-boost", "5", "--out", model);
        Assert.True(code == 0, error);
    }

    [Fact]
    public void Bmf_TrainsWithSideFilesAndImplicitPairs_EvaluatesAndRejectsMisplacedOptions()
    {
        var (train, test) = Ratings();
        var (users, items) = SideFiles();
        string model = Path.Combine(_dir, "bmf.rec");
        var (code, output, error) = CliFixture.Run("rec", "train", train, "--model", "bmf", "--factors", "3", "--epochs", "60", "--burn-in", "20", "--samples", "10",
            "--implicit-feedback", "--item-implicit-feedback", "--implicit-pairs", test, "--users", users, "--items", items, "--out", model, "--json");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        (code, output, _) = CliFixture.Run("rec", "evaluate", model, "--test", test, "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        double rmse = doc.RootElement.GetProperty("rmse").GetDouble();
        Assert.True(rmse < 1.0, $"rmse {rmse}");
        (code, _, error) = CliFixture.Run("rec", "train", train, "--model", "mf", "--samples", "5", "--out", Path.Combine(_dir, "x.rec"));
        Assert.Equal(1, code);
        Assert.Contains("for --model bmf only", error);
        (code, _, error) = CliFixture.Run("rec", "train", train, "--model", "bmf", "--implicit-pairs", test, "--out", Path.Combine(_dir, "x.rec"));
        Assert.Equal(1, code);
        Assert.Contains("give --implicit-feedback or --item-implicit-feedback too", error);
        (code, _, error) = CliFixture.Run("rec", "train", train, "--model", "bmf", "--epochs", "10", "--out", Path.Combine(_dir, "x.rec"));
        Assert.Equal(1, code);
        Assert.Contains("Epochs must be ≥ BurnIn + Samples", error);
    }
}
