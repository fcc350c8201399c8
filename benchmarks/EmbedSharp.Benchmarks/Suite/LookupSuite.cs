using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using EmbedSharp.Initializers;

namespace EmbedSharp.Benchmarks.Suite;

/// <summary>Row gathers of 65,536 ids, into a caller's buffer and through the allocating tensor API.</summary>
[Config(typeof(SuiteConfig))]
public class LookupSuite
{
    private Embedding _embedding = null!;
    private int[] _ids = null!;
    private Tensor<int> _idTensor = null!;
    private float[] _output = null!;

    [Params("1000000x128_uniform", "1000000x128_zipf", "50000x768_uniform", "50000x768_zipf")]
    public string Workload { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        string[] parts = Workload.Split('x', '_');
        int rows = int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
        int dims = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        _embedding = new Embedding(rows, dims, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Uniform(-1, 1) });
        _ids = SuiteIds.Load(parts[2], rows);
        _idTensor = Tensor.Create(_ids, [_ids.Length]);
        _output = new float[_ids.Length * dims];
        _output.AsSpan().Fill(1); // touch the pages once: a caller's buffer is reused
    }

    [GlobalCleanup]
    public void Cleanup() => _embedding.Dispose();

    [Benchmark(Description = "gather_into_buffer")]
    public void IntoBuffer() => _embedding.Forward(_ids, _output);

    [Benchmark(Description = "gather_allocating")]
    public Tensor<float> Allocating() => _embedding.Forward(_idTensor);
}

/// <summary>The tied head <c>x · Wᵀ</c> against a 50,257 × 768 table: one vector (decoding) and a batch of 512.</summary>
[Config(typeof(SuiteConfig))]
public class HeadSuite
{
    private Embedding _head = null!;
    private float[] _x1 = null!, _xb = null!, _out1 = null!, _outb = null!;

    [GlobalSetup]
    public void Setup()
    {
        _head = new Embedding(50_257, 768, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Gpt2 });
        var r = new EmbedSharp.Numerics.SeededRandom(2);
        _x1 = Enumerable.Range(0, 768).Select(_ => (float)r.NextNormal()).ToArray();
        _xb = Enumerable.Range(0, 512 * 768).Select(_ => (float)r.NextNormal()).ToArray();
        _out1 = new float[50_257];
        _outb = new float[512 * 50_257];
    }

    [GlobalCleanup]
    public void Cleanup() => _head.Dispose();

    [Benchmark(Description = "gemv_50257x768")]
    public void Gemv() => _head.AsLinear(_x1, _out1);

    [Benchmark(Description = "gemm_512x768x50257")]
    public void Gemm() => _head.AsLinear(_xb, _outb);
}
