using System.Text.Json;

namespace EmbedSharp.Cli.Tests;

public sealed class KgCommandTests(CliFixture fx) : IClassFixture<CliFixture>
{
    /// <summary>A tiny planted graph: a 12-cycle under "next" and its reverse under "prev", split into train/valid/test.</summary>
    private string Data()
    {
        string dir = fx.PathOf("kg");
        if (Directory.Exists(dir))
            return dir;
        Directory.CreateDirectory(dir);
        var all = new List<string>();
        for (int e = 0; e < 12; e++)
        {
            all.Add($"n{e}\tnext\tn{(e + 1) % 12}");
            all.Add($"n{(e + 1) % 12}\tprev\tn{e}");
        }
        File.WriteAllLines(Path.Combine(dir, "train.txt"), all.Where((_, i) => i % 8 != 3 && i % 8 != 7));
        File.WriteAllLines(Path.Combine(dir, "valid.txt"), all.Where((_, i) => i % 8 == 3));
        File.WriteAllLines(Path.Combine(dir, "test.txt"), all.Where((_, i) => i % 8 == 7));
        return dir;
    }

    [Fact]
    public void TrainEvaluatePredict_RoundTripThroughSafetensors()
    {
        string dir = Data();
        string model = fx.PathOf("kg-out/model.safetensors");
        string curve = fx.PathOf("kg-out/curve.csv");
        var (code, text, error) = CliFixture.Run("kg", "train", dir, "--model", "complex", "--dims", "8", "--epochs", "60", "--batch-size", "8", "--lr", "0.5",
            "--threads", "1", "--eval-every", "20", "--curve", curve, "--out", model);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("test (filtered", text);
        Assert.Equal(3, File.ReadAllLines(curve).Skip(1).Count(l => !l.EndsWith(','))); // valid MRR at epochs 20, 40, 60
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(curve)!, "*.tmp-*")); // the curve's rewrites after each evaluation leave no temp files
        // Training seconds never go backwards (an evaluation's own time is not taken off the epoch it follows).
        var seconds = File.ReadAllLines(curve).Skip(1).Select(l => double.Parse(l.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.True(seconds.Zip(seconds.Skip(1)).All(p => p.Second >= p.First), string.Join(", ", seconds));

        var (c2, json, e2) = CliFixture.Run("kg", "evaluate", model, "--test", Path.Combine(dir, "test.txt"), "--filter", Path.Combine(dir, "train.txt"), Path.Combine(dir, "valid.txt"), "--json");
        Assert.Equal("", e2);
        Assert.Equal(0, c2);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        foreach (string key in new[] { "mrr", "hits_at_1", "hits_at_3", "hits_at_10", "mr", "triples" })
            Assert.True(root.TryGetProperty(key, out _), key);
        Assert.Equal(3, root.GetProperty("triples").GetInt32());
        Assert.True(root.GetProperty("mrr").GetDouble() > 0.5, json);

        var (c3, predicted, e3) = CliFixture.Run("kg", "predict", model, "n3", "next", "--top", "1", "--json");
        Assert.Equal("", e3);
        Assert.Equal(0, c3);
        Assert.Contains("\"entity\":\"n4\"", predicted);
    }

    [Fact]
    public void ConfigFileSettingsApplyAndCommandLineWins()
    {
        string dir = Data();
        string config = fx.PathOf("kg-config.json");
        File.WriteAllText(config, """{"model": "distmult", "dims": 4, "epochs": 2, "reg_weight": 0.1}""");
        string model = fx.PathOf("kg-out/config.safetensors");
        var (code, text, error) = CliFixture.Run("kg", "train", dir, "--config", config, "--epochs", "1", "--threads", "1", "--out", model);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("training distmult: 4 dims, 1 epochs", text);
        File.WriteAllText(config, """{"model": "complex", "dimz": 4}""");
        var (bad, _, message) = CliFixture.Run("kg", "train", dir, "--config", config, "--out", model);
        Assert.Equal(1, bad);
        Assert.Contains("unknown setting 'dimz'", message);
    }

    [Fact]
    public void DropoutAndRelationPenaltySettingsReachTheSavedMetadataAndBadValuesAreRejected()
    {
        string dir = Data();
        string config = fx.PathOf("kg-dropout.json");
        File.WriteAllText(config, """{"model": "complex", "dims": 4, "epochs": 1, "entity_dropout": 0.25, "relation-reg-weight": 0.002}""");
        string model = fx.PathOf("kg-out/dropout.safetensors");
        var (code, _, error) = CliFixture.Run("kg", "train", dir, "--config", config, "--relation-dropout", "0.1", "--lr-decay", "cosine", "--threads", "1", "--out", model,
            "--eval-every", "1", "--plot", fx.PathOf("kg-out/dropout.png"), "--curve", fx.PathOf("kg-out/dropout.csv"));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        var bytes = File.ReadAllBytes(model);
        string header = System.Text.Encoding.UTF8.GetString(bytes.AsSpan(8, (int)BitConverter.ToUInt64(bytes, 0)));
        Assert.Contains("entity-dropout", header);
        Assert.Contains("0.25", header);
        Assert.Contains("0.002", header);
        Assert.Contains("cosine", header);
        Assert.True(new FileInfo(fx.PathOf("kg-out/dropout.png")).Length > 1000);
        Assert.Equal(2, File.ReadAllLines(fx.PathOf("kg-out/dropout.csv")).Length); // the header and epoch 1
        var (c0, _, e0) = CliFixture.Run("kg", "train", dir, "--lr-decay", "exponential", "--out", model);
        Assert.Equal(1, c0);
        Assert.StartsWith("error: [kg train] unknown lr-decay 'exponential'", e0);
        var (c1, _, e1) = CliFixture.Run("kg", "train", dir, "--entity-dropout", "1", "--out", model);
        Assert.Equal(1, c1);
        Assert.StartsWith("error: [kg train] --entity-dropout must be in [0, 1)", e1);
        var (c2, _, e2) = CliFixture.Run("kg", "train", dir, "--model", "transe", "--relation-dropout", "0.2", "--out", model);
        Assert.Equal(1, c2);
        Assert.Contains("1-N", e2);
        var (c3, _, e3) = CliFixture.Run("kg", "train", dir, "--relation-reg-weight", "-1", "--out", model);
        Assert.Equal(1, c3);
        Assert.Contains("--relation-reg-weight", e3);
    }

    [Fact]
    public void RotatEReferenceSettingsReachTheSavedMetadataAndBadValuesAreRejected()
    {
        string dir = Data();
        string config = fx.PathOf("kg-rotate-ref.json");
        File.WriteAllText(config, """{"model": "rotate", "dims": 4, "epochs": 2, "batch-size": 8, "negatives": 4, "relation_lr": 0.0375, "filter-negatives": true, "subsampling-weights": true, "alternate-sides": true, "lr-decay": "step", "final-lr-factor": 0.1}""");
        string model = fx.PathOf("kg-out/rotate-ref.safetensors");
        var (code, _, error) = CliFixture.Run("kg", "train", dir, "--config", config, "--threads", "1", "--out", model);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        var bytes = File.ReadAllBytes(model);
        string header = System.Text.Encoding.UTF8.GetString(bytes.AsSpan(8, (int)BitConverter.ToUInt64(bytes, 0)));
        foreach (string expected in new[] { "relation-lr", "0.0375", "filter-negatives", "subsampling-weights", "alternate-sides", "step" })
            Assert.Contains(expected, header);
        var (c1, _, e1) = CliFixture.Run("kg", "train", dir, "--model", "rotate", "--relation-lr", "0", "--out", model);
        Assert.Equal(1, c1);
        Assert.StartsWith("error: [kg train] --relation-lr must be a finite number > 0", e1);
        var (c2, _, e2) = CliFixture.Run("kg", "train", dir, "--model", "rotate", "--filter-negatives", "true", "--shared-negatives", "true", "--epochs", "1", "--out", model);
        Assert.Equal(1, c2);
        Assert.Contains("per-sample negatives", e2);
        var (c3, _, e3) = CliFixture.Run("kg", "train", dir, "--model", "complex", "--subsampling-weights", "true", "--epochs", "1", "--out", model);
        Assert.Equal(1, c3);
        Assert.Contains("negative sampling only", e3);
    }

    [Fact]
    public void BadInputsGiveOneLineErrors()
    {
        string dir = Data();
        string bad = fx.PathOf("kg-bad");
        Directory.CreateDirectory(bad);
        File.WriteAllText(Path.Combine(bad, "train.txt"), "a\tr\tb\na\tr\n");
        var (code, _, error) = CliFixture.Run("kg", "train", bad, "--out", fx.PathOf("kg-out/bad.safetensors"));
        Assert.Equal(1, code);
        Assert.StartsWith("error: [kg.read]", error);
        Assert.Contains("train.txt:2", error);

        var (c2, _, e2) = CliFixture.Run("kg", "evaluate", fx.Word2VecText, "--test", Path.Combine(dir, "test.txt"));
        Assert.Equal(1, c2);
        Assert.StartsWith("error:", e2);

        string model = fx.PathOf("kg-out/small.safetensors");
        Assert.Equal(0, CliFixture.Run("kg", "train", dir, "--model", "transe", "--dims", "4", "--epochs", "1", "--out", model).Code);
        string unknown = fx.PathOf("unknown.txt");
        File.WriteAllText(unknown, "n1\tnext\tn2\nn1\tnext\tmars\n");
        var (c3, _, e3) = CliFixture.Run("kg", "evaluate", model, "--test", unknown);
        Assert.Equal(1, c3);
        Assert.Contains("unknown.txt:2", e3);
        Assert.Contains("'mars'", e3);
        var (c4, _, e4) = CliFixture.Run("kg", "predict", model, "pluto", "next");
        Assert.Equal(1, c4);
        Assert.Contains("pluto", e4);
    }

    [Fact]
    public void Node2Vec_WritesEntityVectorsThatTheVectorCommandsRead()
    {
        string dir = Data();
        string output = fx.PathOf("kg-out/n2v.txt");
        var (code, text, error) = CliFixture.Run("kg", "node2vec", dir, "--p", "0.5", "--q", "2", "--walks", "4", "--walk-length", "10", "--dims", "8", "--threads", "1", "--out", output);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("12 entity vectors of 8 dims", text);
        var (c2, inspect, _) = CliFixture.Run("inspect", output, "--json");
        Assert.Equal(0, c2);
        Assert.Contains("\"dims\":8", inspect);
        Assert.Equal(1, CliFixture.Run("kg", "node2vec", dir, "--q", "0", "--out", output).Code);
    }

    [Fact]
    public void Sage_RanksValidEdges_AndTheShallowBaselineRunsTheSameWay()
    {
        string dir = Data();
        string output = fx.PathOf("kg-out/sage.npy");
        var (code, text, error) = CliFixture.Run("kg", "sage", dir, "--fan-outs", "3,2", "--dims", "8", "--hidden", "8", "--epochs", "3", "--batch-size", "4", "--threads", "1", "--json", "--out", output);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("\"model\":\"graphsage\"", text);
        Assert.Contains("\"valid_mrr\":", text);
        Assert.True(File.Exists(output));
        var (c2, shallow, _) = CliFixture.Run("kg", "sage", dir, "--fan-outs", "none", "--dims", "8", "--epochs", "3", "--json");
        Assert.Equal(0, c2);
        Assert.Contains("\"model\":\"shallow\"", shallow);
        var (c3, _, bad) = CliFixture.Run("kg", "sage", dir, "--fan-outs", "3,x");
        Assert.Equal(1, c3);
        Assert.Contains("error: [kg sage] --fan-outs '3,x'", bad);
    }

    [Fact]
    public void EveryKgCommand_HasHelpWithAnExample()
    {
        foreach (string command in new[] { "train", "evaluate", "predict", "node2vec", "sage" })
        {
            var (code, output, _) = CliFixture.Run("kg", command, "--help");
            Assert.Equal(0, code);
            Assert.Contains("Examples:", output);
            Assert.Contains("embedsharp kg " + command, output);
        }
        var (c, list, _) = CliFixture.Run("kg", "--help");
        Assert.Equal(0, c);
        Assert.DoesNotContain("embedsharp kg train ../shared", list); // the group's list keeps one line per command
    }
}
