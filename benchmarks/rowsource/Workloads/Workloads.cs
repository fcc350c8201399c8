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
    private static readonly Lazy<float[]> Halves = new(() => Enumerable.Repeat(0.5f, 65_536).ToArray());
    private static readonly Lazy<int[]> Offsets = new(() => Enumerable.Range(0, 65_536 / 32).Select(b => b * 32).ToArray());

    /// <summary>
    /// Every workload, in the order the driver runs them. Neighbours that read the same table share it: the
    /// first one's Setup builds it, the last one's Teardown frees it, so one table set is alive at a time and
    /// a 1M-row table is initialised once per side, not once per workload. The sparse steps (which train the
    /// table) come after the reads of the same table.
    /// </summary>
    public static IReadOnlyList<(string Name, Action Setup, Action Run, Action Teardown)> All()
    {
        var list = new List<(string Name, string Key, Func<State> Build, Action<State> Run)>
        {
            ("gather_1000000x128_f32", "e1m", E1M, s => s.E.Forward(Ids1M.Value, s.Out)),
            ("gather_1000000x128_f32_zipf", "e1m", E1M, s => s.E.Forward(Zipf1M.Value, s.Out)),
            ("gather_small_4096x128_f32", "e1m", E1M, s => s.E.Forward(Ids4K.Value, s.Out4K)),
            ("q4_gather_1000000x128", "e1m", E1M, s => s.Q!.Forward(Ids1M.Value, s.Out)),
            ("q4_bag_sum", "e1m", E1M, s => s.QSum!.Forward(Ids1M.Value, Offsets.Value, s.Pooled)),
            ("q4_bag_max", "e1m", E1M, s => s.QMax!.Forward(Ids1M.Value, Offsets.Value, s.Pooled)),
            ("q4_bag_weighted_sum", "e1m", E1M, s => s.QSum!.Forward(Ids1M.Value, Offsets.Value, s.Pooled, s.Weights)),
            // The suite's fused sparse steps (TrainSuite): 65,536 uniform ids into 1M x 128, guard on and off.
            ("sparse_adam_step", "e1m", E1M, s => Step(s, 0, e => FusedSparseBackward.Create(e.Weight, new LazyAdam(1e-3)))),
            ("sparse_adagrad_step", "e1m", E1M, s => Step(s, 1, e => FusedSparseBackward.Create(e.Weight, new Adagrad(1e-2)))),
            ("sparse_sgd_step", "e1m", E1M, s => Step(s, 2, e => FusedSparseBackward.Create(e.Weight, new Sgd(1e-2)))),
            ("sparse_adam_noguard_step", "e1m", E1M, s => Step(s, 3, e => FusedSparseBackward.Create(e.Weight, new LazyAdam(1e-3), NoGuard))),
            ("sparse_sgd_noguard_step", "e1m", E1M, s => Step(s, 4, e => FusedSparseBackward.Create(e.Weight, new Sgd(1e-2), NoGuard))),
            ("gather_50000x768_f16", "e50k16", () => Dense(50_000, 768, DType.Float16), s => s.E.Forward(Ids50K.Value, s.Out)),
            ("gather_50000x768_f32", "e50k", () => Dense(50_000, 768, DType.Float32), s => s.E.Forward(Ids50K.Value, s.Out)),
            ("gather_50000x768_f32_zipf", "e50k", () => Dense(50_000, 768, DType.Float32), s => s.E.Forward(Zipf50K.Value, s.Out)),
        };
        foreach (var mode in new[] { PoolingMode.Sum, PoolingMode.Mean, PoolingMode.Max })
        {
            list.Add(($"bag_{mode}_1000000x128_f32", $"bag{mode}", () => Bag(mode, DType.Float32), s => s.Bag!.Forward(Ids1M.Value, Offsets.Value, default, s.Pooled)));
            list.Add(($"bag_{mode}_1000000x128_f32_zipf", $"bag{mode}", () => Bag(mode, DType.Float32), s => s.Bag!.Forward(Zipf1M.Value, Offsets.Value, default, s.Pooled)));
            if (mode == PoolingMode.Sum) // per-sample weights (issue 19: every pooled hot path on AVX2)
                list.Add(("bag_WeightedSum_1000000x128_f32", "bagSum", () => Bag(mode, DType.Float32), s => s.Bag!.Forward(Ids1M.Value, Offsets.Value, Halves.Value, s.Pooled)));
        }
        list.Add(("bag_Sum_1000000x128_bf16", "bagbf16", () => Bag(PoolingMode.Sum, DType.BFloat16), s => s.Bag!.Forward(Ids1M.Value, Offsets.Value, default, s.Pooled)));
        list.Add(("gemv_50257x768", "head", Head, s => s.E.AsLinear(s.X1, s.Y1)));
        list.Add(("gemm_64x768x50257", "head", Head, s => s.E.AsLinear(s.XB, s.YB)));
        list.Add(("q4_gemv_50257x768", "head", Head, s => s.Q!.AsLinear(s.X1, s.Y1)));
        list.Add(("q4_gemm_64x768x50257", "head", Head, s => s.Q!.AsLinear(s.XB, s.YB)));

        // Setup builds the group's tables unless they are already alive (a filtered run may skip a group's first
        // workload); the group's last workload frees them, and so does a Setup of another group.
        State? shared = null;
        string? sharedKey = null;
        s_probe = () => shared is null ? "" : shared.Describe();
        var result = new List<(string, Action, Action, Action)>();
        for (int i = 0; i < list.Count; i++)
        {
            var (name, key, build, run) = list[i];
            bool last = i == list.Count - 1 || list[i + 1].Key != key;
            result.Add((name,
                () =>
                {
                    if (sharedKey == key)
                        return;
                    shared?.Dispose();
                    (shared, sharedKey) = (null, null);
                    (shared, sharedKey) = (build(), key);
                },
                () => run(shared!),
                () =>
                {
                    if (last)
                    {
                        shared?.Dispose();
                        (shared, sharedKey) = (null, null);
                    }
                }));
        }
        return result;
    }

    private static Func<string> s_probe = () => "";

    /// <summary>
    /// Where the live tables and output lie (address mod 4096, and how much of each mapping Linux backs with
    /// 2 MiB pages), for the driver's ROWSOURCE_PROBE=1 diagnostics: the f16 gather's before/after ratio was
    /// found to follow the table's page backing, not the code (benchmarks/README.md, "The fp16 gather row").
    /// </summary>
    public static string Probe() => s_probe();

    private static readonly SparseOptimizerOptions NoGuard = new() { GuardNonFinite = false };

    // The step workload's optimizer, made on its first call (the previous workload's one is freed then).
    private static void Step(State s, int slot, Func<Embedding, SparseOptimizer> create)
    {
        s.Grad ??= Gradient();
        if (s.Optimizer is null || s.Slot != slot)
        {
            s.Optimizer?.Dispose();
            s.Optimizer = create(s.E);
            s.Slot = slot;
        }
        s.E.BackwardAndStep(Ids1M.Value, s.Grad, s.Optimizer);
    }

    private static float[] Gradient()
    {
        var r = new SeededRandom(3);
        var grad = new float[Ids1M.Value.Length * 128];
        for (int i = 0; i < grad.Length; i++)
            grad[i] = (float)r.NextNormal() * 1e-3f;
        return grad;
    }

    private static State E1M()
    {
        var s = Dense(Rows1M, 128, DType.Float32);
        s.Q = s.E.ToQuantized(64, 4);
        s.QSum = new QuantizedEmbeddingBag(s.Q.Table, PoolingMode.Sum);
        s.QMax = new QuantizedEmbeddingBag(s.Q.Table, PoolingMode.Max);
        s.Weights = Enumerable.Repeat(0.5f, Ids1M.Value.Length).ToArray();
        s.Out4K = new float[4_096 * 128];
        s.Out4K.AsSpan().Fill(1);
        return s;
    }

    private static State Dense(int rows, int dims, DType dtype)
    {
        var e = new Embedding(rows, dims, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Uniform(-1, 1), DType = dtype });
        var o = new float[65_536 * dims];
        o.AsSpan().Fill(1);
        return new State { E = e, Out = o, Pooled = new float[Offsets.Value.Length * dims] };
    }

    private static State Bag(PoolingMode mode, DType dtype) => new()
    {
        Bag = new EmbeddingBag(Rows1M, 128, new EmbeddingBagOptions { Mode = mode, Seed = 1, DType = dtype }),
        Pooled = new float[Offsets.Value.Length * 128],
    };

    private static State Head()
    {
        var r = new SeededRandom(2);
        var s = new State { E = new Embedding(50_257, 768, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Gpt2 }) };
        s.X1 = Enumerable.Range(0, 768).Select(_ => (float)r.NextNormal()).ToArray();
        s.XB = Enumerable.Range(0, 64 * 768).Select(_ => (float)r.NextNormal()).ToArray();
        s.Y1 = new float[50_257];
        s.YB = new float[64 * 50_257];
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
        public EmbeddingBag? Bag;
        public QuantizedEmbedding? Q;
        public QuantizedEmbeddingBag? QSum, QMax;
        public float[] Out = [], Out4K = [], Pooled = [], Weights = [], X1 = [], XB = [], Y1 = [], YB = [];
        public float[]? Grad;
        public SparseOptimizer? Optimizer;
        public int Slot = -1;

        public unsafe string Describe()
        {
            var table = E is null ? default : E.Weight.AsBytes();
            fixed (byte* t = table)
            fixed (float* o = Out)
                return $"table {Region((nint)t, table.Length)} out {Region((nint)o, (long)Out.Length * 4)}";
        }

        // Address mod 4096, then kB of [address, address + bytes) resident and in huge pages, from /proc/self/smaps.
        private static string Region(nint address, long bytes)
        {
            if (address == 0)
                return "-";
            long start = address, end = address + bytes, rss = 0, huge = 0;
            long mapStart = 0, mapEnd = 0;
            if (File.Exists("/proc/self/smaps"))
            {
                foreach (var line in File.ReadLines("/proc/self/smaps"))
                {
                    int space = line.IndexOf(' ');
                    if (space > 0 && line[space - 1] != ':')
                    {
                        int dash = line.IndexOf('-');
                        mapStart = long.Parse(line.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber);
                        mapEnd = long.Parse(line.AsSpan(dash + 1, space - dash - 1), System.Globalization.NumberStyles.HexNumber);
                        continue;
                    }
                    if (mapEnd <= start || mapStart >= end)
                        continue;
                    if (line.StartsWith("Rss:", StringComparison.Ordinal))
                        rss += Kb(line);
                    else if (line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
                        huge += Kb(line);
                }
            }
            return $"@{address & 4095} mb={bytes >> 20} rss={rss >> 10}MB huge={huge >> 10}MB";
        }

        private static long Kb(string line) =>
            long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);

        public void Dispose()
        {
            Optimizer?.Dispose();
            E?.Dispose();
            Bag?.Dispose();
        }
    }
}
