// The workloads of the issue-17 before/after harness: the same public calls, compiled once against each
// library checkout (run.sh builds this project twice). The driver loads each build into its own
// AssemblyLoadContext and calls All(); it never references EmbedSharp itself.
using EmbedSharp;
using EmbedSharp.Initializers;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace RowSourceWorkloads;

/// <summary>The suite's workloads: each builds its tables in Setup, times one call in Run, frees in Teardown.</summary>
public static class Workloads
{
    private const int Rows1M = 1_000_000;

    private static readonly Lazy<int[]> Ids1M = new(() => Ids(65_536, Rows1M, 7));
    private static readonly Lazy<int[]> Ids50K = new(() => Ids(65_536, 50_000, 8));
    private static readonly Lazy<int[]> Ids4K = new(() => Ids(4_096, Rows1M, 9));
    private static readonly Lazy<int[]> Zipf1M = new(() => ZipfIds(65_536, Rows1M, 1.05, 10));
    private static readonly Lazy<int[]> Zipf50K = new(() => ZipfIds(65_536, 50_000, 1.05, 11));
    private static readonly Lazy<int[]> Offsets = new(() => Enumerable.Range(0, 65_536 / 32).Select(b => b * 32).ToArray());

    /// <summary>Every workload, in the order the driver runs them.</summary>
    public static IReadOnlyList<(string Name, Action Setup, Action Run, Action Teardown)> All()
    {
        var list = new List<(string, Action, Action, Action)>
        {
            Make("gather_1000000x128_f32", () => Dense(Rows1M, 128, 65_536), s => s.E.Forward(Ids1M.Value, s.Out)),
            Make("gather_1000000x128_f32_zipf", () => Dense(Rows1M, 128, 65_536), s => s.E.Forward(Zipf1M.Value, s.Out)),
            Make("gather_small_4096x128_f32", () => Dense(Rows1M, 128, 4_096), s => s.E.Forward(Ids4K.Value, s.Out)),
            Make("q4_gather_1000000x128", () => Quantized(PoolingMode.Sum), s => s.Q.Forward(Ids1M.Value, s.Out)),
            Make("q4_bag_sum", () => Quantized(PoolingMode.Sum), s => s.Bag.Forward(Ids1M.Value, Offsets.Value, s.Pooled)),
            Make("q4_bag_max", () => Quantized(PoolingMode.Max), s => s.Bag.Forward(Ids1M.Value, Offsets.Value, s.Pooled)),
            Make("q4_bag_weighted_sum", () => Quantized(PoolingMode.Sum), s => s.Bag.Forward(Ids1M.Value, Offsets.Value, s.Pooled, s.Weights)),
            Make("gather_50000x768_f16", () => Dense(50_000, 768, 65_536, DType.Float16), s => s.E.Forward(Ids50K.Value, s.Out)),
            Make("gather_50000x768_f32", () => Dense(50_000, 768, 65_536), s => s.E.Forward(Ids50K.Value, s.Out)),
            Make("gather_50000x768_f32_zipf", () => Dense(50_000, 768, 65_536), s => s.E.Forward(Zipf50K.Value, s.Out)),
        };
        foreach (var mode in new[] { PoolingMode.Sum, PoolingMode.Mean, PoolingMode.Max })
        {
            list.Add(Make($"bag_{mode}_1000000x128_f32", () => Bag(mode, DType.Float32), s => s.Bag.Forward(Ids1M.Value, Offsets.Value, default, s.Pooled)));
            list.Add(Make($"bag_{mode}_1000000x128_f32_zipf", () => Bag(mode, DType.Float32), s => s.Bag.Forward(Zipf1M.Value, Offsets.Value, default, s.Pooled)));
        }
        list.Add(Make("bag_Sum_1000000x128_bf16", () => Bag(PoolingMode.Sum, DType.BFloat16), s => s.Bag.Forward(Ids1M.Value, Offsets.Value, default, s.Pooled)));
        list.Add(Make("gemv_50257x768", () => Head(false), s => s.Head.AsLinear(s.X1, s.Y1)));
        list.Add(Make("gemm_64x768x50257", () => Head(false), s => s.Head.AsLinear(s.XB, s.YB)));
        list.Add(Make("q4_gemv_50257x768", () => Head(true), s => s.Q!.AsLinear(s.X1, s.Y1)));
        list.Add(Make("q4_gemm_64x768x50257", () => Head(true), s => s.Q!.AsLinear(s.XB, s.YB)));
        // The suite's fused sparse steps (TrainSuite): 65,536 uniform ids into 1M x 128, guard on and off.
        list.Add(Step("sparse_adam_step", e => FusedSparseBackward.Create(e.Weight, new LazyAdam(1e-3))));
        list.Add(Step("sparse_adagrad_step", e => FusedSparseBackward.Create(e.Weight, new Adagrad(1e-2))));
        list.Add(Step("sparse_sgd_step", e => FusedSparseBackward.Create(e.Weight, new Sgd(1e-2))));
        list.Add(Step("sparse_adam_noguard_step", e => FusedSparseBackward.Create(e.Weight, new LazyAdam(1e-3), new SparseOptimizerOptions { GuardNonFinite = false })));
        list.Add(Step("sparse_sgd_noguard_step", e => FusedSparseBackward.Create(e.Weight, new Sgd(1e-2), new SparseOptimizerOptions { GuardNonFinite = false })));
        return list;
    }

    private static (string, Action, Action, Action) Make<T>(string name, Func<T> setup, Action<T> run)
        where T : class, IDisposable
    {
        T? state = null;
        return (name, () => state = setup(), () => run(state!), () => { state?.Dispose(); state = null; });
    }

    private static (string, Action, Action, Action) Step(string name, Func<Embedding, SparseOptimizer> create)
    {
        return Make(name, () =>
        {
            var e = new Embedding(Rows1M, 128, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Uniform(-1, 1) });
            var r = new SeededRandom(3);
            var grad = new float[Ids1M.Value.Length * 128];
            for (int i = 0; i < grad.Length; i++)
                grad[i] = (float)r.NextNormal() * 1e-3f;
            return new State { E = e, Out = grad, Optimizer = create(e) };
        }, s => s.E.BackwardAndStep(Ids1M.Value, s.Out, s.Optimizer!));
    }

    private static State Dense(int rows, int dims, int outRows, DType dtype = DType.Float32)
    {
        var e = new Embedding(rows, dims, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Uniform(-1, 1), DType = dtype });
        var o = new float[outRows * dims];
        o.AsSpan().Fill(1);
        return new State { E = e, Out = o };
    }

    private static State Quantized(PoolingMode mode)
    {
        var s = Dense(Rows1M, 128, 65_536);
        s.Q = s.E.ToQuantized(64, 4);
        s.Bag = new QuantizedEmbeddingBag(s.Q.Table, mode);
        s.Pooled = new float[Offsets.Value.Length * 128];
        s.Weights = Enumerable.Repeat(0.5f, Ids1M.Value.Length).ToArray();
        return s;
    }

    private static BagState Bag(PoolingMode mode, DType dtype) => new()
    {
        Bag = new EmbeddingBag(Rows1M, 128, new EmbeddingBagOptions { Mode = mode, Seed = 1, DType = dtype }),
        Pooled = new float[Offsets.Value.Length * 128],
    };

    private static State Head(bool quantize)
    {
        var r = new SeededRandom(2);
        var s = new State { E = new Embedding(50_257, 768, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Gpt2 }) };
        s.X1 = Enumerable.Range(0, 768).Select(_ => (float)r.NextNormal()).ToArray();
        s.XB = Enumerable.Range(0, 64 * 768).Select(_ => (float)r.NextNormal()).ToArray();
        s.Y1 = new float[50_257];
        s.YB = new float[64 * 50_257];
        if (quantize)
            s.Q = s.E.ToQuantized(64, 4);
        return s;
    }

    private static int[] Ids(int n, int rows, ulong seed)
    {
        var r = new SeededRandom(seed);
        var ids = new int[n];
        for (int i = 0; i < n; i++)
            ids[i] = r.NextInt(rows);
        return ids;
    }

    // Zipf(s) ids, the suite's popular-items shape: inverse CDF over ranks, ranks shuffled onto ids.
    private static int[] ZipfIds(int n, int rows, double s, ulong seed)
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

    private sealed class State : IDisposable
    {
        public Embedding E = null!;
        public float[] Out = [];
        public QuantizedEmbedding? Q;
        public QuantizedEmbeddingBag Bag = null!;
        public float[] Pooled = [], Weights = [], X1 = [], XB = [], Y1 = [], YB = [];
        public SparseOptimizer? Optimizer;
        public Embedding Head => E;

        public void Dispose()
        {
            Optimizer?.Dispose();
            E?.Dispose();
        }
    }

    private sealed class BagState : IDisposable
    {
        public EmbeddingBag Bag = null!;
        public float[] Pooled = [];

        public void Dispose() => Bag.Dispose();
    }
}
