// Speed of one KG model on one data set, measured the way benchmarks/kg/numpy_peer.py measures its side:
// training triples/s over a time budget (1-N counts two queries per triple), then filtered ranking of the
// valid split (filter: train + valid, both sides) in queries/s. Evaluation is timed warm: one pass over the
// first slice compiles the code paths first (the numpy side has no JIT to pay), then passes repeat until the
// budget is used (valid_mrr is that of the last whole pass, NaN if none finished). Prints one JSON object.
//
//   dotnet KgSpeed.dll DIR --model complex [--dims 100] [--batch-size 500] [--negatives 64] [--threads 2]
//                      [--seconds 20] [--eval-seconds 10]
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EmbedSharp.Graphs.Data;
using EmbedSharp.Graphs.Evaluation;
using EmbedSharp.Graphs.Models;
using EmbedSharp.Graphs.Training;

var settings = new Dictionary<string, string>(StringComparer.Ordinal) { ["dims"] = "100", ["negatives"] = "64", ["threads"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), ["seconds"] = "20", ["eval-seconds"] = "10" };
string? dir = null;
for (int i = 0; i < args.Length; i++)
{
    if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
        settings[args[i][2..]] = args[++i];
    else
        dir = args[i];
}
if (dir is null || !settings.TryGetValue("model", out string? name))
{
    Console.Error.WriteLine("usage: KgSpeed DIR --model transe|distmult|complex|rotate [--dims N] [--batch-size N] [--negatives N] [--threads N] [--seconds S] [--eval-seconds S]");
    return 2;
}
int Int(string key) => int.Parse(settings[key], CultureInfo.InvariantCulture);
double Num(string key) => double.Parse(settings[key], CultureInfo.InvariantCulture);
bool oneToN = name is "distmult" or "complex";
int batch = settings.ContainsKey("batch-size") ? Int("batch-size") : oneToN ? 500 : 512;
int threads = Int("threads");

using var train = new StreamReader(Path.Combine(dir, "train.txt"));
using var valid = new StreamReader(Path.Combine(dir, "valid.txt"));
var kg = KnowledgeGraph.Read(new TripleSource("train.txt", train), new TripleSource("valid.txt", valid), null, includeUnseenEntities: true);
using var model = KgModel.Create(name, kg.Entities.Count, kg.Relations.Count, new KgModelOptions { Dims = Int("dims"), InverseRelations = oneToN, Seed = 1 });
var options = new KgTrainingOptions
{
    Epochs = 1_000_000, BatchSize = batch, Negatives = Int("negatives"), Threads = threads, Seed = 1,
    Regularizer = oneToN ? KgRegularizer.N3 : KgRegularizer.None, RegularizationWeight = oneToN ? 0.01f : 0,
};
using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(Num("seconds")));
var summary = KgTrainer.Train(model, kg.Train, options, budget.Token);
double trainSeconds = summary.Elapsed.TotalSeconds;
double triples = summary.Examples / (summary.LossKind == KgLoss.OneToN ? 2.0 : 1.0);

var filter = FilterIndex.Build(kg.Entities.Count, kg.Train, kg.Valid);
LinkPrediction.Evaluate(model, kg.Valid.AsSpan(0, Math.Min(256, kg.Valid.Length)), filter); // compile the paths
// Whole passes until the budget is spent; a pass cut by the budget counts the queries ranked up to its last
// progress report, timed to that report.
long queries = 0, inPass = 0;
int passes = 0;
double lastReport = 0;
var clock = Stopwatch.StartNew();
var evalOptions = new EvaluationOptions { Progress = (done, _) => { inPass = done; lastReport = clock.Elapsed.TotalSeconds; } };
using var evalBudget = new CancellationTokenSource(TimeSpan.FromSeconds(Num("eval-seconds")));
double mrr = double.NaN;
while (true)
{
    try
    {
        inPass = 0;
        var metrics = LinkPrediction.Evaluate(model, kg.Valid, filter, evalOptions, evalBudget.Token);
        queries += metrics.Queries;
        passes++;
        mrr = metrics.Mrr;
        lastReport = clock.Elapsed.TotalSeconds;
    }
    catch (OperationCanceledException)
    {
        queries += inPass;
        break;
    }
}
double evalSeconds = lastReport;
Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
{
    ["peer"] = "embedsharp", ["model"] = name, ["threads"] = threads, ["entities"] = kg.Entities.Count,
    ["regime"] = summary.LossKind.ToString(), ["epochs"] = summary.Epochs, ["triples"] = (long)triples, ["train_seconds"] = trainSeconds,
    ["triples_per_second"] = triples / trainSeconds, ["queries"] = queries, ["eval_passes"] = passes, ["eval_seconds"] = evalSeconds,
    ["queries_per_second"] = queries / evalSeconds, ["valid_mrr"] = double.IsNaN(mrr) ? "none" : mrr,
}));
return 0;
