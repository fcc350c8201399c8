using BenchmarkDotNet.Attributes;
using EmbedSharp.Initializers;
using EmbedSharp.Optimizers;
using EmbedSharp.Tables;

namespace EmbedSharp.Benchmarks.Suite;

/// <summary>Pooled bags of 32 ids (sum and mean) over the 1M × 128 table, into a caller's buffer.</summary>
[Config(typeof(SuiteConfig))]
public class BagSuite
{
    private EmbeddingBag _sum = null!, _mean = null!;
    private int[] _ids = null!, _offsets = null!;
    private float[] _output = null!;

    [Params("1000000x128_uniform", "1000000x128_zipf")]
    public string Workload { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _sum = new EmbeddingBag(1_000_000, 128, new EmbeddingBagOptions { Mode = PoolingMode.Sum, Seed = 1 });
        _mean = new EmbeddingBag(1_000_000, 128, new EmbeddingBagOptions { Mode = PoolingMode.Mean, Seed = 1 });
        _ids = SuiteIds.Load(Workload.Split('_')[1], 1_000_000);
        _offsets = Enumerable.Range(0, _ids.Length / 32).Select(b => b * 32).ToArray();
        _output = new float[_offsets.Length * 128];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sum.Dispose();
        _mean.Dispose();
    }

    [Benchmark(Description = "bag_sum")]
    public void Sum() => _sum.Forward(_ids, _offsets, default, _output);

    [Benchmark(Description = "bag_mean")]
    public void Mean() => _mean.Forward(_ids, _offsets, default, _output);
}

/// <summary>
/// MLX 4-bit affine (group 64) tables read straight from their packed form: gather and sum bags over
/// the 1M × 128 table, and the 50,257 × 768 head as a matrix–vector product. Compared in the table with
/// our own fp32 path on the same workload.
/// </summary>
[Config(typeof(SuiteConfig))]
public class QuantizedSuite
{
    private QuantizedEmbedding _table = null!, _head = null!;
    private QuantizedEmbeddingBag _bag = null!;
    private int[] _ids = null!, _offsets = null!;
    private float[] _gathered = null!, _pooled = null!, _x = null!, _logits = null!;

    [GlobalSetup]
    public void Setup()
    {
        using (var dense = new Embedding(1_000_000, 128, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Uniform(-1, 1) }))
            _table = dense.ToQuantized(64, 4);
        using (var head = new Embedding(50_257, 768, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Gpt2 }))
            _head = head.ToQuantized(64, 4);
        _bag = new QuantizedEmbeddingBag(_table.Table, PoolingMode.Sum);
        _ids = SuiteIds.Load("uniform", 1_000_000);
        _offsets = Enumerable.Range(0, _ids.Length / 32).Select(b => b * 32).ToArray();
        _gathered = new float[_ids.Length * 128];
        _gathered.AsSpan().Fill(1);
        _pooled = new float[_offsets.Length * 128];
        var r = new EmbedSharp.Numerics.SeededRandom(2);
        _x = Enumerable.Range(0, 768).Select(_ => (float)r.NextNormal()).ToArray();
        _logits = new float[50_257];
    }

    [Benchmark(Description = "q4_gather_into_buffer_1000000x128_uniform")]
    public void Gather() => _table.Forward(_ids, _gathered);

    [Benchmark(Description = "q4_bag_sum_1000000x128_uniform")]
    public void Bags() => _bag.Forward(_ids, _offsets, _pooled);

    [Benchmark(Description = "q4_gemv_50257x768")]
    public void Gemv() => _head.AsLinear(_x, _logits);
}

/// <summary>
/// One training step on the 1M × 128 table: the single-pass sparse backward of 65,536 ids fused with
/// the optimizer step (<see cref="Embedding.BackwardAndStep(ReadOnlySpan{int}, ReadOnlySpan{float}, SparseOptimizer)"/>;
/// PyTorch's SparseAdam = <see cref="LazyAdam"/>, Adagrad, SGD), with the default options (non-finite guard on),
/// and Adam and SGD once more with the guard off (what PyTorch does: it checks nothing).
/// </summary>
[Config(typeof(SuiteConfig))]
public class TrainSuite
{
    private Embedding _embedding = null!;
    private int[] _ids = null!;
    private float[] _grad = null!;
    private SparseOptimizer _adam = null!, _adagrad = null!, _sgd = null!, _adamNoGuard = null!, _sgdNoGuard = null!;

    [GlobalSetup]
    public void Setup()
    {
        _embedding = new Embedding(1_000_000, 128, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Uniform(-1, 1) });
        _ids = SuiteIds.Load("uniform", 1_000_000);
        var r = new EmbedSharp.Numerics.SeededRandom(3);
        _grad = Enumerable.Range(0, _ids.Length * 128).Select(_ => (float)r.NextNormal() * 1e-3f).ToArray();
        _adam = FusedSparseBackward.Create(_embedding.Weight, new LazyAdam(1e-3));
        _adagrad = FusedSparseBackward.Create(_embedding.Weight, new Adagrad(1e-2));
        _sgd = FusedSparseBackward.Create(_embedding.Weight, new Sgd(1e-2));
        // PyTorch checks nothing; these two show what our non-finite guard costs on the same step.
        var noGuard = new SparseOptimizerOptions { GuardNonFinite = false };
        _adamNoGuard = FusedSparseBackward.Create(_embedding.Weight, new LazyAdam(1e-3), noGuard);
        _sgdNoGuard = FusedSparseBackward.Create(_embedding.Weight, new Sgd(1e-2), noGuard);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var optimizer in new[] { _adam, _adagrad, _sgd, _adamNoGuard, _sgdNoGuard })
            optimizer.Dispose();
        _embedding.Dispose();
    }

    [Benchmark(Description = "sparse_adam_step_1000000x128_uniform")]
    public void Adam() => _embedding.BackwardAndStep(_ids, _grad, _adam);

    [Benchmark(Description = "sparse_adagrad_step_1000000x128_uniform")]
    public void Adagrad() => _embedding.BackwardAndStep(_ids, _grad, _adagrad);

    [Benchmark(Description = "sparse_sgd_step_1000000x128_uniform")]
    public void Sgd() => _embedding.BackwardAndStep(_ids, _grad, _sgd);

    [Benchmark(Description = "sparse_adam_noguard_step_1000000x128_uniform")]
    public void AdamNoGuard() => _embedding.BackwardAndStep(_ids, _grad, _adamNoGuard);

    [Benchmark(Description = "sparse_sgd_noguard_step_1000000x128_uniform")]
    public void SgdNoGuard() => _embedding.BackwardAndStep(_ids, _grad, _sgdNoGuard);
}
