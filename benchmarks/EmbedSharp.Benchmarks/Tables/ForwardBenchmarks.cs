using BenchmarkDotNet.Attributes;
using EmbedSharp.Tables;

namespace EmbedSharp.Benchmarks.Tables;

/// <summary>
/// <c>Embedding.Forward</c> into a caller's buffer against the plain loop a user would write, on a
/// table far larger than cache (uniform ids) and one that fits in L2 (Zipf ids hit hot rows).
/// Throughput = ids × Dims × 4 bytes of output per call.
/// </summary>
[Config(typeof(IsaConfig))]
[MemoryDiagnoser]
public class ForwardBenchmarks
{
    private Embedding _embedding = null!;
    private float[] _plain = null!;
    private int[] _ids = null!;
    private float[] _output = null!;

    [Params(100_000)]
    public int NumEmbeddings { get; set; }

    [Params(128, 67)]
    public int Dims { get; set; }

    [Params(DType.Float32, DType.BFloat16)]
    public DType Storage { get; set; }

    public const int Count = 16_384;

    [GlobalSetup]
    public void Setup()
    {
        _embedding = new Embedding(NumEmbeddings, Dims, new EmbeddingOptions { Seed = 1, DType = Storage });
        _plain = _embedding.Weight.Clone(DType.Float32).ToArray();
        _ids = Ids.Zipf(Count, NumEmbeddings, 1.05, 2);
        _output = new float[Count * Dims];
    }

    [GlobalCleanup]
    public void Cleanup() => _embedding.Dispose();

    [Benchmark(Baseline = true, Description = "plain loop (float32 array)")]
    public void PlainLoop()
    {
        int d = Dims;
        for (int i = 0; i < _ids.Length; i++)
        {
            int src = _ids[i] * d, dst = i * d;
            for (int k = 0; k < d; k++)
                _output[dst + k] = _plain[src + k];
        }
    }

    [Benchmark(Description = "Embedding.Forward(span)")]
    public void Forward() => _embedding.Forward(_ids, _output);
}
