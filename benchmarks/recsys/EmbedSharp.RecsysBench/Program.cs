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
    case "kfold":
    {
        // Seeded 5-fold random split of u.data (the protocol of Surprise's published figures).
        var all = Read("u.data");
        var rmses = new List<double>();
        for (int fold = 0; fold < 5; fold++)
        {
            var (train, test) = all.KFold(5, fold, (ulong)D("splitseed", 2024));
            var model = RecommenderTrainer.Train(train, Options(Kind(kindName)));
            rmses.Add(Metrics.Ratings(model, test).Rmse);
        }
        Console.WriteLine($"{{\"mode\":\"kfold\",\"kind\":\"{kindName}\",\"rmse\":{rmses.Average():F4},\"folds\":[{string.Join(",", rmses.Select(r => r.ToString("F4", CultureInfo.InvariantCulture)))}],\"args\":\"{string.Join(' ', args.Skip(2))}\"}}");
        break;
    }
    case "blend":
    {
        // A linear blend of MF, SVD++ and ALS: weights fit by least squares on a validation tenth of
        // ua.base, then the three models are retrained on all of ua.base and blended on ua.test.
        var train = Read("ua.base");
        var test = Read("ua.test");
        var configs = new[]
        {
            new RecommenderOptions { Kind = RecommenderKind.MatrixFactorization, Factors = 100, Epochs = 60, LearningRate = 0.01, LearningRateDecay = 0.97, Regularization = 0.05, InitStd = 0.01 },
            new RecommenderOptions { Kind = RecommenderKind.SvdPlusPlus, Factors = 50, Epochs = 40, LearningRate = 0.007, LearningRateDecay = 0.97, Regularization = 0.08, InitStd = 0.05 },
            new RecommenderOptions { Kind = RecommenderKind.ExplicitAls, Factors = 30, Epochs = 12, Regularization = 0.1, BiasRegularization = 0.01 },
        };
        var (fit, val) = train.KFold(10, 0, 99);
        double[][] Features(RatingData data, FactorModel[] models) =>
            [.. Enumerable.Range(0, data.Count).Select(t => (double[])[1.0, .. models.Select(m => (double)m.Predict(data.Users[t], data.Items[t]))])];
        var valModels = configs.Select(c => RecommenderTrainer.Train(fit, c)).ToArray();
        double[] w = LeastSquares(Features(val, valModels), [.. val.Ratings.Select(r => (double)r)]);
        var models = configs.Select(c => RecommenderTrainer.Train(train, c)).ToArray();
        var x = Features(test, models);
        double se = 0;
        for (int t = 0; t < test.Count; t++)
        {
            double p = Math.Clamp(x[t].Zip(w).Sum(z => z.First * z.Second), 1, 5);
            se += (p - test.Ratings[t]) * (p - test.Ratings[t]);
        }
        var singles = models.Select(m => Metrics.Ratings(m, test).Rmse).ToArray();
        Console.WriteLine($"{{\"mode\":\"blend\",\"rmse\":{Math.Sqrt(se / test.Count):F4},\"mf\":{singles[0]:F4},\"svdpp\":{singles[1]:F4},\"als\":{singles[2]:F4},\"weights\":[{string.Join(",", w.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)))}]}}");
        break;
    }
    case "epoch":
    {
        // Seconds per SGD epoch of biased MF (k = factors) on u.data: the numpy reference's workload.
        var all = Read("u.data");
        int epochs = (int)D("epochs", 40);
        var o = Options(RecommenderKind.MatrixFactorization) with { Epochs = 1 };
        RecommenderTrainer.Train(all, o); // warm-up (JIT)
        var sw = Stopwatch.StartNew();
        RecommenderTrainer.Train(all, o with { Epochs = epochs });
        sw.Stop();
        Console.WriteLine($"{{\"mode\":\"epoch\",\"factors\":{o.Factors},\"epochs\":{epochs},\"seconds_per_epoch\":{sw.Elapsed.TotalSeconds / epochs:F5}}}");
        break;
    }
    case "mlp":
    {
        // Forward + backward of an MLP on one batch, best of N repetitions (see mlp_torch.py for the peer).
        int batch = (int)D("batch", 512), reps = (int)D("reps", 50);
        int[] sizes = [.. kv.GetValueOrDefault("sizes", "256,512,256,1").Split(',').Select(int.Parse)];
        var mlp = new EmbedSharp.Models.Dense.Mlp(sizes[0], sizes[1..^1], sizes[^1], seed: 1);
        foreach (var l in mlp.Layers.OfType<EmbedSharp.Models.Dense.Linear>())
            l.Threads = (int)D("threads", Environment.ProcessorCount);
        var rng = new Random(1);
        var input = new float[batch * sizes[0]];
        for (int i = 0; i < input.Length; i++)
            input[i] = (float)rng.NextDouble();
        var output = new float[batch * sizes[^1]];
        var grad = new float[batch * sizes[^1]];
        Array.Fill(grad, 1f / batch);
        double best = double.MaxValue;
        for (int r = 0; r < reps + 5; r++)
        {
            var sw = Stopwatch.StartNew();
            mlp.Forward(input, batch, output, training: true);
            mlp.Backward(input, output, grad, batch, default);
            sw.Stop();
            if (r >= 5)
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        Console.WriteLine($"{{\"mode\":\"mlp\",\"batch\":{batch},\"sizes\":\"{string.Join(",", sizes)}\",\"best_ms\":{best * 1000:F3}}}");
        break;
    }
}

static double[] LeastSquares(double[][] x, double[] y)
{
    int n = x[0].Length;
    var a = new double[n, n];
    var b = new double[n];
    for (int t = 0; t < x.Length; t++)
        for (int i = 0; i < n; i++)
        {
            b[i] += x[t][i] * y[t];
            for (int j = 0; j < n; j++)
                a[i, j] += x[t][i] * x[t][j];
        }
    // Gaussian elimination with partial pivoting.
    for (int c = 0; c < n; c++)
    {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (Math.Abs(a[r, c]) > Math.Abs(a[p, c]))
                p = r;
        for (int j = 0; j < n; j++)
            (a[c, j], a[p, j]) = (a[p, j], a[c, j]);
        (b[c], b[p]) = (b[p], b[c]);
        for (int r = c + 1; r < n; r++)
        {
            double f = a[r, c] / a[c, c];
            for (int j = c; j < n; j++)
                a[r, j] -= f * a[c, j];
            b[r] -= f * b[c];
        }
    }
    var w = new double[n];
    for (int i = n - 1; i >= 0; i--)
    {
        double s = b[i];
        for (int j = i + 1; j < n; j++)
            s -= a[i, j] * w[j];
        w[i] = s / a[i, i];
    }
    return w;
}
