using BenchmarkDotNet.Attributes;
using EmbedSharp.Numerics;
using EmbedSharp.Search;
using EmbedSharp.Tables;

namespace EmbedSharp.Benchmarks.Search;

/// <summary>Exact top-k: scoring kernels (aligned and odd dims), heap selection against a full sort, and a KeyedVectors query.</summary>
[MemoryDiagnoser]
public class TopKBenchmarks
{
    private EmbeddingTable _table = null!;
    private KeyedVectors _kv = null!;
    private float[] _query = [];
    private float[] _scores = [];

    [Params(100_000)]
    public int NumEmbeddings { get; set; }

    [Params(300, 301)]
    public int Dims { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new SeededRandom(5);
        _table = new EmbeddingTable(NumEmbeddings, Dims);
        var row = new float[Dims];
        for (int r = 0; r < NumEmbeddings; r++)
        {
            for (int j = 0; j < Dims; j++)
                row[j] = (float)rng.NextNormal();
            _table.WriteRow(r, row);
        }
        _query = new float[Dims];
        for (int j = 0; j < Dims; j++)
            _query[j] = (float)rng.NextNormal();
        _scores = new float[NumEmbeddings];
        VectorSearch.Scores(_table, _query, SimilarityMetric.Dot, _scores);
        _kv = new KeyedVectors(Enumerable.Range(0, NumEmbeddings).Select(i => "w" + i).ToArray(), _table);
        _kv.FillNorms();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _kv.Dispose();
        _table.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Neighbor[] CosineTop10() => VectorSearch.Search(_table, _query, 10, SimilarityMetric.Cosine);

    [Benchmark]
    public Neighbor[] DotTop10() => VectorSearch.Search(_table, _query, 10, SimilarityMetric.Dot);

    [Benchmark]
    public Neighbor[] L2Top10() => VectorSearch.Search(_table, _query, 10, SimilarityMetric.L2);

    [Benchmark]
    public Neighbor[] HeapSelect100() => VectorSearch.TopK(_scores, 100);

    [Benchmark]
    public Neighbor[] FullSortReference100() => VectorSearch.TopKReference(_scores, 100);

    [Benchmark]
    public WordSimilarity[] KeyedVectorsAnalogy() => _kv.MostSimilar(["w1", "w2"], ["w3"], 10);
}
