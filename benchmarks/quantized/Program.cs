// 4-bit affine (group 64) bags and gathers over the suite's 1M × 128 table, MLX's three arrays and fused rows,
// timed in alternating rounds against our own fp32 path in the same process (so a ratio is read within a round,
// and the neighbours' load hits both sides alike). Usage: QuantizedRowsBench IDS.bin ROUNDS REPS [WORKLOADS]
// One line per workload and round: round, threads, workload, best ms, value, unit, ratio to fp32.
using System.Diagnostics;
using System.Globalization;
using EmbedSharp;
using EmbedSharp.Initializers;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

byte[] raw = File.ReadAllBytes(args[0]);
int[] ids = new int[raw.Length / 4];
Buffer.BlockCopy(raw, 0, ids, 0, ids.Length * 4);
int rounds = int.Parse(args[1], CultureInfo.InvariantCulture), reps = int.Parse(args[2], CultureInfo.InvariantCulture);
string[] only = args.Length > 3 ? args[3].Split(',') : [];
int[] offsets = Enumerable.Range(0, ids.Length / 32).Select(b => b * 32).ToArray();
float[] weights = Enumerable.Range(0, ids.Length).Select(i => 0.25f + (i % 7) * 0.125f).ToArray();
int threads = Environment.ProcessorCount;

using var dense = new Embedding(1_000_000, 128, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Uniform(-1, 1) });
EmbeddingBag DenseBag(PoolingMode mode) =>
    new(1_000_000, 128, new EmbeddingBagOptions { Mode = mode, Seed = 1, Initializer = Initializer.Uniform(-1, 1) });
using var denseBag = DenseBag(PoolingMode.Sum);
using var denseMean = DenseBag(PoolingMode.Mean);
using var denseMax = DenseBag(PoolingMode.Max);
QuantizedTable mlx = dense.ToQuantized(64, 4).Table;
QuantizedTable fused = mlx.ToLayout(QuantizedRowLayout.FusedRows);
QuantizedTable mlx8 = dense.ToQuantized(64, 8).Table;
QuantizedTable fused8 = mlx8.ToLayout(QuantizedRowLayout.FusedRows);
var gathered = new float[ids.Length * 128];
gathered.AsSpan().Fill(1);
var pooled = new float[offsets.Length * 128];

var work = new List<(string Name, string Base, bool Bag, Action Run)>
{
    ("bag_sum", "", true, () => denseBag.Forward(ids, offsets, default, pooled)),
    ("bag_weighted_sum", "", true, () => denseBag.Forward(ids, offsets, weights, pooled)),
    ("bag_mean", "", true, () => denseMean.Forward(ids, offsets, default, pooled)),
    ("bag_max", "", true, () => denseMax.Forward(ids, offsets, default, pooled)),
    ("gather_into_buffer", "", false, () => dense.Forward(ids, gathered)),
};
foreach (var (prefix, q4, q8) in new[] { ("mlx", mlx, mlx8), ("fused", fused, fused8) })
{
    var sum = new QuantizedEmbeddingBag(q4, PoolingMode.Sum);
    var mean = new QuantizedEmbeddingBag(q4, PoolingMode.Mean);
    var max = new QuantizedEmbeddingBag(q4, PoolingMode.Max);
    var sum8 = new QuantizedEmbeddingBag(q8, PoolingMode.Sum);
    var layer = new QuantizedEmbedding(q4);
    var layer8 = new QuantizedEmbedding(q8);
    work.Add(($"q4_{prefix}_bag_sum", "bag_sum", true, () => sum.Forward(ids, offsets, pooled)));
    work.Add(($"q4_{prefix}_bag_weighted_sum", "bag_weighted_sum", true, () => sum.Forward(ids, offsets, pooled, weights)));
    work.Add(($"q4_{prefix}_bag_mean", "bag_mean", true, () => mean.Forward(ids, offsets, pooled)));
    work.Add(($"q4_{prefix}_bag_max", "bag_max", true, () => max.Forward(ids, offsets, pooled)));
    work.Add(($"q4_{prefix}_gather_into_buffer", "gather_into_buffer", false, () => layer.Forward(ids, gathered)));
    work.Add(($"q8_{prefix}_bag_sum", "bag_sum", true, () => sum8.Forward(ids, offsets, pooled)));
    work.Add(($"q8_{prefix}_gather_into_buffer", "gather_into_buffer", false, () => layer8.Forward(ids, gathered)));
}
if (only.Length > 0)
    work = work.Where(w => w.Base == "" || only.Any(o => w.Name.Contains(o, StringComparison.Ordinal))).ToList();

double Best(Action a)
{
    for (int i = 0; i < 3; i++) a();
    double best = double.MaxValue;
    for (int i = 0; i < reps; i++)
    {
        long t = Stopwatch.GetTimestamp();
        a();
        best = Math.Min(best, Stopwatch.GetElapsedTime(t).TotalSeconds);
    }
    return best;
}

for (int round = 1; round <= rounds; round++)
{
    var seconds = new Dictionary<string, double>();
    foreach (var w in work)
        seconds[w.Name] = Best(w.Run);
    foreach (var w in work)
    {
        double s = seconds[w.Name];
        double value = w.Bag ? ids.Length / s / 1e6 : ids.Length * 128 * 4 / s / 1e9;
        string ratio = w.Base == "" ? "" : (seconds[w.Base] / s).ToString("F2", CultureInfo.InvariantCulture) + "x";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{round}\t{threads}\t{w.Name}_1000000x128_uniform\t{s * 1e3:F3} ms\t{value:F1} {(w.Bag ? "M ids/s" : "GB/s out")}\t{ratio}"));
    }
}
