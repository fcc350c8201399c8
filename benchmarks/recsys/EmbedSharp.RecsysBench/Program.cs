using System.Diagnostics;
using System.Globalization;
using EmbedSharp;
using EmbedSharp.Models.Data;
using EmbedSharp.Models.Evaluation;
using EmbedSharp.Models.Recommenders;
using EmbedSharp.Models.Dense;
using EmbedSharp.Models.Losses;
using EmbedSharp.Models.Tabular;
using EmbedSharp.Optimizers;
using EmbedSharp.Tables;

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
    RegularizationExponent = D("nu", 0),
    ItemRegularization = kv.ContainsKey("regq") ? D("regq", 0) : null,
    Seed = (ulong)D("seed", 42),
    Samples = (int)D("samples", 20),
    BurnIn = (int)D("burnin", 20),
    ImplicitFeedback = D("implicit_fb", 0) > 0,
    ItemImplicitFeedback = D("item_implicit", 0) > 0,
    UserFeatures = D("side", 0) > 0 ? SideUsers() : null,
    ItemFeatures = D("side", 0) > 0 ? SideItems() : null,
};
// Side features for BayesianMf from u.user / u.item (MovieLens.UserFeatures / ItemFeatures).
IReadOnlyDictionary<int, IReadOnlyList<string>> SideUsers()
{
    using var ur = File.OpenText(Path.Combine(dir, "u.user"));
    return MovieLens.UserFeatures(MovieLens.ReadUsers(ur, "u.user"));
}
IReadOnlyDictionary<int, IReadOnlyList<string>> SideItems()
{
    using var ir = new StreamReader(Path.Combine(dir, "u.item"), System.Text.Encoding.Latin1);
    return MovieLens.ItemFeatures(MovieLens.ReadItems(ir, "u.item"));
}
KnnBaselineOptions KnnOptions() => new()
{
    Neighbors = (int)D("k", 40),
    Shrinkage = D("shrink", 100),
    UserBiasRegularization = D("regu", 15),
    ItemBiasRegularization = D("regi", 10),
};
// The settings chosen on the validation split carved from ua.base (see benchmarks/README.md).
RecommenderOptions MfTuned = new() { Kind = RecommenderKind.MatrixFactorization, Factors = (int)D("mf_factors", 100), Epochs = (int)D("mf_epochs", 60), LearningRate = D("mf_lr", 0.01), LearningRateDecay = D("mf_decay", 0.97), Regularization = D("mf_reg", 0.05), ItemRegularization = kv.ContainsKey("mf_regq") ? D("mf_regq", 0) : null, BiasRegularization = D("mf_regb", 0.01), InitStd = D("mf_init", 0.01) };
RecommenderOptions SvdppTuned = new() { Kind = RecommenderKind.SvdPlusPlus, Factors = (int)D("svdpp_factors", 50), Epochs = (int)D("svdpp_epochs", 40), LearningRate = D("svdpp_lr", 0.007), LearningRateDecay = D("svdpp_decay", 0.97), Regularization = D("svdpp_reg", 0.08), BiasRegularization = D("svdpp_regb", 0.01), InitStd = D("svdpp_init", 0.05) };
RecommenderOptions BmfTuned = new() { Kind = RecommenderKind.BayesianMf, Factors = (int)D("bmf_factors", 10), Epochs = (int)D("bmf_epochs", 400), BurnIn = (int)D("bmf_burnin", 50), Samples = (int)D("bmf_samples", 100), InitStd = 0.1, ImplicitFeedback = D("bmf_implicit", 1) > 0, ItemImplicitFeedback = D("bmf_item_implicit", 0) > 0, UserFeatures = SideUsers(), ItemFeatures = SideItems() };
RecommenderKind Kind(string s) => Enum.Parse<RecommenderKind>(s, ignoreCase: true);
string kindName = kv.GetValueOrDefault("kind", "MatrixFactorization");
switch (mode)
{
    case "ua":
    {
        var train = Read("ua.base");
        var test = Read("ua.test");
        if (D("val", 0) > 0)
            (train, test) = PerUserHoldout(train, 10, 99);
        var sw = Stopwatch.StartNew();
        if (kindName == "KnnBaseline")
        {
            var knn = KnnBaseline.Train(train, KnnOptions());
            sw.Stop();
            double knnRmse = Math.Sqrt(Enumerable.Range(0, test.Count).Average(t => Math.Pow(knn.Predict(test.Users[t], test.Items[t]) - test.Ratings[t], 2)));
            Console.WriteLine($"{{\"mode\":\"ua\",\"kind\":\"{kindName}\",\"rmse\":{knnRmse:F4},\"seconds\":{sw.Elapsed.TotalSeconds:F2},\"args\":\"{string.Join(' ', args.Skip(2))}\"}}");
            break;
        }
        // qual=1: the pairs to be predicted (not their ratings) join the implicit feedback (the Netflix-prize habit).
        var model = RecommenderTrainer.Train(train, Options(Kind(kindName)) with { ImplicitInteractions = D("qual", 0) > 0 ? test : null });
        sw.Stop();
        var r = Metrics.Ratings(model, test);
        Console.WriteLine($"{{\"mode\":\"ua\",\"kind\":\"{kindName}\",\"rmse\":{r.Rmse:F4},\"mae\":{r.Mae:F4},\"seconds\":{sw.Elapsed.TotalSeconds:F2},\"args\":\"{string.Join(' ', args.Skip(2))}\"}}");
        break;
    }
    case "loo":
    {
        var all = Read("u.data");
        var (train, test) = all.LeaveLastOut();
        if (D("val", 0) > 0)
            (train, test) = train.LeaveLastOut(); // validation: each user's second-to-last interaction
        var sw = Stopwatch.StartNew();
        var fitData = D("raw", 0) > 0 ? train : train.Positives((float)D("threshold", 0));
        if (D("boost", 0) > 0)
            fitData = fitData.RecencyWeighted(D("halflife", 10), D("boost", 0));
        var model = RecommenderTrainer.Train(fitData, Options(Kind(kindName)));
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
        // A ridge-regression blend. Validation is carved from ua.base only (PerUserHoldout); each model is
        // trained on the rest, the blend weights are fitted on its validation predictions, then every model
        // is retrained on all of ua.base with the same settings and blended on ua.test with those weights.
        var train = Read("ua.base");
        var test = Read("ua.test");
        var (fit, val) = PerUserHoldout(train, 10, 99);
        bool qual = D("qual", 0) > 0;
        var models = new List<(string Name, Func<RatingData, Func<int, int, float>> Fit)>
        {
            ("bmf", d => RecommenderTrainer.Train(d, BmfTuned with { ImplicitInteractions = qual ? (d.Count == fit.Count ? val : test) : null }).Predict),
            ("bmfii", d => RecommenderTrainer.Train(d, BmfTuned with { Factors = (int)D("bmfii_factors", 20), ItemImplicitFeedback = true, ImplicitInteractions = qual ? (d.Count == fit.Count ? val : test) : null, Seed = 45 }).Predict),
            ("bmfplain", d => RecommenderTrainer.Train(d, BmfTuned with { ImplicitFeedback = false, UserFeatures = null, ItemFeatures = null, Seed = 43 }).Predict),
            ("bmfside", d => RecommenderTrainer.Train(d, BmfTuned with { ImplicitFeedback = false, Seed = 44 }).Predict),
            ("mf", d => RecommenderTrainer.Train(d, MfTuned).Predict),
            ("svdpp", d => RecommenderTrainer.Train(d, SvdppTuned).Predict),
            ("als", d => RecommenderTrainer.Train(d, new RecommenderOptions { Kind = RecommenderKind.ExplicitAls, Factors = 30, Epochs = 12, Regularization = 0.1, BiasRegularization = 0.01 }).Predict),
            ("knn", d => KnnBaseline.Train(d, new KnnBaselineOptions { Neighbors = (int)D("k", 40), Shrinkage = D("shrink", 100) }).Predict),
        };
        if (D("implicit", 0) > 0)
            // Who-rated-what as a feature (the Netflix-prize habit): implicit ALS scores.
            models.Add(("ials", d => RecommenderTrainer.Train(d.Positives(0), new RecommenderOptions { Kind = RecommenderKind.ImplicitAls, Factors = 16, Epochs = 15, Regularization = 1, Alpha = 5 }).Predict));
        // The default members (the settled blend); only=a,b,... picks others.
        string only = kv.GetValueOrDefault("only", "bmf,mf,svdpp,als,knn");
        var allModels = models;
        bool meta = D("meta", 1) > 0;
        models = [.. models.Where(m => only.Split(',').Contains(m.Name))];
        double[] yValAll = [.. val.Ratings.Select(r => (double)r)];
        // In-sample RMSE of the ridge blend on validation, and out of sample: 5 folds of validation users, weights fitted on the other four.
        (double InSample, double Cv) ValidationRmse(double[][] x)
        {
            double lambda = D("ridge", 1.0);
            double[] wAll = Ridge(x, yValAll, lambda);
            double inSample = Math.Sqrt(Enumerable.Range(0, val.Count).Average(t => Math.Pow(Math.Clamp(x[t].Zip(wAll).Sum(z => z.First * z.Second), 1, 5) - val.Ratings[t], 2)));
            double sum = 0;
            for (int f = 0; f < 5; f++)
            {
                int[] tr = [.. Enumerable.Range(0, val.Count).Where(t => val.Users[t] % 5 != f)];
                double[] wf = Ridge([.. tr.Select(t => x[t])], [.. tr.Select(t => yValAll[t])], lambda);
                sum += Enumerable.Range(0, val.Count).Where(t => val.Users[t] % 5 == f).Sum(t => Math.Pow(Math.Clamp(x[t].Zip(wf).Sum(z => z.First * z.Second), 1, 5) - val.Ratings[t], 2));
            }
            return (inSample, Math.Sqrt(sum / val.Count));
        }
        if (kv.TryGetValue("sets", out var sets))
        {
            // Member search on validation only (ua.test is not read): every model trained once on the fit part,
            // then each set (a+b+c;d+e) blended and scored.
            var names = sets.Split(';').SelectMany(x => x.Split('+')).Distinct().ToArray();
            var preds = allModels.Where(m => names.Contains(m.Name)).ToDictionary(m => m.Name, m => m.Fit(fit));
            foreach (string set in sets.Split(';'))
            {
                var (inSample, cv) = ValidationRmse(Features(val, fit, [.. set.Split('+').Select(n => preds[n])]));
                Console.WriteLine($"{{\"mode\":\"blendsearch\",\"models\":\"{set}\",\"validation_rmse\":{inSample:F4},\"validation_cv_rmse\":{cv:F4},\"args\":\"{string.Join(' ', args.Skip(2))}\"}}");
            }
            break;
        }
        // Support features: log(1 + the user's and the item's rating count), each alone and times every model.
        double[][] Features(RatingData data, RatingData basis, Func<int, int, float>[] predictors)
        {
            var uc = new Dictionary<int, int>();
            var ic = new Dictionary<int, int>();
            for (int t = 0; t < basis.Count; t++)
            {
                uc[basis.Users[t]] = uc.GetValueOrDefault(basis.Users[t]) + 1;
                ic[basis.Items[t]] = ic.GetValueOrDefault(basis.Items[t]) + 1;
            }
            return [.. Enumerable.Range(0, data.Count).Select(t =>
            {
                double su = Math.Log(1 + uc.GetValueOrDefault(data.Users[t])) - 4, si = Math.Log(1 + ic.GetValueOrDefault(data.Items[t])) - 4;
                var p = predictors.Select(f => (double)f(data.Users[t], data.Items[t]) - 3.5).ToArray();
                return meta ? (double[])[1.0, su, si, .. p, .. p.Select(v => v * su), .. p.Select(v => v * si)] : [1.0, .. p];
            })];
        }
        var valPredictors = models.Select(m => m.Fit(fit)).ToArray();
        var xVal = Features(val, fit, valPredictors);
        double[] yVal = [.. val.Ratings.Select(r => (double)r)];
        double[] w = Ridge(xVal, yVal, D("ridge", 1.0));
        double Rmse(double[][] x, RatingData d, double[] weights) =>
            Math.Sqrt(Enumerable.Range(0, d.Count).Average(t => Math.Pow(Math.Clamp(x[t].Zip(weights).Sum(z => z.First * z.Second), 1, 5) - d.Ratings[t], 2)));
        double valRmse = Rmse(xVal, val, w);
        double cvRmse = ValidationRmse(xVal).Cv;
        var singlesVal = valPredictors.Select(f => Math.Sqrt(Enumerable.Range(0, val.Count).Average(t => Math.Pow(f(val.Users[t], val.Items[t]) - val.Ratings[t], 2)))).ToArray();
        string Fmt(IEnumerable<double> v) => string.Join(",", v.Select(x => x.ToString("F4", CultureInfo.InvariantCulture)));
        if (D("valonly", 0) > 0)
        {
            // Validation only (for choosing the blend's members and settings): ua.test is not read.
            Console.WriteLine($"{{\"mode\":\"blend\",\"models\":\"{string.Join(",", models.Select(m => m.Name))}\",\"validation_rmse\":{valRmse:F4},\"validation_cv_rmse\":{cvRmse:F4},\"single_validation\":[{Fmt(singlesVal)}],\"args\":\"{string.Join(' ', args.Skip(2))}\"}}");
            break;
        }
        var testPredictors = models.Select(m => m.Fit(train)).ToArray();
        var xTest = Features(test, train, testPredictors);
        double testRmse = Rmse(xTest, test, w);
        var singles = testPredictors.Select(f => Math.Sqrt(Enumerable.Range(0, test.Count).Average(t => Math.Pow(f(test.Users[t], test.Items[t]) - test.Ratings[t], 2)))).ToArray();
        Console.WriteLine($"{{\"mode\":\"blend\",\"models\":\"{string.Join(",", models.Select(m => m.Name))}\",\"meta\":{(meta ? "true" : "false")},\"validation_rmse\":{valRmse:F4},\"validation_cv_rmse\":{cvRmse:F4},\"rmse\":{testRmse:F4},"
            + $"\"single_validation\":[{Fmt(singlesVal)}],\"single_test\":[{Fmt(singles)}],\"weights\":[{Fmt(w)}],\"args\":\"{string.Join(' ', args.Skip(2))}\"}}");
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
    case "tabular":
    {
        // Entity embeddings vs one-hot + the same MLP on the joined ML-100K CSV (make_tabular.py), for
        // rating regression and click classification; writes occupation/zip tables as word2vec text.
        string prefix = kv["csv"];
        CsvTable Csv(string path) { using var r = File.OpenText(path); return CsvTable.Read(r, path); }
        var train = Csv(prefix + ".train.csv");
        var test = Csv(prefix + ".test.csv");
        int epochs = (int)D("epochs", 5);
        foreach (var (target, ignore) in new[] { ("rating", "click"), ("click", "rating") })
            foreach (var encoding in new[] { CategoricalEncoding.Embedding, CategoricalEncoding.OneHot })
            {
                var sw = Stopwatch.StartNew();
                using var model = TabularModel.Train(train, new TabularOptions
                {
                    Target = target, Ignore = [ignore], Categorical = ["item", "zip", "zip3"], Encoding = encoding, Epochs = epochs,
                    Task = target == "rating" ? TabularTask.Regression : TabularTask.Auto,
                    Hidden = [200, 100], LearningRate = 1e-3, Seed = 1,
                });
                var r = model.Evaluate(test);
                Console.WriteLine($"{{\"mode\":\"tabular\",\"target\":\"{target}\",\"encoding\":\"{encoding}\",\"rmse\":{r.Rmse:F4},\"auc\":{r.Auc:F4},\"accuracy\":{r.Accuracy:F4},\"seconds\":{sw.Elapsed.TotalSeconds:F1}}}");
                if (encoding == CategoricalEncoding.Embedding && kv.TryGetValue("export", out var dirOut))
                {
                    Directory.CreateDirectory(dirOut);
                    foreach (string column in new[] { "occupation", "zip", "zip3" })
                    {
                        var (vocab, rows, dims) = model.ExportEmbeddings(column);
                        using var w = new StreamWriter(Path.Combine(dirOut, $"{target}-{column}.vec"));
                        w.WriteLine($"{vocab.Length} {dims}");
                        for (int i = 0; i < vocab.Length; i++)
                            w.WriteLine(vocab[i] + " " + string.Join(" ", rows.AsSpan(i * dims, dims).ToArray().Select(x => x.ToString("R", CultureInfo.InvariantCulture))));
                    }
                }
            }
        break;
    }
    case "dlrm":
    {
        // Click (rating ≥ 4) prediction on a seeded 80/20 split of u.data: DLRM vs logistic regression on
        // the same features vs item popularity (training click rate), AUC on the test part.
        var all = Read("u.data");
        var (train, test) = all.KFold(5, 0, 2024);
        var users = new Dictionary<int, MovieLens.User>();
        using (var ur = File.OpenText(Path.Combine(dir, "u.user")))
            foreach (var u in MovieLens.ReadUsers(ur, "u.user"))
                users[u.Id] = u;
        var genres = new Dictionary<int, int[]>();
        foreach (string line in File.ReadLines(Path.Combine(dir, "u.item"), System.Text.Encoding.Latin1))
        {
            string[] f = line.Split('|');
            if (f.Length < 24)
                continue;
            genres[int.Parse(f[0], CultureInfo.InvariantCulture)] = [.. Enumerable.Range(0, 19).Where(g => f[5 + g] == "1")];
        }
        var occupation = users.Values.Select(u => u.Occupation).Distinct().Select((v, i) => (v, i)).ToDictionary(x => x.v, x => x.i);
        var zip3 = users.Values.Select(u => u.ZipCode[..3]).Distinct().Select((v, i) => (v, i)).ToDictionary(x => x.v, x => x.i);
        double ageMean = users.Values.Average(u => u.Age), ageStd = Math.Sqrt(users.Values.Average(u => (u.Age - ageMean) * (u.Age - ageMean)));
        int d = (int)D("dims", 16);
        TableConfig[] Tables(int dims) =>
        [
            new("user", 944, dims, ["user"]), new("item", 1683, dims, ["item"]), new("occupation", occupation.Count, dims, ["occupation"]),
            new("zip3", zip3.Count, dims, ["zip3"]), new("gender", 2, dims, ["gender"]), new("genre", 19, dims, ["genre"]),
        ];
        (float[] Dense, KeyedBatch Sparse, float[] Labels) Batch(RatingData data, int start, int count)
        {
            var dense = new float[count];
            var labels = new float[count];
            var cols = new Dictionary<string, int[]>
            {
                ["user"] = new int[count], ["item"] = new int[count], ["occupation"] = new int[count], ["zip3"] = new int[count], ["gender"] = new int[count],
            };
            var genreIds = new List<int>();
            var genreOffsets = new int[count + 1];
            for (int k = 0; k < count; k++)
            {
                int t = start + k;
                var u = users[data.Users[t]];
                dense[k] = (float)((u.Age - ageMean) / ageStd);
                labels[k] = data.Ratings[t] >= 4 ? 1 : 0;
                cols["user"][k] = data.Users[t];
                cols["item"][k] = data.Items[t];
                cols["occupation"][k] = occupation[u.Occupation];
                cols["zip3"][k] = zip3[u.ZipCode[..3]];
                cols["gender"][k] = u.Gender == "M" ? 0 : 1;
                genreIds.AddRange(genres[data.Items[t]]);
                genreOffsets[k + 1] = genreIds.Count;
            }
            int[] offsets = [.. Enumerable.Range(0, count + 1)];
            var batch = new KeyedBatch(count);
            foreach (var (name, ids) in cols)
                batch.Add(name, ids, offsets);
            batch.Add("genre", [.. genreIds], genreOffsets);
            return (dense, batch, labels);
        }
        int epochs = (int)D("epochs", 5), bs = (int)D("batch", 256);
        double Auc(Func<float[], KeyedBatch, float[]> score)
        {
            var (x, s, y) = Batch(test, 0, test.Count);
            return Metrics.Auc(score(x, s), y);
        }
        // DLRM.
        var sw = Stopwatch.StartNew();
        using var dlrm = new Dlrm(1, Tables(d), [32], [64, 32], seed: 1);
        var denseOpt = new DenseAdam(dlrm.DenseParameters, 1e-3);
        var sparseOpt = dlrm.Tables.Configs.ToDictionary(c => c.Name, c => (SparseOptimizer)FusedSparseBackward.Create(dlrm.Tables[c.Name], new Adam(D("slr", 0.01))));
        var order = Enumerable.Range(0, train.Count).ToArray();
        var shuffled = train.Select(order);
        for (int e = 0; e < epochs; e++)
        {
            var rng = new EmbedSharp.Numerics.SeededRandom((ulong)e + 5);
            for (int k = order.Length - 1; k > 0; k--) { int j = rng.NextInt(k + 1); (order[k], order[j]) = (order[j], order[k]); }
            shuffled = train.Select(order);
            for (int start = 0; start < shuffled.Count; start += bs)
            {
                var (x, s, y) = Batch(shuffled, start, Math.Min(bs, shuffled.Count - start));
                dlrm.TrainStep(x, s, y, denseOpt, sparseOpt);
            }
        }
        double dlrmAuc = Auc((x, s) => { var l = new float[s.BatchSize]; dlrm.Forward(x, s, l); return l; });
        double dlrmSeconds = sw.Elapsed.TotalSeconds;
        // The library's DlrmRecommender (what `rec train --model dlrm` runs): age and release year dense, early
        // stopping on a seeded tenth of the training part (patience 2, best epoch's weights restored).
        IReadOnlyList<MovieLens.Item> itemList;
        using (var ir = new StreamReader(Path.Combine(dir, "u.item"), System.Text.Encoding.Latin1))
            itemList = MovieLens.ReadItems(ir, "u.item");
        sw.Restart();
        using var early = DlrmRecommender.Train(train, [.. users.Values], itemList, new DlrmOptions { MaxEpochs = (int)D("maxepochs", 10), Patience = (int)D("patience", 2) });
        double earlySeconds = sw.Elapsed.TotalSeconds;
        var earlyReport = early.Evaluate(test);
        // Logistic regression on the same features: one weight per id (Dims = 1 tables, summed) + a weight on age.
        using var lr = new TableCollection(Tables(1), seed: 1);
        var lin = new Linear(1, 1, seed: 1);
        var linOpt = new DenseAdam(lin.Parameters, 1e-2);
        var lrOpt = lr.Configs.ToDictionary(c => c.Name, c => (SparseOptimizer)FusedSparseBackward.Create(lr[c.Name], new Adam(D("slr", 0.01))));
        float[] LrScore(float[] x, KeyedBatch s)
        {
            float[] pooled = lr.Forward(s);
            var l = new float[s.BatchSize];
            lin.Forward(x, s.BatchSize, l);
            for (int b = 0; b < l.Length; b++)
                for (int f = 0; f < lr.TotalDims; f++)
                    l[b] += pooled[b * lr.TotalDims + f];
            return l;
        }
        for (int e = 0; e < epochs; e++)
        {
            var rng = new EmbedSharp.Numerics.SeededRandom((ulong)e + 5);
            for (int k = order.Length - 1; k > 0; k--) { int j = rng.NextInt(k + 1); (order[k], order[j]) = (order[j], order[k]); }
            shuffled = train.Select(order);
            for (int start = 0; start < shuffled.Count; start += bs)
            {
                var (x, s, y) = Batch(shuffled, start, Math.Min(bs, shuffled.Count - start));
                float[] logits = LrScore(x, s);
                var g = new float[logits.Length];
                Loss.BinaryCrossEntropyWithLogits(logits, y, g);
                linOpt.ZeroGrad();
                var yy = new float[logits.Length];
                lin.Forward(x, s.BatchSize, yy);
                lin.Backward(x, yy, g, s.BatchSize, default);
                linOpt.Step();
                var gp = new float[s.BatchSize * lr.TotalDims];
                for (int b = 0; b < s.BatchSize; b++)
                    for (int f = 0; f < lr.TotalDims; f++)
                        gp[b * lr.TotalDims + f] = g[b];
                lr.BackwardAndStep(s, gp, lrOpt);
            }
        }
        double lrAuc = Auc(LrScore);
        // Popularity: the item's training click rate (add-one smoothed).
        var clicks = new Dictionary<int, (double C, double N)>();
        for (int t = 0; t < train.Count; t++)
        {
            var (c, n) = clicks.GetValueOrDefault(train.Items[t]);
            clicks[train.Items[t]] = (c + (train.Ratings[t] >= 4 ? 1 : 0), n + 1);
        }
        var popularity = new float[test.Count];
        var testLabels = new float[test.Count];
        for (int t = 0; t < test.Count; t++)
        {
            var (c, n) = clicks.GetValueOrDefault(test.Items[t]);
            popularity[t] = (float)((c + 1) / (n + 2));
            testLabels[t] = test.Ratings[t] >= 4 ? 1 : 0;
        }
        double popAuc = Metrics.Auc(popularity, testLabels);
        Console.WriteLine($"{{\"mode\":\"dlrm\",\"dlrm_auc\":{dlrmAuc:F4},\"logistic_regression_auc\":{lrAuc:F4},\"popularity_auc\":{popAuc:F4},\"epochs\":{epochs},\"dlrm_seconds\":{dlrmSeconds:F1},\"early_stopping_auc\":{earlyReport.Auc:F4},\"early_stopping_log_loss\":{earlyReport.LogLoss:F4},\"best_epoch\":{early.BestEpoch},\"epochs_run\":{early.EpochsRun},\"validation_auc\":{early.ValidationAuc:F4},\"early_seconds\":{earlySeconds:F1}}}");
        foreach (var o in sparseOpt.Values.Concat(lrOpt.Values))
            o.Dispose();
        break;
    }
    case "twotower":
    {
        // Retrieval on leave-one-out (latest interaction per user) with 99 sampled negatives: two-tower
        // vs BPR vs popularity, all scored by the same function (same negatives).
        var all = Read("u.data");
        var (train, test) = all.LeaveLastOut();
        var users = new Dictionary<int, MovieLens.User>();
        using (var ur = File.OpenText(Path.Combine(dir, "u.user")))
            foreach (var u in MovieLens.ReadUsers(ur, "u.user"))
                users[u.Id] = u;
        var genres = new Dictionary<int, int[]>();
        foreach (string line in File.ReadLines(Path.Combine(dir, "u.item"), System.Text.Encoding.Latin1))
        {
            string[] f = line.Split('|');
            if (f.Length >= 24)
                genres[int.Parse(f[0], CultureInfo.InvariantCulture)] = [.. Enumerable.Range(0, 19).Where(g => f[5 + g] == "1")];
        }
        var occupation = users.Values.Select(u => u.Occupation).Distinct().Select((v, i) => (v, i)).ToDictionary(x => x.v, x => x.i);
        var zip3 = users.Values.Select(u => u.ZipCode[..3]).Distinct().Select((v, i) => (v, i)).ToDictionary(x => x.v, x => x.i);
        int d = (int)D("dims", 32), epochs = (int)D("epochs", 20), bs = (int)D("batch", 256);
        KeyedBatch UserBatch(IReadOnlyList<int> ids)
        {
            int[] offsets = [.. Enumerable.Range(0, ids.Count + 1)];
            return new KeyedBatch(ids.Count).Add("user", [.. ids], offsets).Add("occupation", [.. ids.Select(u => occupation[users[u].Occupation])], offsets)
                .Add("zip3", [.. ids.Select(u => zip3[users[u].ZipCode[..3]])], offsets).Add("gender", [.. ids.Select(u => users[u].Gender == "M" ? 0 : 1)], offsets);
        }
        KeyedBatch ItemBatch(IReadOnlyList<int> ids)
        {
            int[] offsets = [.. Enumerable.Range(0, ids.Count + 1)];
            var g = new List<int>();
            var go = new List<int> { 0 };
            foreach (int i in ids)
            {
                g.AddRange(genres[i]);
                go.Add(g.Count);
            }
            return new KeyedBatch(ids.Count).Add("item", [.. ids], offsets).Add("genre", [.. g], [.. go]);
        }
        using var model = new TwoTower(
            new Tower([new TableConfig("user", 944, d, ["user"]), new TableConfig("occupation", occupation.Count, 8, ["occupation"]),
                new TableConfig("zip3", zip3.Count, 8, ["zip3"]), new TableConfig("gender", 2, 4, ["gender"])], [64], d, seed: 1),
            new Tower([new TableConfig("item", 1683, d, ["item"]), new TableConfig("genre", 19, 8, ["genre"], PoolingMode.Mean)], [64], d, seed: 2),
            temperature: D("temp", 0.1));
        var denseOpt = new DenseAdam(model.DenseParameters, D("lr", 2e-3));
        var userOpt = model.Users.Tables.Configs.ToDictionary(c => c.Name, c => (SparseOptimizer)FusedSparseBackward.Create(model.Users.Tables[c.Name], new Adam(D("slr", 0.01))));
        var itemOpt = model.Items.Tables.Configs.ToDictionary(c => c.Name, c => (SparseOptimizer)FusedSparseBackward.Create(model.Items.Tables[c.Name], new Adam(D("slr", 0.01))));
        var counts = new Dictionary<int, int>();
        foreach (int i in train.Items)
            counts[i] = counts.GetValueOrDefault(i) + 1;
        var order = Enumerable.Range(0, train.Count).ToArray();
        var rng = new EmbedSharp.Numerics.SeededRandom(11);
        var sw = Stopwatch.StartNew();
        bool useLogQ = D("logq", 1) > 0;
        for (int e = 0; e < epochs; e++)
        {
            for (int k = order.Length - 1; k > 0; k--) { int j = rng.NextInt(k + 1); (order[k], order[j]) = (order[j], order[k]); }
            for (int start = 0; start + bs <= order.Length; start += bs)
            {
                var us = new int[bs];
                var its = new int[bs];
                var logQ = new float[bs];
                for (int k = 0; k < bs; k++)
                {
                    us[k] = train.Users[order[start + k]];
                    its[k] = train.Items[order[start + k]];
                    logQ[k] = (float)Math.Log((double)counts[its[k]] / train.Count);
                }
                model.TrainStep(UserBatch(us), ItemBatch(its), useLogQ ? logQ : default, denseOpt, userOpt, itemOpt);
            }
        }
        double seconds = sw.Elapsed.TotalSeconds;
        int[] itemIds = [.. genres.Keys.Order()];
        int[] userIds = [.. users.Keys.Order()];
        float[] iv = model.Items.Encode(ItemBatch(itemIds));
        float[] uv = model.Users.Encode(UserBatch(userIds));
        var itemRow = itemIds.Select((v, i) => (v, i)).ToDictionary(x => x.v, x => x.i);
        var userRow = userIds.Select((v, i) => (v, i)).ToDictionary(x => x.v, x => x.i);
        float TwoTowerScore(int u, int i) => System.Numerics.Tensors.TensorPrimitives.Dot(uv.AsSpan(userRow[u] * d, d), iv.AsSpan(itemRow[i] * d, d));
        var bpr = RecommenderTrainer.Train(train, new RecommenderOptions { Kind = RecommenderKind.Bpr, Factors = 64, Epochs = 60, LearningRate = 0.1, Regularization = 0.02, LearningRateDecay = 0.96 });
        float Popularity(int u, int i) => counts.GetValueOrDefault(i);
        var seen = new Dictionary<int, HashSet<int>>();
        for (int t = 0; t < all.Count; t++)
        {
            if (!seen.TryGetValue(all.Users[t], out var set))
                seen[all.Users[t]] = set = [];
            set.Add(all.Items[t]);
        }
        (double Hr, double Ndcg) Sampled(Func<int, int, float> score)
        {
            var r = new EmbedSharp.Numerics.SeededRandom(7);
            double hr = 0, ndcg = 0;
            int n = 0;
            for (int t = 0; t < test.Count; t++)
            {
                int u = test.Users[t], target = test.Items[t];
                float s0 = score(u, target);
                int above = 0;
                for (int k = 0; k < 99; k++)
                {
                    int j;
                    do
                        j = itemIds[r.NextInt(itemIds.Length)];
                    while (seen[u].Contains(j));
                    if (score(u, j) >= s0)
                        above++;
                }
                if (above < 10)
                {
                    hr++;
                    ndcg += 1 / Math.Log2(above + 2);
                }
                n++;
            }
            return (hr / n, ndcg / n);
        }
        var tt = Sampled(TwoTowerScore);
        var bp = Sampled((u, i) => bpr.Predict(u, i));
        var pop = Sampled(Popularity);
        Console.WriteLine($"{{\"mode\":\"twotower\",\"two_tower_hr10\":{tt.Hr:F4},\"two_tower_ndcg10\":{tt.Ndcg:F4},\"bpr_hr10\":{bp.Hr:F4},\"bpr_ndcg10\":{bp.Ndcg:F4},\"popularity_hr10\":{pop.Hr:F4},\"popularity_ndcg10\":{pop.Ndcg:F4},\"temperature\":{model.Loss.Temperature:F4},\"logq\":{(useLogQ ? "true" : "false")},\"seconds\":{seconds:F1}}}");
        foreach (var o in userOpt.Values.Concat(itemOpt.Values))
            o.Dispose();
        break;
    }
}

// Validation carved from a training file only: per user, min(count, ⌊n/2⌋) of their ratings drawn
// with a seed (ua.test holds exactly 10 per user; the halving keeps the lightest users in training).
static (RatingData Fit, RatingData Validation) PerUserHoldout(RatingData data, int count, ulong seed)
{
    var byUser = new SortedDictionary<int, List<int>>();
    for (int t = 0; t < data.Count; t++)
    {
        if (!byUser.TryGetValue(data.Users[t], out var list))
            byUser[data.Users[t]] = list = [];
        list.Add(t);
    }
    var rng = new EmbedSharp.Numerics.SeededRandom(seed);
    var held = new HashSet<int>();
    foreach (var list in byUser.Values)
    {
        for (int k = list.Count - 1; k > 0; k--) { int j = rng.NextInt(k + 1); (list[k], list[j]) = (list[j], list[k]); }
        foreach (int t in list.Take(Math.Min(count, list.Count / 2)))
            held.Add(t);
    }
    int[] fit = [.. Enumerable.Range(0, data.Count).Where(t => !held.Contains(t))];
    int[] val = [.. Enumerable.Range(0, data.Count).Where(held.Contains)];
    return (data.Select(fit), data.Select(val));
}

// Ridge regression: (XᵀX + λI) w = Xᵀy, the intercept (column 0) unpenalised.
static double[] Ridge(double[][] x, double[] y, double lambda)
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
    for (int i = 1; i < n; i++)
        a[i, i] += lambda;
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
