using BenchmarkDotNet.Attributes;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Benchmarks.Tables;

/// <summary>EmbeddingBag forward (pooled lookup) per pooling mode, aligned and odd dims, Zipf ids.</summary>
[MemoryDiagnoser]
public class PooledLookupBenchmarks
{
    private EmbeddingBag _bag = null!;
    private int[] _indices = null!;
    private int[] _offsets = null!;
    private float[] _output = null!;
    private float[] _reference = null!;
    private float[] _table = null!;

    [Params(64, 127)]
    public int Dims { get; set; }

    [Params(PoolingMode.Sum, PoolingMode.Mean, PoolingMode.Max)]
    public PoolingMode Mode { get; set; }

    private const int NumEmbeddings = 100_000, Bags = 512, BagLength = 20;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new SeededRandom(2024);
        _bag = new EmbeddingBag(NumEmbeddings, Dims, new EmbeddingBagOptions { Mode = Mode, Seed = 1 });
        _indices = BagData.ZipfIds(rng, NumEmbeddings, Bags * BagLength);
        _offsets = BagData.Offsets(Bags, BagLength);
        _output = new float[Bags * Dims];
        _reference = new float[Bags * Dims];
        _table = _bag.Weight.ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => _bag.Dispose();

    [Benchmark(Baseline = true)]
    public void ScalarReference() =>
        Kernels.PoolBagsReference((PoolRule)(int)Mode, _table, Dims, _indices, _offsets, _indices.Length, default, -1, _reference, default);

    [Benchmark]
    public void Forward() => _bag.Forward(_indices, _offsets, default, _output);
}
