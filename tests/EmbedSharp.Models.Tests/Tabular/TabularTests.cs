using System.Globalization;
using EmbedSharp.Models.Data;
using EmbedSharp.Models.Tabular;
using EmbedSharp.Numerics;

namespace EmbedSharp.Models.Tests.Tabular;

public sealed class TabularTests
{
    /// <summary>
    /// Planted table: city (12 values, each with its own effect), colour (3 values, no effect), x
    /// (continuous, slope 2); y = effect[city] + 2x + small noise; click = 1 when effect[city] &gt; 0.
    /// </summary>
    private static CsvTable Planted(int rows, ulong seed)
    {
        var rng = new SeededRandom(seed);
        double[] effect = [.. Enumerable.Range(0, 12).Select(i => (i % 2 == 0 ? 1.0 : -1.0) * (1 + i / 6.0))];
        var data = new List<string[]>();
        for (int r = 0; r < rows; r++)
        {
            int city = rng.NextInt(12);
            double x = rng.NextNormal();
            double y = effect[city] + 2 * x + 0.05 * rng.NextNormal();
            data.Add([$"c{city}", rng.NextInt(3) switch { 0 => "red", 1 => "green", _ => "blue" },
                x.ToString("R", CultureInfo.InvariantCulture), y.ToString("R", CultureInfo.InvariantCulture), effect[city] > 0 ? "yes" : "no"]);
        }
        return new CsvTable(["city", "colour", "x", "y", "click"], data);
    }

    [Fact]
    public void Regression_LearnsPlantedCategoryEffectsAndSlope()
    {
        var train = Planted(2000, 1);
        var test = Planted(400, 2);
        using var model = TabularModel.Train(train, new TabularOptions { Target = "y", Ignore = ["click"], Epochs = 30, Hidden = [32], LearningRate = 0.01, BatchSize = 64 });
        Assert.Equal(TabularTask.Regression, model.Task);
        Assert.Equal(["city", "colour"], model.CategoricalColumns);
        Assert.Equal(["x"], model.ContinuousColumns);
        var report = model.Evaluate(test);
        double std = Math.Sqrt(test.Rows.Select(r => double.Parse(r[3], CultureInfo.InvariantCulture)).Select(v => v * v).Average());
        Assert.True(report.Rmse < 0.15 * std, $"RMSE {report.Rmse:F3} vs target scale {std:F3}");
        Assert.Equal(0, report.UnknownCategories);
    }

    [Theory]
    [InlineData(CategoricalEncoding.Embedding)]
    [InlineData(CategoricalEncoding.OneHot)]
    public void Binary_LearnsWhichCategoriesClickAndHandlesUnknownValues(CategoricalEncoding encoding)
    {
        var train = Planted(1500, 3);
        using var model = TabularModel.Train(train, new TabularOptions { Target = "click", Ignore = ["y"], Epochs = 15, Hidden = [16], LearningRate = 0.01, Encoding = encoding, BatchSize = 64 });
        Assert.Equal(TabularTask.Binary, model.Task);
        Assert.Equal(["no", "yes"], model.ClassLabels);
        var report = model.Evaluate(Planted(300, 4));
        Assert.True(report.Accuracy > 0.97, $"accuracy {report.Accuracy:F3}");
        Assert.True(report.Auc > 0.99, $"AUC {report.Auc:F3}");
        // An unseen city falls to the unknown row and still gets a probability.
        var unseen = new CsvTable(["city", "colour", "x", "y", "click"], [["atlantis", "red", "0.5", "0", "no"]]);
        float p = model.Predict(unseen)[0];
        Assert.InRange(p, 0f, 1f);
        Assert.Equal(1, model.Evaluate(unseen).UnknownCategories);
    }

    [Fact]
    public void EmbeddingWidthsFollowTheRules()
    {
        Assert.Equal(6, TabularOptions.EmbeddingDims(EmbeddingSizeRule.FastAi, 10));
        Assert.Equal(68, TabularOptions.EmbeddingDims(EmbeddingSizeRule.FastAi, 800));
        Assert.Equal(600, TabularOptions.EmbeddingDims(EmbeddingSizeRule.FastAi, 10_000_000));
        Assert.Equal(4, TabularOptions.EmbeddingDims(EmbeddingSizeRule.SquareRoot, 10));
        Assert.Equal(2, TabularOptions.EmbeddingDims(EmbeddingSizeRule.FourthRoot, 10));
        using var model = TabularModel.Train(Planted(200, 5), new TabularOptions { Target = "y", Ignore = ["click"], Epochs = 1, SizeRule = EmbeddingSizeRule.SquareRoot });
        // city: 12 values + unknown = 13 rows → ceil(√13) = 4.
        Assert.Equal(4, model.EmbeddingDims[0]);
        var (vocab, rows, dims) = model.ExportEmbeddings("city");
        Assert.Equal("<unk>", vocab[0]);
        Assert.Equal(13, vocab.Length);
        Assert.Equal(13 * dims, rows.Length);
        var csv = new StringWriter();
        model.WriteEmbeddingsCsv("colour", csv);
        string[] lines = csv.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("value,d0,d1", lines[0].Trim());
        Assert.Equal(5, lines.Length);
        Assert.StartsWith("<unk>,", lines[1]);
        Assert.Throws<ArgumentException>(() => model.ExportEmbeddings("x"));
    }

    [Fact]
    public void SaveLoad_RoundTripsAndRejectsDamagedFiles()
    {
        var train = Planted(300, 6);
        using var model = TabularModel.Train(train, new TabularOptions { Target = "click", Ignore = ["y"], Epochs = 2 });
        var stream = new MemoryStream();
        model.Save(stream);
        byte[] bytes = stream.ToArray();
        using var loaded = TabularModel.Load(new MemoryStream(bytes));
        Assert.Equal(model.Predict(train), loaded.Predict(train));
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => TabularModel.Load(new MemoryStream(bytes[..^7]))).Message);
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => TabularModel.Load(new MemoryStream([1, 2, 3]))).Message);
        byte[] extra = [.. bytes, 0];
        Assert.Throws<InvalidDataException>(() => TabularModel.Load(new MemoryStream(extra)));
    }

    [Fact]
    public void Training_IsDeterministicForASeed()
    {
        var train = Planted(300, 7);
        var o = new TabularOptions { Target = "y", Ignore = ["click"], Epochs = 2, Dropout = 0.1f };
        using var a = TabularModel.Train(train, o);
        using var b = TabularModel.Train(train, o);
        Assert.Equal(a.Predict(train), b.Predict(train));
    }

    [Fact]
    public void Csv_ParsesQuotesAndNamesLineAndColumnOfErrors()
    {
        var t = CsvTable.Read(new StringReader("a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n\n2,z,w\n"), "t.csv");
        Assert.Equal(["a", "b", "c"], t.Header);
        Assert.Equal(["1", "x, y", "say \"hi\""], t.Rows[0]);
        Assert.Equal(2, t.Rows.Count);
        var ex = Assert.Throws<DataFormatException>(() => CsvTable.Read(new StringReader("a,b\n1,2\n3\n"), "t.csv"));
        Assert.Equal("[csv.read] t.csv line 3 column 2: the row has 1 fields but the header has 2", ex.Message);
        Assert.Throws<DataFormatException>(() => CsvTable.Read(new StringReader("a,b\n\"1,2\n"), "t.csv"));
        Assert.Throws<DataFormatException>(() => CsvTable.Read(new StringReader(""), "t.csv"));
        var noTarget = Assert.Throws<ArgumentException>(() => TabularModel.Train(t, new TabularOptions { Target = "zzz" }));
        Assert.Contains("no column named 'zzz'", noTarget.Message);
        var badNumber = new CsvTable(["x", "y"], [.. Enumerable.Range(0, 30).Select(i => new[] { i.ToString(CultureInfo.InvariantCulture), "1" }), ["oops", "2"]]);
        var bad = Assert.Throws<DataFormatException>(() => TabularModel.Train(badNumber, new TabularOptions { Target = "y", Continuous = ["x"] }));
        Assert.Contains("'oops' in continuous column 'x' is not a number", bad.Message);
    }
}
