using System.Diagnostics;
using System.Globalization;
using EmbedSharp.Models.Data;
using EmbedSharp.Models.Evaluation;
using EmbedSharp.Models.Recommenders;

// Recommender quality and speed on MovieLens-100K (read from ../shared/data/recsys/ml-100k, never copied).
// Usage: RecsysBench DATA_DIR MODE [key=value ...]; MODE: ua | kfold | loo | epoch.
string dir = args[0];
string mode = args[1];
var kv = args.Skip(2).Select(a => a.Split('=', 2)).ToDictionary(a => a[0], a => a[1]);
double D(string key, double dflt) => kv.TryGetValue(key, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : dflt;
RatingData Read(string name)
{
    using var reader = File.OpenText(Path.Combine(dir, name));
    return MovieLens.ReadRatings(reader, name);
}
RecommenderOptions Options(RecommenderKind kind) => new()
{
    Kind = kind,
    Factors = (int)D("factors", 100),
    Epochs = (int)D("epochs", 40),
    LearningRate = D("lr", 0.01),
    LearningRateDecay = D("decay", 0.96),
    Regularization = D("reg", 0.05),
    BiasRegularization = D("regb", 0.01),
    InitStd = D("init", 0.1),
    Alpha = D("alpha", 10),
    CgSteps = (int)D("cg", 3),
    Seed = (ulong)D("seed", 42),
};
RecommenderKind Kind(string s) => Enum.Parse<RecommenderKind>(s, ignoreCase: true);
string kindName = kv.GetValueOrDefault("kind", "MatrixFactorization");
switch (mode)
{
    case "ua":
    {
        var train = Read("ua.base");
        var test = Read("ua.test");
        var sw = Stopwatch.StartNew();
        var model = RecommenderTrainer.Train(train, Options(Kind(kindName)));
        sw.Stop();
        var r = Metrics.Ratings(model, test);
        Console.WriteLine($"{{\"mode\":\"ua\",\"kind\":\"{kindName}\",\"rmse\":{r.Rmse:F4},\"mae\":{r.Mae:F4},\"seconds\":{sw.Elapsed.TotalSeconds:F2},\"args\":\"{string.Join(' ', args.Skip(2))}\"}}");
        break;
    }
    case "loo":
    {
        var all = Read("u.data");
        var (train, test) = all.LeaveLastOut();
        var sw = Stopwatch.StartNew();
        var model = RecommenderTrainer.Train(D("raw", 0) > 0 ? train : train.Positives((float)D("threshold", 0)), Options(Kind(kindName)));
        sw.Stop();
        var r = Metrics.SampledRanking(model, test, 10, 99, 7);
        Console.WriteLine($"{{\"mode\":\"loo\",\"kind\":\"{kindName}\",\"hr10\":{r.HitRate:F4},\"ndcg10\":{r.Ndcg:F4},\"auc\":{r.Auc:F4},\"users\":{r.Users},\"seconds\":{sw.Elapsed.TotalSeconds:F2},\"args\":\"{string.Join(' ', args.Skip(2))}\"}}");
        break;
    }
}
