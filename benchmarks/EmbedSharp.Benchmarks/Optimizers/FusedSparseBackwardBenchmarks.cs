using BenchmarkDotNet.Attributes;
using EmbedSharp.Benchmarks.Tables;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp.Benchmarks.Optimizers;

/// <summary>
/// One optimizer step on a coalesced Zipf gradient (4096 positions over 50 000 rows), per rule, Lazy vs
/// Dense untouched-row policy; and the same step including the coalescing of the gradient.
/// </summary>
[MemoryDiagnoser]
public class FusedSparseBackwardBenchmarks
{
    private EmbeddingTable _table = null!;
    private SparseOptimizer _optimizer = null!;
    private SparseGradient _gradient = null!;

    [Params(64, 127)]
    public int Dims { get; set; }

    [Params("sgd", "rowwise_adagrad", "adam", "lazy_adam")]
    public string Rule { get; set; } = "sgd";

    [Params(UntouchedRows.Lazy, UntouchedRows.Dense)]
    public UntouchedRows Policy { get; set; }

    private const int NumEmbeddings = 50_000;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new SeededRandom(11);
        _table = new EmbeddingTable(NumEmbeddings, Dims);
        int[] ids = BagData.ZipfIds(rng, NumEmbeddings, 4096);
        var grads = new float[ids.Length * Dims];
        for (int i = 0; i < grads.Length; i++)
            grads[i] = (float)rng.NextNormal() * 0.01f;
        _gradient = Coalesce.Rows(NumEmbeddings, Dims, ids, grads);
        var options = new SparseOptimizerOptions { UntouchedRows = Rule == "lazy_adam" ? UntouchedRows.Lazy : Policy };
        _optimizer = Rule switch
        {
            "sgd" => FusedSparseBackward.Create(_table, new Sgd(0.01, momentum: 0.9), options),
            "rowwise_adagrad" => FusedSparseBackward.Create(_table, new RowwiseAdagrad(0.01), options),
            "adam" => FusedSparseBackward.Create(_table, new Adam(0.001), options),
            _ => FusedSparseBackward.Create(_table, new LazyAdam(0.001), options),
        };
    }

    [GlobalCleanup]
    public void Cleanup() => _table.Dispose();

    [Benchmark]
    public void Step() => _optimizer.Step(_gradient);

    [Benchmark]
    public void CoalesceAndStep() => _optimizer.Step(Coalesce.Rows(NumEmbeddings, Dims, _gradient.Rows, _gradient.Values));
}
