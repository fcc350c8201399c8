using System.Globalization;
using System.Text;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Models.Data;
using EmbedSharp.Models.Recommenders;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>rec train|evaluate|predict</c> for <c>--model dlrm</c>: a click model on MovieLens side files.</summary>
internal static partial class RecCommand
{
    private static int RunTrainDlrm(IConsole console, TrainSettings s, CancellationToken ct)
    {
        const string op = "rec train";
        if (s.Users is null || s.Items is null)
            throw new ArgumentException($"[{op}] --model dlrm needs the side files: --users FILE (u.user form: id|age|gender|occupation|zip) and --items FILE (u.item form: id|title|date|video date|url|19 genre flags)");
        if (!(s.Validation >= 0 && s.Validation < 1))
            throw new ArgumentOutOfRangeException(nameof(s.Validation), $"[{op}] --validation must lie in [0, 1) but was {s.Validation}");
        if (s.Patience < 1)
            throw new ArgumentOutOfRangeException(nameof(s.Patience), $"[{op}] --patience must be ≥ 1 but was {s.Patience}");
        var defaults = new DlrmOptions();
        var options = defaults with
        {
            Dims = s.Factors == 100 ? defaults.Dims : s.Factors,
            MaxEpochs = s.Epochs > 0 ? s.Epochs : defaults.MaxEpochs,
            LearningRate = s.LearningRate > 0 ? s.LearningRate : defaults.LearningRate,
            ClickThreshold = s.Threshold > 0 ? s.Threshold : defaults.ClickThreshold,
            Patience = s.Patience,
            ValidationFraction = s.Validation,
            Seed = s.Seed,
        };
        RatingData train = ReadRatings(op, s.Ratings, s.MinRating, s.MaxRating);
        RatingData? test = s.Test is null ? null : ReadRatings(op, s.Test, s.MinRating, s.MaxRating);
        IReadOnlyList<MovieLens.User> users = ReadSide(op, s.Users, "users", r => MovieLens.ReadUsers(r, s.Users));
        IReadOnlyList<MovieLens.Item> items = ReadSide(op, s.Items, "items", r => MovieLens.ReadItems(r, s.Items));
        string output = OutputPaths.Prepare(s.Output);
        var r = new Renderer(console, s.Json);
        r.Line($"training dlrm on {s.Ratings}: {train.Count} ratings (click = rating >= {options.ClickThreshold}), {users.Count} users, {items.Count} movies, "
            + $"{options.Dims}-d tables, at most {options.MaxEpochs} epochs"
            + (options.ValidationFraction > 0 ? $", early stopping on {options.ValidationFraction:P0} held out (patience {options.Patience})" : ""));
        DlrmRecommender model;
        try
        {
            model = r.Progress("dlrm", report => DlrmRecommender.Train(train, users, items, options,
                new DlrmProgressSink(p => report((double)p.Epoch / p.MaxEpochs)), ct));
        }
        catch (Diagnostics.NonFiniteException ex)
        {
            throw new InvalidOperationException(ex.Message, ex);
        }
        catch (ArgumentException ex) when (ex.Message.Contains("is not listed in the", StringComparison.Ordinal))
        {
            throw new ArgumentException($"{ex.Message} ({s.Ratings} against {s.Users} and {s.Items})", ex);
        }
        using (model)
        {
            SaveAtomically(output, model.Save);
            var fields = new Dictionary<string, object?>
            {
                ["model"] = "dlrm", ["out"] = s.Output, ["users"] = model.TrainedUsers.Count, ["items"] = model.TrainedItems.Count,
                ["interactions"] = train.Count, ["epochs_run"] = model.EpochsRun, ["best_epoch"] = model.BestEpoch,
            };
            if (!double.IsNaN(model.ValidationAuc))
                fields["validation_auc"] = Math.Round(model.ValidationAuc, 6);
            if (test is not null)
                AddClickEvaluation(fields, model, test);
            Print(r, fields);
        }
        return EmbedSharpCli.Ok;
    }

    private static IReadOnlyList<T> ReadSide<T>(string op, string path, string what, Func<TextReader, IReadOnlyList<T>> read)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"[{op}] no such {what} file: {path}", path);
        // MovieLens side files are Latin-1 (u.item has accented titles).
        using var reader = new StreamReader(path, Encoding.Latin1);
        return read(reader);
    }

    private static bool IsDlrm(string op, string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"[{op}] no such model file: {path}", path);
        Span<byte> head = stackalloc byte[8];
        using var stream = File.OpenRead(path);
        int n = stream.ReadAtLeast(head, 8, throwOnEndOfStream: false);
        return n == 8 && DlrmRecommender.IsDlrmFile(head);
    }

    private static DlrmRecommender LoadDlrm(string path)
    {
        using var stream = File.OpenRead(path);
        try
        {
            return DlrmRecommender.Load(stream);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{ex.Message} ({path})", ex);
        }
    }

    private static int RunEvaluateDlrm(IConsole console, string path, string testPath, bool json)
    {
        const string op = "rec evaluate";
        using DlrmRecommender model = LoadDlrm(path);
        RatingData test = ReadRatings(op, testPath, float.MinValue, float.MaxValue);
        var fields = new Dictionary<string, object?>();
        AddClickEvaluation(fields, model, test);
        Print(new Renderer(console, json), fields);
        return EmbedSharpCli.Ok;
    }

    private static void AddClickEvaluation(Dictionary<string, object?> fields, DlrmRecommender model, RatingData test)
    {
        var report = model.Evaluate(test);
        fields["target"] = $"click = rating >= {model.ClickThreshold.ToString(CultureInfo.InvariantCulture)}";
        fields["auc"] = double.IsNaN(report.Auc) ? null : Math.Round(report.Auc, 6);
        fields["log_loss"] = Math.Round(report.LogLoss, 6);
        fields["accuracy"] = Math.Round(report.Accuracy, 6);
        fields["clicks"] = report.Clicks;
        fields["unknown_pairs"] = report.UnknownPairs;
        fields["users"] = test.Users.Distinct().Count();
        fields["ratings"] = report.Ratings;
    }

    private static int RunPredictDlrm(IConsole console, string path, string pairsPath)
    {
        const string op = "rec predict";
        using DlrmRecommender model = LoadDlrm(path);
        RatingData pairs = ReadRatings(op, pairsPath, float.MinValue, float.MaxValue, requireRating: false);
        float[] logits = model.PredictLogits(pairs.Users, pairs.Items);
        for (int t = 0; t < pairs.Count; t++)
        {
            double p = 1 / (1 + Math.Exp(-logits[t]));
            console.Out.WriteLine($"{pairs.Users[t]}\t{pairs.Items[t]}\t{p.ToString("0.######", CultureInfo.InvariantCulture)}");
        }
        return EmbedSharpCli.Ok;
    }

    private sealed class DlrmProgressSink(Action<DlrmProgress> report) : IProgress<DlrmProgress>
    {
        public void Report(DlrmProgress value) => report(value);
    }
}
