using System.CommandLine;
using System.Globalization;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Models.Data;
using EmbedSharp.Models.Evaluation;
using EmbedSharp.Models.Recommenders;

namespace EmbedSharp.Cli.Commands;

/// <summary>
/// <c>embedsharp rec train|evaluate|predict|recommend</c>: factor recommenders and a DLRM click model
/// on MovieLens-style ratings (<c>user TAB item TAB rating TAB timestamp</c>).
/// </summary>
// Size: one command group in two files (~520 lines): train/evaluate/predict/recommend (this file) and the DLRM
// options. Each subcommand only parses and calls Models; they share the option declarations.
internal static partial class RecCommand
{
    private static readonly Dictionary<string, RecommenderKind> Models = new(StringComparer.Ordinal)
    {
        ["mf"] = RecommenderKind.MatrixFactorization,
        ["svdpp"] = RecommenderKind.SvdPlusPlus,
        ["als"] = RecommenderKind.ExplicitAls,
        ["ials"] = RecommenderKind.ImplicitAls,
        ["bpr"] = RecommenderKind.Bpr,
        ["two-tower"] = RecommenderKind.TwoTower,
        ["bmf"] = RecommenderKind.BayesianMf,
    };

    public static Command Create(IConsole console)
    {
        var cmd = new Command("rec", "Recommenders: train on ratings, evaluate, predict, recommend.\n\nExamples:\n  embedsharp rec train ua.base --model mf --test ua.test --out mf.rec\n  embedsharp rec evaluate mf.rec --test ua.test --json\n  embedsharp rec predict mf.rec --pairs ua.test\n  embedsharp rec recommend mf.rec 42 --k 10\n  embedsharp rec recommend bpr.rec --like 50,172,181\n  embedsharp rec train ua.base --model dlrm --users u.user --items u.item --test ua.test --out dlrm.rec");
        cmd.Subcommands.Add(Train(console));
        cmd.Subcommands.Add(Evaluate(console));
        cmd.Subcommands.Add(Predict(console));
        cmd.Subcommands.Add(Recommend(console));
        return cmd;
    }

    private static Command Train(IConsole console)
    {
        var ratings = new Argument<string>("ratings") { Description = "Training ratings: user<TAB>item<TAB>rating<TAB>timestamp per line (MovieLens u.data form)." };
        var model = new Option<string>("--model") { Description = "mf (biased MF, SGD), svdpp (MF + implicit term), als (biased MF, ALS), ials (implicit ALS), bpr, two-tower (id towers, in-batch softmax with log-Q), bmf (Bayesian biased MF by Gibbs sampling; --users/--items add side features, --implicit-feedback the SVD++ term), dlrm (click model on side features; needs --users and --items).", DefaultValueFactory = _ => "mf" };
        var output = new Option<string>("--out") { Description = "Where to write the model.", Required = true };
        var test = new Option<string?>("--test") { Description = "Ratings to evaluate on after training." };
        var factors = new Option<int>("--factors") { Description = "Latent factors.", DefaultValueFactory = _ => 100 };
        var epochs = new Option<int>("--epochs") { Description = "Epochs (SGD) or sweeps (ALS); 0 = the model's default." };
        var lr = new Option<double>("--lr") { Description = "SGD learning rate; 0 = the model's default." };
        var reg = new Option<double>("--reg") { Description = "Factor regularization; negative = the model's default.", DefaultValueFactory = _ => -1 };
        var alpha = new Option<double>("--alpha") { Description = "Implicit ALS confidence slope (c = 1 + alpha·r).", DefaultValueFactory = _ => 10 };
        var threshold = new Option<float>("--positive-threshold") { Description = "Implicit models (ials, bpr, two-tower): ratings ≥ this count as interactions (0: all)." };
        var seed = new Option<ulong>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 42 };
        var minRating = new Option<float>("--min-rating") { Description = "Smallest valid rating.", DefaultValueFactory = _ => 1 };
        var maxRating = new Option<float>("--max-rating") { Description = "Largest valid rating.", DefaultValueFactory = _ => 5 };
        var samples = new Option<int>("--samples") { Description = "bmf: posterior draws averaged into the prediction (the model stores factors × samples columns); 0 = the default (100)." };
        var burnIn = new Option<int>("--burn-in") { Description = "bmf: sweeps discarded before the first kept draw; negative = the default (50).", DefaultValueFactory = _ => -1 };
        var implicitFeedback = new Option<bool>("--implicit-feedback") { Description = "bmf: add SVD++'s implicit term over the items each user rated in training." };
        var itemImplicitFeedback = new Option<bool>("--item-implicit-feedback") { Description = "bmf: the mirror term on the item side, over the users who rated each item in training." };
        var implicitPairs = new Option<string?>("--implicit-pairs") { Description = "bmf with --implicit-feedback: a ratings file whose (user, item) pairs also count as rated, their ratings unused (e.g. the pairs you will predict: the Netflix-prize habit; report results with and without it)." };
        var users = new Option<string?>("--users") { Description = "dlrm, bmf: the users' side file in MovieLens u.user form (id|age|gender|occupation|zip)." };
        var items = new Option<string?>("--items") { Description = "dlrm, bmf: the movies' side file in MovieLens u.item form (id|title|date|video date|url|19 genre flags; Latin-1)." };
        var patience = new Option<int>("--patience") { Description = "dlrm: stop after this many epochs without a better validation AUC and keep the best epoch's weights.", DefaultValueFactory = _ => 2 };
        var validation = new Option<double>("--validation") { Description = "dlrm: share of the training ratings held out for early stopping (0: none; train every epoch).", DefaultValueFactory = _ => 0.1 };
        var recencyBoost = new Option<double>("--recency-boost") { Description = "ials, bpr: weight each user's recent interactions up: the k-th latest gets value 1 + boost·0.5^(k/half-life) (0: off)." };
        var recencyHalfLife = new Option<double>("--recency-half-life") { Description = "ials, bpr: half-life of --recency-boost, in interactions.", DefaultValueFactory = _ => 5 };
        var json = CommonOptions.Json();
        var cmd = new Command("train", "Train a recommender on a ratings file and save it.\n\nExamples:\n  embedsharp rec train ua.base --model svdpp --test ua.test --out svdpp.rec\n  embedsharp rec train u.data --model bpr --positive-threshold 4 --out bpr.rec\n  embedsharp rec train u.data --model ials --factors 24 --epochs 12 --reg 3 --alpha 1 --recency-boost 50 --out ials.rec\n  embedsharp rec train u.data --model bpr --factors 64 --epochs 60 --lr 0.05 --reg 0.02 --recency-boost 20 --out bpr.rec\n  embedsharp rec train ua.base --model dlrm --users u.user --items u.item --epochs 10 --patience 2 --out dlrm.rec\n  embedsharp rec train ua.base --model bmf --test ua.test --out bmf.rec\n  embedsharp rec train ua.base --model bmf --factors 20 --implicit-feedback --item-implicit-feedback --users u.user --items u.item --test ua.test --out bmf-side.rec\n\nFor dlrm the target is click-style: a rating >= --positive-threshold (default 4) is a click; --factors is the embedding width (default 16) and --epochs the most epochs (default 10).")
        {
            ratings, model, output, test, factors, epochs, lr, reg, alpha, threshold, seed, minRating, maxRating, users, items, patience, validation,
            recencyBoost, recencyHalfLife, samples, burnIn, implicitFeedback, itemImplicitFeedback, implicitPairs, json,
        };
        cmd.SetAction((r, ct) => Task.FromResult(RunTrain(console, new TrainSettings(r.GetValue(ratings)!, r.GetValue(model)!, r.GetValue(output)!,
            r.GetValue(test), r.GetValue(factors), r.GetValue(epochs), r.GetValue(lr), r.GetValue(reg), r.GetValue(alpha), r.GetValue(threshold),
            r.GetValue(seed), r.GetValue(minRating), r.GetValue(maxRating), r.GetValue(json))
        {
            Users = r.GetValue(users), Items = r.GetValue(items), Patience = r.GetValue(patience), Validation = r.GetValue(validation),
            RecencyBoost = r.GetValue(recencyBoost), RecencyHalfLife = r.GetValue(recencyHalfLife),
            Samples = r.GetValue(samples), BurnIn = r.GetValue(burnIn), ImplicitFeedback = r.GetValue(implicitFeedback), ItemImplicitFeedback = r.GetValue(itemImplicitFeedback), ImplicitPairs = r.GetValue(implicitPairs),
        }, ct)));
        return cmd;
    }

    internal sealed record TrainSettings(string Ratings, string Model, string Output, string? Test, int Factors, int Epochs, double LearningRate,
        double Regularization, double Alpha, float Threshold, ulong Seed, float MinRating, float MaxRating, bool Json)
    {
        /// <summary>dlrm: the u.user-form side file.</summary>
        public string? Users { get; init; }

        /// <summary>dlrm: the u.item-form side file.</summary>
        public string? Items { get; init; }

        /// <summary>dlrm: early-stopping patience in epochs.</summary>
        public int Patience { get; init; } = 2;

        /// <summary>dlrm: validation share for early stopping.</summary>
        public double Validation { get; init; } = 0.1;

        /// <summary>ials: recency boost (0: off).</summary>
        public double RecencyBoost { get; init; }

        /// <summary>bmf: posterior draws kept (0: default).</summary>
        public int Samples { get; init; }

        /// <summary>bmf: burn-in sweeps (negative: default).</summary>
        public int BurnIn { get; init; } = -1;

        /// <summary>bmf: the SVD++ implicit term.</summary>
        public bool ImplicitFeedback { get; init; }

        /// <summary>bmf: the item-side implicit term.</summary>
        public bool ItemImplicitFeedback { get; init; }

        /// <summary>bmf: a ratings file whose pairs join the implicit feedback.</summary>
        public string? ImplicitPairs { get; init; }

        /// <summary>ials: recency half-life in interactions.</summary>
        public double RecencyHalfLife { get; init; } = 5;
    }

    /// <summary>The tuned defaults per model (see benchmarks/README.md, recommenders).</summary>
    internal static RecommenderOptions Defaults(RecommenderKind kind) => kind switch
    {
        RecommenderKind.MatrixFactorization => new() { Kind = kind, Epochs = 60, LearningRate = 0.01, LearningRateDecay = 0.97, Regularization = 0.05, InitStd = 0.01 },
        RecommenderKind.SvdPlusPlus => new() { Kind = kind, Factors = 50, Epochs = 40, LearningRate = 0.007, LearningRateDecay = 0.97, Regularization = 0.08, InitStd = 0.05 },
        RecommenderKind.ExplicitAls => new() { Kind = kind, Factors = 30, Epochs = 12, Regularization = 0.1, BiasRegularization = 0.01 },
        RecommenderKind.ImplicitAls => new() { Kind = kind, Factors = 16, Epochs = 15, Regularization = 1, Alpha = 5 },
        RecommenderKind.TwoTower => new() { Kind = kind, Factors = 32, Epochs = 10, LearningRate = 0.005, BatchSize = 256 },
        RecommenderKind.BayesianMf => new() { Kind = kind, Factors = 10, Epochs = 400, BurnIn = 50, Samples = 100, InitStd = 0.1 },
        _ => new() { Kind = kind, Factors = 64, Epochs = 40, LearningRate = 0.05, LearningRateDecay = 0.97, Regularization = 0.01 },
    };

    public static int RunTrain(IConsole console, TrainSettings s, CancellationToken ct)
    {
        const string op = "rec train";
        if (s.Model == "dlrm")
            return RunTrainDlrm(console, s, ct);
        if (!Models.TryGetValue(s.Model, out var kind))
            throw new ArgumentException($"[{op}] unknown --model '{s.Model}'; valid values are {string.Join(", ", Models.Keys)}, dlrm");
        if ((s.Users is not null || s.Items is not null) && kind != RecommenderKind.BayesianMf)
            throw new ArgumentException($"[{op}] --users and --items are side files for --model dlrm and bmf only; {s.Model} trains on the ratings alone");
        if (kind != RecommenderKind.BayesianMf && (s.Samples != 0 || s.BurnIn >= 0 || s.ImplicitFeedback || s.ItemImplicitFeedback || s.ImplicitPairs is not null))
            throw new ArgumentException($"[{op}] --samples, --burn-in, --implicit-feedback, --item-implicit-feedback and --implicit-pairs are for --model bmf only");
        if (s.ImplicitPairs is not null && !s.ImplicitFeedback && !s.ItemImplicitFeedback)
            throw new ArgumentException($"[{op}] --implicit-pairs adds to the implicit feedback; give --implicit-feedback or --item-implicit-feedback too");
        var options = Defaults(kind) with { Seed = s.Seed, Factors = s.Factors, MinRating = s.MinRating, MaxRating = s.MaxRating, Alpha = s.Alpha };
        if (kind == RecommenderKind.SvdPlusPlus && s.Factors == 100)
            options = options with { Factors = 50 };
        if (kind is RecommenderKind.ImplicitAls or RecommenderKind.Bpr or RecommenderKind.TwoTower or RecommenderKind.BayesianMf && s.Factors == 100)
            options = options with { Factors = Defaults(kind).Factors };
        if (s.Epochs > 0)
            options = options with { Epochs = s.Epochs };
        if (s.LearningRate > 0)
            options = options with { LearningRate = s.LearningRate };
        if (s.Regularization >= 0)
            options = options with { Regularization = s.Regularization };
        if (s.Samples < 0)
            throw new ArgumentOutOfRangeException(nameof(s.Samples), $"[{op}] --samples must be ≥ 0 (got {s.Samples})");
        if (s.Samples > 0)
            options = options with { Samples = s.Samples };
        if (s.BurnIn >= 0)
            options = options with { BurnIn = s.BurnIn };
        if (kind == RecommenderKind.BayesianMf)
            options = options with
            {
                ImplicitFeedback = s.ImplicitFeedback,
                ItemImplicitFeedback = s.ItemImplicitFeedback,
                ImplicitInteractions = s.ImplicitPairs is null ? null : ReadRatings(op, s.ImplicitPairs, s.MinRating, s.MaxRating, requireRating: false),
                UserFeatures = s.Users is null ? null : MovieLens.UserFeatures(ReadSide(op, s.Users, "users", r => MovieLens.ReadUsers(r, s.Users))),
                ItemFeatures = s.Items is null ? null : MovieLens.ItemFeatures(ReadSide(op, s.Items, "items", r => MovieLens.ReadItems(r, s.Items))),
            };
        RatingData train = ReadRatings(op, s.Ratings, s.MinRating, s.MaxRating);
        RatingData? test = s.Test is null ? null : ReadRatings(op, s.Test, s.MinRating, s.MaxRating);
        string output = OutputPaths.Prepare(s.Output);
        bool implicitKind = kind is RecommenderKind.ImplicitAls or RecommenderKind.Bpr or RecommenderKind.TwoTower;
        if (implicitKind)
            train = train.Positives(s.Threshold);
        if (s.RecencyBoost != 0)
        {
            if (kind is not (RecommenderKind.ImplicitAls or RecommenderKind.Bpr))
                throw new ArgumentException($"[{op}] --recency-boost weights implicit ALS's confidences and BPR's pairs; it does nothing for --model {s.Model}");
            if (!(s.RecencyBoost > 0) || double.IsInfinity(s.RecencyBoost) || !(s.RecencyHalfLife > 0) || double.IsInfinity(s.RecencyHalfLife))
                throw new ArgumentOutOfRangeException(nameof(s.RecencyBoost), $"[{op}] --recency-boost and --recency-half-life must be finite and > 0 (got {s.RecencyBoost}, {s.RecencyHalfLife})");
            train = train.RecencyWeighted(s.RecencyHalfLife, s.RecencyBoost);
        }
        var r = new Renderer(console, s.Json);
        r.Line($"training {s.Model} on {s.Ratings}: {train.Count} interactions, {options.Factors} factors, {options.Epochs} epochs");
        FactorModel model = r.Progress(s.Model, report =>
        {
            try
            {
                return RecommenderTrainer.Train(train, options, new Progress(p => report((double)p.Epoch / Math.Max(p.Epochs, 1))), ct);
            }
            catch (Diagnostics.NonFiniteException ex)
            {
                throw new InvalidOperationException(ex.Message, ex);
            }
        });
        SaveAtomically(output, model.Save);
        var fields = new Dictionary<string, object?> { ["model"] = s.Model, ["out"] = s.Output, ["users"] = model.Users.Count, ["items"] = model.Items.Count, ["interactions"] = train.Count };
        if (test is not null)
            AddEvaluation(fields, model, test);
        Print(r, fields);
        return EmbedSharpCli.Ok;
    }

    private static Command Evaluate(IConsole console)
    {
        var file = new Argument<string>("model") { Description = "A model written by `rec train`." };
        var test = new Option<string>("--test") { Description = "Held-out ratings (same form as training).", Required = true };
        var json = CommonOptions.Json();
        var cmd = new Command("evaluate", "RMSE/MAE (explicit models) and HR@10/NDCG@10 against 99 sampled negatives, training items excluded; for a dlrm model AUC, log loss and accuracy of the click target (rating >= the model's threshold).\n\nExample:\n  embedsharp rec evaluate mf.rec --test ua.test --json") { file, test, json };
        cmd.SetAction(r => RunEvaluate(console, r.GetValue(file)!, r.GetValue(test)!, r.GetValue(json)));
        return cmd;
    }

    public static int RunEvaluate(IConsole console, string path, string testPath, bool json)
    {
        const string op = "rec evaluate";
        if (IsDlrm(op, path))
            return RunEvaluateDlrm(console, path, testPath, json);
        FactorModel model = LoadModel(op, path);
        RatingData test = ReadRatings(op, testPath, model.MinRating, model.MaxRating);
        var fields = new Dictionary<string, object?>();
        AddEvaluation(fields, model, test);
        Print(new Renderer(console, json), fields);
        return EmbedSharpCli.Ok;
    }

    private static void AddEvaluation(Dictionary<string, object?> fields, FactorModel model, RatingData test)
    {
        if (model.IsExplicit)
        {
            var rating = Metrics.Ratings(model, test);
            fields["rmse"] = Math.Round(rating.Rmse, 6);
            fields["mae"] = Math.Round(rating.Mae, 6);
            fields["unknown_pairs"] = rating.UnknownPairs;
        }
        var ranking = Metrics.SampledRanking(model, test, k: 10, negatives: 99, seed: 1);
        fields["hr_at_10"] = Math.Round(ranking.HitRate, 6);
        fields["ndcg_at_10"] = Math.Round(ranking.Ndcg, 6);
        fields["ranking_protocol"] = ranking.Protocol + ", training items excluded";
        fields["users"] = test.Users.Distinct().Count();
        fields["ratings"] = test.Count;
    }

    private static Command Predict(IConsole console)
    {
        var file = new Argument<string>("model") { Description = "A model written by `rec train`." };
        var pairs = new Option<string>("--pairs") { Description = "user<TAB>item[<TAB>rating<TAB>timestamp] lines; the rating is ignored.", Required = true };
        var cmd = new Command("predict", "Prints user<TAB>item<TAB>prediction for each pair (unknown users or items get the known biases; a dlrm model prints the click probability).\n\nExample:\n  embedsharp rec predict mf.rec --pairs ua.test > predictions.tsv") { file, pairs };
        cmd.SetAction(r => RunPredict(console, r.GetValue(file)!, r.GetValue(pairs)!));
        return cmd;
    }

    public static int RunPredict(IConsole console, string path, string pairsPath)
    {
        const string op = "rec predict";
        if (IsDlrm(op, path))
            return RunPredictDlrm(console, path, pairsPath);
        FactorModel model = LoadModel(op, path);
        RatingData pairs = ReadRatings(op, pairsPath, float.MinValue, float.MaxValue, requireRating: false);
        for (int t = 0; t < pairs.Count; t++)
            console.Out.WriteLine($"{pairs.Users[t]}\t{pairs.Items[t]}\t{model.Predict(pairs.Users[t], pairs.Items[t]).ToString("0.######", CultureInfo.InvariantCulture)}");
        return EmbedSharpCli.Ok;
    }

    private static Command Recommend(IConsole console)
    {
        var file = new Argument<string>("model") { Description = "A model written by `rec train`." };
        var user = new Argument<int?>("user") { Description = "A user id from the training data.", Arity = ArgumentArity.ZeroOrOne };
        var k = new Option<int>("--k") { Description = "How many items.", DefaultValueFactory = _ => 10 };
        var like = new Option<string?>("--like") { Description = "A new user's items, comma-separated (folded in without retraining) instead of USER." };
        var includeSeen = new Option<bool>("--include-seen") { Description = "Also list items the user already interacted with (excluded by default)." };
        var json = CommonOptions.Json();
        var cmd = new Command("recommend", "Top items for a user, their training items excluded unless --include-seen.\n\nExamples:\n  embedsharp rec recommend mf.rec 42 --k 10\n  embedsharp rec recommend bpr.rec --like 50,172,181 --json")
        {
            file, user, k, like, includeSeen, json,
        };
        cmd.SetAction(r => RunRecommend(console, r.GetValue(file)!, r.GetValue(user), r.GetValue(k), r.GetValue(like), r.GetValue(includeSeen), r.GetValue(json)));
        return cmd;
    }

    public static int RunRecommend(IConsole console, string path, int? user, int k, string? like, bool includeSeen, bool json)
    {
        const string op = "rec recommend";
        if (k < 1)
            throw new ArgumentOutOfRangeException(nameof(k), $"[{op}] --k must be ≥ 1 but was {k}");
        if (user is null == like is null)
            throw new ArgumentException($"[{op}] give either a USER id or --like ITEM,ITEM,... (not both)");
        if (IsDlrm(op, path))
            throw new ArgumentException($"[{op}] {path} is a dlrm click model, which scores given pairs: use `rec predict MODEL --pairs FILE` (click probabilities) or a factor model (mf, bpr, ...) for top-k lists");
        FactorModel model = LoadModel(op, path);
        IReadOnlyList<(int Item, float Score)> recs;
        if (user is int u)
        {
            if (model.Users.IndexOf(u) < 0)
                throw new ArgumentException($"[{op}] user {u} is not in {path} ({model.Users.Count} users); use --like ITEM,... to fold in a new user");
            recs = model.Recommend(u, k, !includeSeen);
        }
        else
        {
            var items = new List<(int, float)>();
            foreach (string part in like!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int item))
                    throw new ArgumentException($"[{op}] --like: '{part}' is not an item id");
                items.Add((item, model.IsExplicit ? model.MaxRating : 1f));
            }
            recs = model.Recommend(model.FoldIn(items), k, !includeSeen);
        }
        var r = new Renderer(console, json);
        if (json)
        {
            foreach (var (item, score) in recs)
                r.JsonLine(new Dictionary<string, object?> { ["item"] = item, ["score"] = Math.Round(score, 6) });
        }
        else
        {
            foreach (var (item, score) in recs)
                console.Out.WriteLine($"{item}\t{score.ToString("0.####", CultureInfo.InvariantCulture)}");
        }
        return EmbedSharpCli.Ok;
    }

    private static RatingData ReadRatings(string op, string path, float min, float max, bool requireRating = true)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"[{op}] no such file: {path}", path);
        using var reader = File.OpenText(path);
        return MovieLens.ReadRatings(reader, path, min, max, requireRating);
    }

    private static FactorModel LoadModel(string op, string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"[{op}] no such model file: {path}", path);
        using var stream = File.OpenRead(path);
        try
        {
            return FactorModel.Load(stream);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{ex.Message} ({path})", ex);
        }
    }

    internal static void SaveAtomically(string path, Action<Stream> write)
    {
        string temp = path + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var stream = File.Create(temp))
                write(stream);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
                File.Delete(temp);
        }
    }

    private static void Print(Renderer r, Dictionary<string, object?> fields)
    {
        if (r.Json)
            r.JsonLine(fields);
        else
            foreach (var (key, value) in fields)
                r.Line($"{key}: {Convert.ToString(value, CultureInfo.InvariantCulture)}");
    }

    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
