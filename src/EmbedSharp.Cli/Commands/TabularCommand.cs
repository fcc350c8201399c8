using System.CommandLine;
using System.Globalization;
using System.Text;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Models.Recommenders;
using EmbedSharp.Models.Tabular;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp tabular train|evaluate</c>: entity embeddings for the categorical columns of a CSV.</summary>
internal static class TabularCommand
{
    public static Command Create(IConsole console)
    {
        var cmd = new Command("tabular", "Tabular models with entity embeddings: train on a CSV, evaluate, export the learned tables.\n\nExamples:\n  embedsharp tabular train users.csv --target rating --out model.tab --export tables/\n  embedsharp tabular evaluate model.tab --test test.csv --json");
        cmd.Subcommands.Add(Train(console));
        cmd.Subcommands.Add(Evaluate(console));
        return cmd;
    }

    private static Command Train(IConsole console)
    {
        var csv = new Argument<string>("csv") { Description = "Training data: a CSV with a header line." };
        var target = new Option<string>("--target") { Description = "The column to predict.", Required = true };
        var output = new Option<string>("--out") { Description = "Where to write the model.", Required = true };
        var test = new Option<string?>("--test") { Description = "A CSV to evaluate on after training." };
        var categorical = new Option<string?>("--categorical") { Description = "Columns to treat as categorical (comma-separated); others are inferred." };
        var continuous = new Option<string?>("--continuous") { Description = "Columns to treat as continuous (comma-separated); others are inferred." };
        var ignore = new Option<string?>("--ignore") { Description = "Columns to leave out (comma-separated)." };
        var task = new Option<string>("--task") { Description = "auto, regression, binary or multiclass.", DefaultValueFactory = _ => "auto" };
        var rule = new Option<string>("--dims-rule") { Description = "Embedding widths: fastai (min(600, round(1.6·n^0.56))), sqrt or fourth-root.", DefaultValueFactory = _ => "fastai" };
        var encoding = new Option<string>("--encoding") { Description = "embedding, or one-hot (the baseline).", DefaultValueFactory = _ => "embedding" };
        var hidden = new Option<string>("--hidden") { Description = "Hidden widths of the MLP head.", DefaultValueFactory = _ => "200,100" };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the data.", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch") { Description = "Rows per step.", DefaultValueFactory = _ => 256 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 1e-3 };
        var dropout = new Option<float>("--dropout") { Description = "Dropout after hidden layers." };
        var seed = new Option<ulong>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 42 };
        var export = new Option<string?>("--export") { Description = "A folder to write each categorical column's table to (COLUMN.csv, COLUMN.vec (word2vec text for `embedsharp plot`) and COLUMN.safetensors with its .vocab)." };
        var json = CommonOptions.Json();
        var cmd = new Command("train", "Train a tabular model (entity embeddings + MLP) on a CSV.\n\nExamples:\n  embedsharp tabular train users.csv --target occupation --out occ.tab\n  embedsharp tabular train ratings.csv --target click --categorical zip,occupation --test test.csv --out click.tab --export tables/")
        {
            csv, target, output, test, categorical, continuous, ignore, task, rule, encoding, hidden, epochs, batch, lr, dropout, seed, export, json,
        };
        cmd.SetAction((r, ct) => Task.FromResult(RunTrain(console, new Settings(r.GetValue(csv)!, r.GetValue(target)!, r.GetValue(output)!, r.GetValue(test),
            r.GetValue(categorical), r.GetValue(continuous), r.GetValue(ignore), r.GetValue(task)!, r.GetValue(rule)!, r.GetValue(encoding)!, r.GetValue(hidden)!,
            r.GetValue(epochs), r.GetValue(batch), r.GetValue(lr), r.GetValue(dropout), r.GetValue(seed), r.GetValue(export), r.GetValue(json)), ct)));
        return cmd;
    }

    internal sealed record Settings(string Csv, string Target, string Output, string? Test, string? Categorical, string? Continuous, string? Ignore,
        string Task, string Rule, string Encoding, string Hidden, int Epochs, int Batch, double LearningRate, float Dropout, ulong Seed, string? Export, bool Json);

    private static string[] List(string? text) => text is null ? [] : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static int RunTrain(IConsole console, Settings s, CancellationToken ct)
    {
        const string op = "tabular train";
        var task = s.Task switch
        {
            "auto" => TabularTask.Auto, "regression" => TabularTask.Regression, "binary" => TabularTask.Binary, "multiclass" => TabularTask.Multiclass,
            _ => throw new ArgumentException($"[{op}] unknown --task '{s.Task}'; valid values are auto, regression, binary, multiclass"),
        };
        var rule = s.Rule switch
        {
            "fastai" => EmbeddingSizeRule.FastAi, "sqrt" => EmbeddingSizeRule.SquareRoot, "fourth-root" => EmbeddingSizeRule.FourthRoot,
            _ => throw new ArgumentException($"[{op}] unknown --dims-rule '{s.Rule}'; valid values are fastai, sqrt, fourth-root"),
        };
        var encoding = s.Encoding switch
        {
            "embedding" => CategoricalEncoding.Embedding, "one-hot" => CategoricalEncoding.OneHot,
            _ => throw new ArgumentException($"[{op}] unknown --encoding '{s.Encoding}'; valid values are embedding, one-hot"),
        };
        var hidden = new List<int>();
        foreach (string h in List(s.Hidden))
            hidden.Add(int.TryParse(h, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0 ? v
                : throw new ArgumentException($"[{op}] --hidden: '{h}' is not a positive integer"));
        var options = new TabularOptions
        {
            Target = s.Target, Categorical = List(s.Categorical), Continuous = List(s.Continuous), Ignore = List(s.Ignore), Task = task, SizeRule = rule,
            Encoding = encoding, Hidden = hidden, Epochs = s.Epochs, BatchSize = s.Batch, LearningRate = s.LearningRate, Dropout = s.Dropout, Seed = s.Seed,
        };
        CsvTable train = ReadCsv(op, s.Csv);
        CsvTable? test = s.Test is null ? null : ReadCsv(op, s.Test);
        string output = OutputPaths.Prepare(s.Output);
        var r = new Renderer(console, s.Json);
        r.Line($"training a tabular model on {s.Csv}: {train.Rows.Count} rows, target '{s.Target}', {s.Epochs} epochs");
        using TabularModel model = r.Progress("tabular", report =>
        {
            try
            {
                return TabularModel.Train(train, options, new Progress(p => report((double)p.Epoch / p.Epochs)), ct);
            }
            catch (Diagnostics.NonFiniteException ex)
            {
                throw new InvalidOperationException(ex.Message, ex);
            }
        });
        RecCommand.SaveAtomically(output, model.Save);
        var fields = new Dictionary<string, object?>
        {
            ["out"] = s.Output, ["task"] = model.Task.ToString().ToLowerInvariant(), ["rows"] = train.Rows.Count,
            ["categorical"] = string.Join(",", model.CategoricalColumns.Select((c, k) => $"{c}:{model.Vocabularies[k].Length}x{model.EmbeddingDims[k]}")),
            ["continuous"] = string.Join(",", model.ContinuousColumns),
        };
        if (test is not null)
            AddReport(fields, model.Evaluate(test));
        if (s.Export is not null && model.Tables is not null)
        {
            Directory.CreateDirectory(s.Export);
            foreach (string column in model.CategoricalColumns)
            {
                string safe = string.Concat(column.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
                RecCommand.SaveAtomically(Path.Combine(s.Export, safe + ".csv"), stream =>
                {
                    using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
                    model.WriteEmbeddingsCsv(column, writer);
                });
                RecCommand.SaveAtomically(Path.Combine(s.Export, safe + ".vec"), stream => WriteVec(model, column, stream));
                var (vocab, rows, dims) = model.ExportEmbeddings(column);
                var table = new EmbedSharp.Tables.EmbeddingTable(vocab.Length, dims);
                table.CopyFrom(rows);
                // COLUMN.safetensors (tensor "embeddings") + COLUMN.safetensors.vocab, both written atomically.
                using var embeddings = new EmbedSharp.Formats.WordEmbeddings(vocab, table);
                EmbedSharp.Formats.Safetensors.SafetensorsFormat.Instance.Write(Path.Combine(s.Export, safe + ".safetensors"), embeddings);
            }
            fields["export"] = s.Export;
        }
        if (r.Json)
            r.JsonLine(fields);
        else
            foreach (var (key, value) in fields)
                r.Line($"{key}: {Convert.ToString(value, CultureInfo.InvariantCulture)}");
        return EmbedSharpCli.Ok;
    }

    /// <summary>word2vec text of one column's table (spaces in values become '_'), so `plot` and `neighbors` read it.</summary>
    private static void WriteVec(TabularModel model, string column, Stream stream)
    {
        var (vocab, rows, dims) = model.ExportEmbeddings(column);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
        writer.WriteLine($"{vocab.Length} {dims}");
        for (int i = 0; i < vocab.Length; i++)
        {
            string word = vocab[i].Length == 0 ? "<empty>" : string.Concat(vocab[i].Select(c => char.IsWhiteSpace(c) ? '_' : c));
            writer.WriteLine(word + " " + string.Join(" ", rows.AsSpan(i * dims, dims).ToArray().Select(x => x.ToString("R", CultureInfo.InvariantCulture))));
        }
    }

    private static Command Evaluate(IConsole console)
    {
        var file = new Argument<string>("model") { Description = "A model written by `tabular train`." };
        var test = new Option<string>("--test") { Description = "A CSV with the model's columns and target.", Required = true };
        var json = CommonOptions.Json();
        var cmd = new Command("evaluate", "RMSE/MAE (regression) or accuracy, log-loss and AUC (classification) on a CSV.\n\nExample:\n  embedsharp tabular evaluate model.tab --test test.csv --json") { file, test, json };
        cmd.SetAction(r => RunEvaluate(console, r.GetValue(file)!, r.GetValue(test)!, r.GetValue(json)));
        return cmd;
    }

    public static int RunEvaluate(IConsole console, string path, string testPath, bool json)
    {
        const string op = "tabular evaluate";
        if (!File.Exists(path))
            throw new FileNotFoundException($"[{op}] no such model file: {path}", path);
        TabularModel model;
        using (var stream = File.OpenRead(path))
        {
            try
            {
                model = TabularModel.Load(stream);
            }
            catch (InvalidDataException ex)
            {
                throw new InvalidDataException($"{ex.Message} ({path})", ex);
            }
        }
        using (model)
        {
            var fields = new Dictionary<string, object?> { ["task"] = model.Task.ToString().ToLowerInvariant() };
            AddReport(fields, model.Evaluate(ReadCsv(op, testPath)));
            var r = new Renderer(console, json);
            if (json)
                r.JsonLine(fields);
            else
                foreach (var (key, value) in fields)
                    r.Line($"{key}: {Convert.ToString(value, CultureInfo.InvariantCulture)}");
        }
        return EmbedSharpCli.Ok;
    }

    private static void AddReport(Dictionary<string, object?> fields, TabularReport report)
    {
        fields["test_rows"] = report.Rows;
        foreach (var (name, value) in new[] { ("rmse", report.Rmse), ("mae", report.Mae), ("accuracy", report.Accuracy), ("log_loss", report.LogLoss), ("auc", report.Auc) })
            if (!double.IsNaN(value))
                fields[name] = Math.Round(value, 6);
        fields["unknown_categories"] = report.UnknownCategories;
    }

    private static CsvTable ReadCsv(string op, string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"[{op}] no such file: {path}", path);
        using var reader = File.OpenText(path);
        return CsvTable.Read(reader, path);
    }

    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
