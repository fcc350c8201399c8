using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using EmbedSharp.Cli.Io;
using EmbedSharp.Cli.Output;
using EmbedSharp.Graphs.Data;
using EmbedSharp.Graphs.Evaluation;
using EmbedSharp.Graphs.Models;
using EmbedSharp.Graphs.Training;

namespace EmbedSharp.Cli.Commands;

/// <summary>
/// <c>embedsharp kg train DIR --out MODEL</c>: reads DIR/train.txt (and valid.txt, test.txt when present),
/// trains, reports filtered MRR on valid (and test), and writes the model as safetensors. Settings come
/// from the command line, else from <c>--config FILE</c> (a JSON object with the same names), else the
/// model's defaults.
/// </summary>
internal static class KgTrainCommand
{
    private const string Op = "kg train";

    /// <summary>Every setting's name, as a <c>--option</c> and as a config key (with '-' for '_').</summary>
    private static readonly string[] Keys =
    [
        "model", "dims", "epochs", "batch-size", "lr", "optimizer", "loss", "negatives", "shared-negatives", "corruption", "margin", "gamma",
        "adversarial-temperature", "regularizer", "reg-weight", "inverse", "norm", "init-scale", "seed", "threads", "eval-every",
        "relation-reg-weight", "entity-dropout", "relation-dropout", "lr-decay", "final-lr-factor",
        "relation-lr", "alternate-sides", "filter-negatives", "subsampling-weights",
    ];

    public static Command Create(IConsole console)
    {
        var dir = new Argument<string>("dir") { Description = "A folder with train.txt and, optionally, valid.txt and test.txt (head<TAB>relation<TAB>tail per line)." };
        var output = new Option<string>("--out", "-o") { Description = "Where to write the model (.safetensors).", Required = true };
        var config = new Option<string?>("--config") { Description = "A JSON file of settings, e.g. {\"model\": \"complex\", \"dims\": 200, \"reg-weight\": 0.05}; options given on the command line win." };
        var curve = new Option<string?>("--curve") { Description = "Write the epoch/time/loss/valid-MRR curve as CSV here (with --eval-every); rewritten after each evaluation, so a run that is killed keeps its curve so far." };
        var plot = new Option<string?>("--plot") { Description = "Plot the valid-MRR curve against training time to this PNG (with --eval-every); rewritten after each evaluation, like --curve." };
        var json = CommonOptions.Json();
        var allEntities = new Option<bool>("--all-entities") { Description = "Number entities from every split, so valid/test triples naming entities training never saw are ranked (with untrained rows) instead of being an error; published WN18RR results count them this way." };
        var timeLimit = new Option<double?>("--time-limit") { Description = "Stop training after this many seconds (then evaluate and save as after Ctrl-C)." };
        var options = new Dictionary<string, Option>
        {
            ["model"] = new Option<string?>("--model") { Description = "transe, distmult, complex or rotate (default complex)." },
            ["dims"] = new Option<int?>("--dims") { Description = "Rank: real dims (transe, distmult) or complex dims (complex, rotate; rows hold 2 × dims floats). Default 200." },
            ["epochs"] = new Option<int?>("--epochs") { Description = "Passes over the training triples (default 50)." },
            ["batch-size"] = new Option<int?>("--batch-size") { Description = "Triples (1-N: queries) per step (default 500)." },
            ["lr"] = new Option<double?>("--lr") { Description = "Learning rate (default 0.1 for adagrad, 0.001 for adam)." },
            ["optimizer"] = new Option<string?>("--optimizer") { Description = "adagrad, adam or rowwise-adagrad (default adagrad for 1-N, adam otherwise)." },
            ["loss"] = new Option<string?>("--loss") { Description = "auto, 1-n, margin or self-adversarial (auto: 1-n for distmult/complex, margin for transe, self-adversarial for rotate)." },
            ["negatives"] = new Option<int?>("--negatives") { Description = "Negatives per positive for negative sampling (default 64)." },
            ["shared-negatives"] = new Option<bool?>("--shared-negatives") { Description = "Share one set of negatives per batch." },
            ["corruption"] = new Option<string?>("--corruption") { Description = "uniform or bernoulli (default uniform)." },
            ["margin"] = new Option<float?>("--margin") { Description = "Margin of the margin loss (default 1)." },
            ["gamma"] = new Option<float?>("--gamma") { Description = "γ of the distance models, score = γ − distance (default: transe 0, rotate 6)." },
            ["adversarial-temperature"] = new Option<float?>("--adversarial-temperature") { Description = "α of self-adversarial sampling (default 1)." },
            ["regularizer"] = new Option<string?>("--regularizer") { Description = "none, l2 or n3 (default n3 for complex/distmult, none otherwise)." },
            ["reg-weight"] = new Option<float?>("--reg-weight") { Description = "Regularizer weight λ (default 0.01 with n3, else 0)." },
            ["inverse"] = new Option<bool?>("--inverse") { Description = "Reciprocal relations (default true for complex/distmult, false otherwise)." },
            ["norm"] = new Option<int?>("--norm") { Description = "TransE distance: 1 or 2 (default 1)." },
            ["init-scale"] = new Option<float?>("--init-scale") { Description = "Scale of the initial weights (default: the model's)." },
            ["relation-reg-weight"] = new Option<float?>("--relation-reg-weight") { Description = "Regularizer weight on relation rows (default: --reg-weight)." },
            ["entity-dropout"] = new Option<float?>("--entity-dropout") { Description = "1-N only: dropout probability on each query's anchor entity row, in [0, 1) (default 0)." },
            ["relation-dropout"] = new Option<float?>("--relation-dropout") { Description = "1-N only: dropout probability on each query's relation row, in [0, 1) (default 0)." },
            ["lr-decay"] = new Option<string?>("--lr-decay") { Description = "constant, linear, cosine or step: the learning rate falls from --lr to --final-lr-factor × --lr over the planned --epochs (step: at half of them, as RotatE's reference code with factor 0.1) (default constant). With a time budget, plan the epochs that fit." },
            ["final-lr-factor"] = new Option<double?>("--final-lr-factor") { Description = "Fraction of --lr left at the end of the planned epochs under --lr-decay, in [0, 1] (default 0)." },
            ["relation-lr"] = new Option<double?>("--relation-lr") { Description = "Learning rate of the relation table (default: --lr). RotatE's reference code stores phases scaled by (gamma + 2) / (pi · dims); under Adam that equals --relation-lr = --lr · pi · dims / (gamma + 2)." },
            ["alternate-sides"] = new Option<bool?>("--alternate-sides") { Description = "Negative sampling: corrupt tails in even batches and heads in odd ones (RotatE's reference code) instead of a side per triple." },
            ["filter-negatives"] = new Option<bool?>("--filter-negatives") { Description = "Negative sampling: draw again a negative that forms a training triple (RotatE's reference data loader)." },
            ["subsampling-weights"] = new Option<bool?>("--subsampling-weights") { Description = "Negative sampling: weight each triple by 1/sqrt(count(h, r) + count(t, r^-1)) and normalise by the batch's weight sum (RotatE's reference code)." },
            ["seed"] = new Option<ulong?>("--seed") { Description = "Random seed (default 1; runs repeat exactly for a given --threads)." },
            ["threads"] = new Option<int?>("--threads") { Description = "Worker threads (default: all processors)." },
            ["eval-every"] = new Option<int?>("--eval-every") { Description = "Evaluate filtered valid MRR every N epochs for the curve (default 0: only at the end)." },
        };
        var cmd = new Command("train", "Train a knowledge-graph model and save it as safetensors; prints filtered MRR on valid (and test) at the end.\n\nExamples:\n  embedsharp kg train ../shared/data/kg/umls --model complex --dims 200 --out umls.safetensors\n  embedsharp kg train ../shared/data/kg/kinship --config benchmarks/kg/configs/kinship-complex.json --out kinship.safetensors\n  embedsharp kg train data/WN18RR --model rotate --dims 500 --negatives 256 --eval-every 5 --curve curve.csv --plot curve.png --out wn.safetensors\n\nCtrl-C stops at the next batch and still writes the model.")
        {
            dir, output, config, curve, plot, json, timeLimit, allEntities,
        };
        foreach (var o in options.Values)
            cmd.Options.Add(o);
        cmd.SetAction((r, ct) =>
        {
            var given = options.ToDictionary(kv => kv.Key, kv => kv.Value switch
            {
                Option<string?> o => (object?)r.GetValue(o),
                Option<int?> o => r.GetValue(o),
                Option<double?> o => r.GetValue(o),
                Option<float?> o => r.GetValue(o),
                Option<bool?> o => r.GetValue(o),
                Option<ulong?> o => r.GetValue(o),
                _ => null,
            });
            using var limited = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (r.GetValue(timeLimit) is double seconds)
            {
                if (!(seconds > 0) || double.IsInfinity(seconds))
                    throw new ArgumentOutOfRangeException(nameof(timeLimit), $"[{Op}] --time-limit must be a number of seconds > 0");
                limited.CancelAfter(TimeSpan.FromSeconds(seconds));
            }
            return Task.FromResult(Run(console, r.GetValue(dir)!, r.GetValue(output)!, r.GetValue(config), given, r.GetValue(curve), r.GetValue(plot), r.GetValue(json), r.GetValue(allEntities), limited.Token));
        });
        return cmd;
    }

    /// <summary>Resolved settings of one run.</summary>
    internal sealed record Settings(string Model, int Dims, int Epochs, int BatchSize, double? Lr, string? Optimizer, string Loss, int Negatives, bool SharedNegatives,
        string Corruption, float Margin, float? Gamma, float AdversarialTemperature, string Regularizer, float RegWeight, bool Inverse, int Norm, float? InitScale,
        ulong Seed, int Threads, int EvalEvery)
    {
        /// <summary>Regularizer weight on relation rows; null: <see cref="RegWeight"/>.</summary>
        public float? RelationRegWeight { get; init; }

        /// <summary>1-N dropout on the anchor entity row.</summary>
        public float EntityDropout { get; init; }

        /// <summary>1-N dropout on the relation row.</summary>
        public float RelationDropout { get; init; }

        /// <summary>constant, linear or cosine.</summary>
        public string LrDecay { get; init; } = "constant";

        /// <summary>Fraction of the rate left at the last planned step.</summary>
        public double FinalLrFactor { get; init; }

        /// <summary>Learning rate of the relation table; null: <see cref="Lr"/>.</summary>
        public double? RelationLr { get; init; }

        /// <summary>Corrupt tails in even batches, heads in odd ones.</summary>
        public bool AlternateSides { get; init; }

        /// <summary>Redraw negatives that form training triples.</summary>
        public bool FilterNegatives { get; init; }

        /// <summary>RotatE's subsampling weights.</summary>
        public bool SubsamplingWeights { get; init; }
    }

    internal static Settings Resolve(IReadOnlyDictionary<string, object?> given, string? configPath)
    {
        var config = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (configPath is not null)
        {
            if (!File.Exists(configPath))
                throw new FileNotFoundException($"[{Op}] no such config file: {configPath}", configPath);
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(File.ReadAllText(configPath));
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"[{Op}] {configPath}:{ex.LineNumber + 1}: not valid JSON ({ex.Message.Split('.')[0]})");
            }
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"[{Op}] {configPath}: the config must be one JSON object of settings");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                string key = p.Name.Replace('_', '-');
                if (key is "comment" or "description" or "dataset")
                    continue;
                if (!Keys.Contains(key))
                    throw new InvalidDataException($"[{Op}] {configPath}: unknown setting '{p.Name}'; valid settings are {string.Join(", ", Keys)}");
                config[key] = p.Value.Clone();
            }
        }
        T? Get<T>(string key)
        {
            if (given.TryGetValue(key, out var v) && v is not null)
                return (T)v;
            if (!config.TryGetValue(key, out var e))
                return default;
            try
            {
                Type u = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
                object value = u == typeof(string) ? e.GetString()! : u == typeof(bool) ? e.GetBoolean() : u == typeof(int) ? e.GetInt32()
                    : u == typeof(double) ? e.GetDouble() : u == typeof(float) ? e.GetSingle() : (object)e.GetUInt64();
                return (T)value;
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"[{Op}] {configPath}: setting '{key}' = {e.GetRawText()} is not a {(Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T)).Name.ToLowerInvariant()}");
            }
        }
        string model = (Get<string>("model") ?? "complex").ToLowerInvariant();
        if (!KgModel.ModelNames.Contains(model))
            throw new ArgumentException($"[{Op}] unknown model '{model}'; valid values are {string.Join(", ", KgModel.ModelNames)}");
        bool bilinear = model is "complex" or "distmult";
        string regularizer = (Get<string>("regularizer") ?? (bilinear ? "n3" : "none")).ToLowerInvariant();
        var s = new Settings(
            model, Get<int?>("dims") ?? 200, Get<int?>("epochs") ?? 50, Get<int?>("batch-size") ?? 500, Get<double?>("lr"), Get<string>("optimizer")?.ToLowerInvariant(),
            (Get<string>("loss") ?? "auto").ToLowerInvariant(), Get<int?>("negatives") ?? 64, Get<bool?>("shared-negatives") ?? false,
            (Get<string>("corruption") ?? "uniform").ToLowerInvariant(), Get<float?>("margin") ?? 1, Get<float?>("gamma"), Get<float?>("adversarial-temperature") ?? 1,
            regularizer, Get<float?>("reg-weight") ?? (regularizer == "n3" ? 0.01f : 0), Get<bool?>("inverse") ?? bilinear, Get<int?>("norm") ?? 1,
            Get<float?>("init-scale"), Get<ulong?>("seed") ?? 1, Get<int?>("threads") ?? Environment.ProcessorCount, Get<int?>("eval-every") ?? 0)
        {
            RelationRegWeight = Get<float?>("relation-reg-weight"), EntityDropout = Get<float?>("entity-dropout") ?? 0, RelationDropout = Get<float?>("relation-dropout") ?? 0,
            LrDecay = (Get<string>("lr-decay") ?? "constant").ToLowerInvariant(), FinalLrFactor = Get<double?>("final-lr-factor") ?? 0,
            RelationLr = Get<double?>("relation-lr"), AlternateSides = Get<bool?>("alternate-sides") ?? false, FilterNegatives = Get<bool?>("filter-negatives") ?? false,
            SubsamplingWeights = Get<bool?>("subsampling-weights") ?? false,
        };
        if (s.LrDecay is not ("constant" or "linear" or "cosine" or "step"))
            throw new ArgumentException($"[{Op}] unknown lr-decay '{s.LrDecay}'; valid values are constant, linear, cosine, step");
        if (s.RelationLr is double rlr && !(rlr > 0 && double.IsFinite(rlr)))
            throw new ArgumentOutOfRangeException(nameof(given), $"[{Op}] --relation-lr must be a finite number > 0, not {rlr.ToString(CultureInfo.InvariantCulture)}");
        if (!(s.FinalLrFactor >= 0 && s.FinalLrFactor <= 1))
            throw new ArgumentOutOfRangeException(nameof(given), $"[{Op}] --final-lr-factor must be in [0, 1], not {s.FinalLrFactor.ToString(CultureInfo.InvariantCulture)}");
        if (s.RelationRegWeight is float rw && !(rw >= 0 && float.IsFinite(rw)))
            throw new ArgumentOutOfRangeException(nameof(given), $"[{Op}] --relation-reg-weight must be a finite number ≥ 0, not {rw.ToString(CultureInfo.InvariantCulture)}");
        if (!(s.EntityDropout >= 0 && s.EntityDropout < 1))
            throw new ArgumentOutOfRangeException(nameof(given), $"[{Op}] --entity-dropout must be in [0, 1), not {s.EntityDropout.ToString(CultureInfo.InvariantCulture)}");
        if (!(s.RelationDropout >= 0 && s.RelationDropout < 1))
            throw new ArgumentOutOfRangeException(nameof(given), $"[{Op}] --relation-dropout must be in [0, 1), not {s.RelationDropout.ToString(CultureInfo.InvariantCulture)}");
        if (s.Loss is not ("auto" or "1-n" or "margin" or "self-adversarial"))
            throw new ArgumentException($"[{Op}] unknown loss '{s.Loss}'; valid values are auto, 1-n, margin, self-adversarial");
        if (s.Optimizer is not (null or "adagrad" or "adam" or "rowwise-adagrad"))
            throw new ArgumentException($"[{Op}] unknown optimizer '{s.Optimizer}'; valid values are adagrad, adam, rowwise-adagrad");
        if (s.Corruption is not ("uniform" or "bernoulli"))
            throw new ArgumentException($"[{Op}] unknown corruption '{s.Corruption}'; valid values are uniform, bernoulli");
        if (s.Regularizer is not ("none" or "l2" or "n3"))
            throw new ArgumentException($"[{Op}] unknown regularizer '{s.Regularizer}'; valid values are none, l2, n3");
        if (s.EvalEvery < 0)
            throw new ArgumentOutOfRangeException(nameof(given), $"[{Op}] --eval-every must be ≥ 0");
        return s;
    }

    public static int Run(IConsole console, string dir, string output, string? configPath, IReadOnlyDictionary<string, object?> given, string? curvePath, string? plotPath, bool json, bool allEntities, CancellationToken ct)
    {
        var s = Resolve(given, configPath);
        string trainPath = Path.Combine(dir, "train.txt"), validPath = Path.Combine(dir, "valid.txt"), testPath = Path.Combine(dir, "test.txt");
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"[{Op}] no such folder: {dir}");
        if (!File.Exists(trainPath))
            throw new FileNotFoundException($"[{Op}] {dir} has no train.txt; the folder must hold train.txt (and optionally valid.txt, test.txt)", trainPath);
        OutputPaths.Prepare(output);
        var r = new Renderer(console, json);
        KnowledgeGraph kg;
        using (var train = KgModelFile.Open(Op, trainPath).Reader)
        using (var valid = File.Exists(validPath) ? File.OpenText(validPath) : null)
        using (var test = File.Exists(testPath) ? File.OpenText(testPath) : null)
            kg = KnowledgeGraph.Read(new(trainPath, train), valid is null ? null : new(validPath, valid), test is null ? null : new(testPath, test), allEntities);
        var filter = kg.AllKnown();
        r.Line($"{dir}: {kg.Entities.Count:N0} entities, {kg.Relations.Count:N0} relations, {kg.Train.Length:N0} train / {kg.Valid.Length:N0} valid / {kg.Test.Length:N0} test triples"
            + (kg.Test.Length == 0 ? " (no test split: results are on valid)" : ""));
        using var model = KgModel.Create(s.Model, kg.Entities.Count, kg.Relations.Count, new KgModelOptions
        {
            Dims = s.Dims, InverseRelations = s.Inverse, Gamma = s.Gamma, Norm = s.Norm, InitScale = s.InitScale, Seed = s.Seed,
        });
        var curve = new List<(double Epoch, double Seconds, double Loss, double ValidMrr)>();
        double evalSeconds = 0;
        var options = new KgTrainingOptions
        {
            Epochs = s.Epochs, BatchSize = s.BatchSize, LearningRate = s.Lr, Negatives = s.Negatives, SharedNegatives = s.SharedNegatives,
            Margin = s.Margin, AdversarialTemperature = s.AdversarialTemperature, RegularizationWeight = s.RegWeight, Seed = s.Seed, Threads = s.Threads,
            RelationRegularizationWeight = s.RelationRegWeight, EntityDropout = s.EntityDropout, RelationDropout = s.RelationDropout,
            LearningRateDecay = s.LrDecay switch { "linear" => KgLearningRateDecay.Linear, "cosine" => KgLearningRateDecay.Cosine, "step" => KgLearningRateDecay.Step, _ => KgLearningRateDecay.Constant },
            FinalLearningRateFactor = s.FinalLrFactor,
            RelationLearningRate = s.RelationLr, AlternateSides = s.AlternateSides, FilterNegatives = s.FilterNegatives, SubsamplingWeights = s.SubsamplingWeights,
            Loss = s.Loss switch { "1-n" => KgLoss.OneToN, "margin" => KgLoss.Margin, "self-adversarial" => KgLoss.SelfAdversarial, _ => KgLoss.Auto },
            Optimizer = s.Optimizer switch { "adagrad" => KgOptimizer.Adagrad, "adam" => KgOptimizer.Adam, "rowwise-adagrad" => KgOptimizer.RowwiseAdagrad, _ => null },
            Corruption = s.Corruption == "bernoulli" ? CorruptionMode.Bernoulli : CorruptionMode.Uniform,
            Regularizer = s.Regularizer switch { "l2" => KgRegularizer.L2, "n3" => KgRegularizer.N3, _ => KgRegularizer.None },
        };
        r.Line($"training {s.Model}: {s.Dims} dims, {s.Epochs} epochs, batch {s.BatchSize}, {s.Threads} thread(s)");
        var summary = r.Progress($"kg {s.Model}", report => KgTrainer.Train(model, kg.Train, options with
        {
            Progress = e =>
            {
                report((double)e.Epoch / e.Epochs);
                bool evaluate = s.EvalEvery > 0 && kg.Valid.Length > 0 && (e.Epoch % s.EvalEvery == 0 || e.Epoch == e.Epochs);
                double mrr = double.NaN;
                // e.Elapsed was read before this evaluation: only the earlier ones come off it.
                double trainSeconds = e.Elapsed.TotalSeconds - evalSeconds;
                if (evaluate)
                {
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    mrr = LinkPrediction.Evaluate(model, kg.Valid, filter).Mrr;
                    evalSeconds += clock.Elapsed.TotalSeconds;
                }
                curve.Add((e.Epoch, trainSeconds, e.Loss, mrr));
                // Kept on disk as it grows, so a run that is killed (not only stopped) still leaves its curve.
                if (evaluate && curvePath is not null)
                    WriteCurve(curvePath, curve);
                if (evaluate && plotPath is not null)
                    WritePlot(plotPath, s.Model, dir, curve);
                if (!r.Interactive && (evaluate || e.Epoch == e.Epochs || (s.EvalEvery == 0 && e.Epoch % Math.Max(1, e.Epochs / 10) == 0)))
                    r.Line($"epoch {e.Epoch}/{e.Epochs}: loss {F(e.Loss)}, {trainSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s" + (evaluate ? $", valid MRR {F(mrr)}" : ""));
            },
        }, ct));
        double trainTime = summary.Elapsed.TotalSeconds - evalSeconds;
        var result = new Dictionary<string, object?>
        {
            ["model"] = s.Model,
            ["epochs"] = summary.Epochs,
            ["cancelled"] = summary.Cancelled,
            ["loss"] = double.IsFinite(summary.Loss) ? summary.Loss : null,
            ["train_seconds"] = trainTime,
            ["examples_per_second"] = trainTime > 0 ? summary.Examples / trainTime : 0,
            // 1-N counts two queries per triple; negative sampling one positive per triple.
            ["triples_per_second"] = trainTime > 0 ? summary.Examples / (summary.LossKind == KgLoss.OneToN ? 2.0 : 1.0) / trainTime : 0,
        };
        foreach (var (name, split) in new[] { ("valid", kg.Valid), ("test", kg.Test) })
        {
            if (split.Length == 0)
                continue;
            var m = LinkPrediction.Evaluate(model, split, filter, cancellationToken: CancellationToken.None);
            result[$"{name}_mrr"] = m.Mrr;
            result[$"{name}_mr"] = m.MeanRank;
            result[$"{name}_hits_at_1"] = m.HitsAt1;
            result[$"{name}_hits_at_3"] = m.HitsAt3;
            result[$"{name}_hits_at_10"] = m.HitsAt10;
            if (name == "valid" && (curve.Count == 0 || double.IsNaN(curve[^1].ValidMrr) || summary.Cancelled))
            {
                // The run's end is a point of the curve too (a time-limited run may stop inside an epoch).
                double epochs = summary.Examples / (kg.Train.Length * (summary.LossKind == KgLoss.OneToN ? 2.0 : 1.0));
                curve.Add((epochs, trainTime, double.IsFinite(summary.Loss) ? summary.Loss : double.NaN, m.Mrr));
            }
            r.Line($"{name} (filtered, {split.Length:N0} triples): MRR {F(m.Mrr)}, MR {m.MeanRank.ToString("0.0", CultureInfo.InvariantCulture)}, Hits@1 {F(m.HitsAt1)}, Hits@3 {F(m.HitsAt3)}, Hits@10 {F(m.HitsAt10)}");
        }
        var settingsJson = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["model"] = s.Model, ["dims"] = s.Dims, ["epochs"] = s.Epochs, ["batch-size"] = s.BatchSize, ["lr"] = s.Lr, ["optimizer"] = s.Optimizer, ["loss"] = summary.LossKind.ToString(),
            ["negatives"] = s.Negatives, ["shared-negatives"] = s.SharedNegatives, ["corruption"] = s.Corruption, ["margin"] = (double)s.Margin, ["gamma"] = (double)model.Gamma,
            ["adversarial-temperature"] = (double)s.AdversarialTemperature, ["regularizer"] = s.Regularizer, ["reg-weight"] = (double)s.RegWeight, ["inverse"] = s.Inverse, ["norm"] = s.Norm,
            ["relation-reg-weight"] = (double)(s.RelationRegWeight ?? s.RegWeight), ["entity-dropout"] = (double)s.EntityDropout, ["relation-dropout"] = (double)s.RelationDropout, ["lr-decay"] = s.LrDecay, ["final-lr-factor"] = s.FinalLrFactor,
            ["relation-lr"] = s.RelationLr, ["alternate-sides"] = s.AlternateSides, ["filter-negatives"] = s.FilterNegatives, ["subsampling-weights"] = s.SubsamplingWeights,
            ["seed"] = s.Seed.ToString(CultureInfo.InvariantCulture), ["threads"] = s.Threads, ["epochs-completed"] = summary.Epochs,
        }, CliJsonContext.Default.IReadOnlyDictionaryStringObject);
        KgModelFile.Save(output, model, kg.Entities, kg.Relations, settingsJson);
        if (curvePath is not null)
            WriteCurve(curvePath, curve);
        if (plotPath is not null)
        {
            if (!curve.Any(c => !double.IsNaN(c.ValidMrr)))
                throw new ArgumentException($"[{Op}] --plot needs valid-MRR points: give a folder with valid.txt (and --eval-every N for more than the final point)");
            WritePlot(plotPath, s.Model, dir, curve);
        }
        if (json)
            r.JsonLine(result);
        r.Line($"{(summary.Cancelled ? "stopped early (Ctrl-C or --time-limit); saved what was learned: " : "")}{summary.Epochs} epoch(s), {trainTime.ToString("0.0", CultureInfo.InvariantCulture)} s training");
        r.Line($"wrote {Path.GetFullPath(output)}");
        return EmbedSharpCli.Ok;
    }

    /// <summary>The valid-MRR points of the curve against training time as a PNG (rewritten after every evaluation, like the CSV; the plot writer renames a temp file).</summary>
    private static void WritePlot(string path, string model, string dir, List<(double Epoch, double Seconds, double Loss, double ValidMrr)> curve)
    {
        var points = curve.Where(c => !double.IsNaN(c.ValidMrr)).ToArray();
        if (points.Length == 0)
            return;
        OutputPaths.Prepare(path);
        Plots.Curve(path, $"{model} on {Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/'))}: filtered valid MRR", "training time (s)", "valid MRR",
            [(model, points.Select(p => p.Seconds).ToArray(), points.Select(p => p.ValidMrr).ToArray())]);
    }

    /// <summary>The curve as CSV (epoch, train_seconds, loss, valid_mrr), written to a temp file and renamed over <paramref name="path"/>.</summary>
    private static void WriteCurve(string path, List<(double Epoch, double Seconds, double Loss, double ValidMrr)> curve)
    {
        string full = OutputPaths.Prepare(path);
        var sb = new StringBuilder("epoch,train_seconds,loss,valid_mrr\n");
        foreach (var c in curve)
            sb.Append(CultureInfo.InvariantCulture, $"{c.Epoch:0.###},{c.Seconds:0.###},{(double.IsNaN(c.Loss) ? "" : c.Loss.ToString("0.######", CultureInfo.InvariantCulture))},{(double.IsNaN(c.ValidMrr) ? "" : c.ValidMrr.ToString("0.######", CultureInfo.InvariantCulture))}\n");
        string temp = full + ".tmp-" + Environment.ProcessId;
        try
        {
            File.WriteAllText(temp, sb.ToString());
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
                File.Delete(temp);
        }
    }

    internal static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
}
