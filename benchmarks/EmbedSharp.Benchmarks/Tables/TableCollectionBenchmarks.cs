using BenchmarkDotNet.Attributes;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Benchmarks.Tables;

/// <summary>Table-batched lookup: four tables of different shapes, one keyed batch.</summary>
[MemoryDiagnoser]
public class TableCollectionBenchmarks
{
    private TableCollection _tables = null!;
    private KeyedBatch _batch = null!;
    private float[] _output = null!;
    private const int Batch = 256;

    [GlobalSetup]
    public void Setup()
    {
        _tables = new TableCollection(
        [
            new TableConfig("user", 50_000, 64, ["user"]),
            new TableConfig("item", 100_000, 64, ["item", "history"], PoolingMode.Mean),
            new TableConfig("category", 1_000, 17, ["category"]),
        ], seed: 3);
        var rng = new SeededRandom(7);
        _batch = new KeyedBatch(Batch);
        foreach (var (feature, rows, length) in new[] { ("user", 50_000, 1), ("item", 100_000, 1), ("history", 100_000, 30), ("category", 1_000, 3) })
            _batch.Add(feature, BagData.ZipfIds(rng, rows, Batch * length), [.. BagData.Offsets(Batch, length), Batch * length]);
        _output = new float[Batch * _tables.TotalDims];
    }

    [GlobalCleanup]
    public void Cleanup() => _tables.Dispose();

    [Benchmark]
    public void Forward() => _tables.Forward(_batch, _output);
}
