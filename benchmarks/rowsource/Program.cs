// Before/after harness for issue 17 (rows behind one seam): the same public calls timed against two
// checkouts of the library, each as the best of REPS calls after 3 warm-ups. Driven by run.sh.
using System.Diagnostics;
using System.Globalization;
using EmbedSharp;
using EmbedSharp.Initializers;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

// One round: each workload timed as the best of REPS calls after 3 warm-up calls; one line per workload.
int reps = int.Parse(args[0], CultureInfo.InvariantCulture);
string side = args[1];
var results = new List<(string, double)>();
void Time(string name, Action a)
{
    for (int i = 0; i < 3; i++) a();
    double best = double.MaxValue;
    for (int i = 0; i < reps; i++)
    {
        long t = Stopwatch.GetTimestamp();
        a();
        best = Math.Min(best, Stopwatch.GetElapsedTime(t).TotalSeconds);
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{side}\t{Environment.ProcessorCount}\t{name}\t{best * 1e3:F3}"));
}
int[] Ids(int n, int rows, ulong seed) { var r = new SeededRandom(seed); return Enumerable.Range(0, n).Select(_ => r.NextInt(rows)).ToArray(); }
// Zipf(s) ids, the suite's popular-items shape: inverse CDF over ranks, ranks shuffled onto ids.
int[] ZipfIds(int n, int rows, double s, ulong seed)
{
    var r = new SeededRandom(seed);
    var cdf = new double[rows];
    double total = 0;
    for (int k = 0; k < rows; k++)
        cdf[k] = total += 1 / Math.Pow(k + 1, s);
    var perm = Enumerable.Range(0, rows).ToArray();
    for (int i = perm.Length - 1; i > 0; i--)
    {
        int j = r.NextInt(i + 1);
        (perm[i], perm[j]) = (perm[j], perm[i]);
    }
    var ids = new int[n];
    for (int i = 0; i < n; i++)
    {
        int k = Array.BinarySearch(cdf, r.NextDouble() * total);
        ids[i] = perm[k < 0 ? ~k : k];
    }
    return ids;
}

int[] ids1m = Ids(65_536, 1_000_000, 7);
int[] ids50k = Ids(65_536, 50_000, 8);
int[] ids64 = Ids(4_096, 1_000_000, 9);
int[] zipf1m = ZipfIds(65_536, 1_000_000, 1.05, 10);
int[] zipf50k = ZipfIds(65_536, 50_000, 1.05, 11);
int[] offsets = Enumerable.Range(0, ids1m.Length / 32).Select(b => b * 32).ToArray();
using (var e = new Embedding(1_000_000, 128, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Uniform(-1, 1) }))
{
    var o = new float[ids1m.Length * 128]; o.AsSpan().Fill(1);
    Time("gather_1000000x128_f32", () => e.Forward(ids1m, o));
    Time("gather_1000000x128_f32_zipf", () => e.Forward(zipf1m, o));
    var o2 = new float[ids64.Length * 128]; o2.AsSpan().Fill(1);
    Time("gather_small_4096x128_f32", () => e.Forward(ids64, o2));
    var q = e.ToQuantized(64, 4);
    Time("q4_gather_1000000x128", () => q.Forward(ids1m, o));
    var qb = new QuantizedEmbeddingBag(q.Table, PoolingMode.Sum);
    var pooled = new float[offsets.Length * 128];
    Time("q4_bag_sum", () => qb.Forward(ids1m, offsets, pooled));
    var qm = new QuantizedEmbeddingBag(q.Table, PoolingMode.Max);
    Time("q4_bag_max", () => qm.Forward(ids1m, offsets, pooled));
    var w = Enumerable.Repeat(0.5f, ids1m.Length).ToArray();
    Time("q4_bag_weighted_sum", () => qb.Forward(ids1m, offsets, pooled, w));
}
using (var e = new Embedding(50_000, 768, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Uniform(-1, 1), DType = DType.Float16 }))
{
    var o = new float[ids50k.Length * 768]; o.AsSpan().Fill(1);
    Time("gather_50000x768_f16", () => e.Forward(ids50k, o));
}
using (var e = new Embedding(50_000, 768, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Uniform(-1, 1) }))
{
    var o = new float[ids50k.Length * 768]; o.AsSpan().Fill(1);
    Time("gather_50000x768_f32", () => e.Forward(ids50k, o));
    Time("gather_50000x768_f32_zipf", () => e.Forward(zipf50k, o));
}
foreach (var mode in new[] { PoolingMode.Sum, PoolingMode.Mean, PoolingMode.Max })
{
    using var bag = new EmbeddingBag(1_000_000, 128, new EmbeddingBagOptions { Mode = mode, Seed = 1 });
    var pooled = new float[offsets.Length * 128];
    Time($"bag_{mode}_1000000x128_f32", () => bag.Forward(ids1m, offsets, default, pooled));
    Time($"bag_{mode}_1000000x128_f32_zipf", () => bag.Forward(zipf1m, offsets, default, pooled));
}
using (var bag = new EmbeddingBag(1_000_000, 128, new EmbeddingBagOptions { Mode = PoolingMode.Sum, Seed = 1, DType = DType.BFloat16 }))
{
    var pooled = new float[offsets.Length * 128];
    Time("bag_Sum_1000000x128_bf16", () => bag.Forward(ids1m, offsets, default, pooled));
}
using (var head = new Embedding(50_257, 768, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Gpt2 }))
{
    var r = new SeededRandom(2);
    var x1 = Enumerable.Range(0, 768).Select(_ => (float)r.NextNormal()).ToArray();
    var xb = Enumerable.Range(0, 64 * 768).Select(_ => (float)r.NextNormal()).ToArray();
    var y1 = new float[50_257]; var yb = new float[64 * 50_257];
    Time("gemv_50257x768", () => head.AsLinear(x1, y1));
    Time("gemm_64x768x50257", () => head.AsLinear(xb, yb));
    var hq = head.ToQuantized(64, 4);
    Time("q4_gemv_50257x768", () => hq.AsLinear(x1, y1));
    Time("q4_gemm_64x768x50257", () => hq.AsLinear(xb, yb));
}
// The suite's fused sparse steps (TrainSuite): 65,536 uniform ids into 1M x 128, guard on and off.
using (var e = new Embedding(1_000_000, 128, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Uniform(-1, 1) }))
{
    var r = new SeededRandom(3);
    var grad = Enumerable.Range(0, ids1m.Length * 128).Select(_ => (float)r.NextNormal() * 1e-3f).ToArray();
    var noGuard = new SparseOptimizerOptions { GuardNonFinite = false };
    using (var o = FusedSparseBackward.Create(e.Weight, new LazyAdam(1e-3))) Time("sparse_adam_step", () => e.BackwardAndStep(ids1m, grad, o));
    using (var o = FusedSparseBackward.Create(e.Weight, new Adagrad(1e-2))) Time("sparse_adagrad_step", () => e.BackwardAndStep(ids1m, grad, o));
    using (var o = FusedSparseBackward.Create(e.Weight, new Sgd(1e-2))) Time("sparse_sgd_step", () => e.BackwardAndStep(ids1m, grad, o));
    using (var o = FusedSparseBackward.Create(e.Weight, new LazyAdam(1e-3), noGuard)) Time("sparse_adam_noguard_step", () => e.BackwardAndStep(ids1m, grad, o));
    using (var o = FusedSparseBackward.Create(e.Weight, new Sgd(1e-2), noGuard)) Time("sparse_sgd_noguard_step", () => e.BackwardAndStep(ids1m, grad, o));
}
