using BenchmarkDotNet.Attributes;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Benchmarks.Quantization;

/// <summary>
/// Quantized lookups (dequantizing only the gathered rows) against the dense lookup, the scalar
/// reference dequantizer, and the one-off cost of quantizing a table.
/// </summary>
[Config(typeof(IsaConfig))]
[MemoryDiagnoser]
public class QuantizedLookupBenchmarks
{
    private Embedding _dense = null!;
    private QuantizedEmbedding _quantized = null!;
    private int[] _ids = null!;
    private float[] _output = null!;
    private float[] _scales = null!;
    private float[] _biases = null!;

    [Params(4, 3, 8)]
    public int Bits { get; set; }

    [Params(DType.Float32, DType.BFloat16)]
    public DType Storage { get; set; }

    public const int NumEmbeddings = 50_000;
    public const int Dims = 256;
    public const int Count = 4_096;

    [GlobalSetup]
    public void Setup()
    {
        _dense = new Embedding(NumEmbeddings, Dims, new EmbeddingOptions { Seed = 1, DType = Storage });
        _quantized = _dense.ToQuantized(64, Bits);
        _ids = Ids.Zipf(Count, NumEmbeddings, 1.05, 2);
        _output = new float[Count * Dims];
        _scales = new float[Dims / 64];
        _biases = new float[Dims / 64];
    }

    [GlobalCleanup]
    public void Cleanup() => _dense.Dispose();

    [Benchmark(Baseline = true, Description = "Embedding.Forward (dense)")]
    public void Dense() => _dense.Forward(_ids, _output);

    [Benchmark(Description = "QuantizedEmbedding.Forward")]
    public void Quantized() => _quantized.Forward(_ids, _output);

    [Benchmark(Description = "scalar reference dequantizer")]
    public void Reference()
    {
        var table = _quantized.Table;
        Func<float, float> round = x => QuantizedTable.RoundTo(table.DType, x);
        Func<float, float, float, float> once = (q, s, b) => round(q * s + b);
        for (int i = 0; i < _ids.Length; i++)
        {
            int row = _ids[i];
            for (int g = 0; g < _scales.Length; g++)
            {
                _scales[g] = table.GetScale(row, g);
                _biases[g] = table.GetBias(row, g);
            }
            AffineDequantizer.DequantizeRowReference(table.GetWeightRow(row), _scales, _biases, 64, Bits, false, round, once,
                _output.AsSpan(i * Dims, Dims));
        }
    }
}

/// <summary>The tied output head: quantized <c>AsLinear</c> from packed weights against the dense one.</summary>
[Config(typeof(IsaConfig))]
[MemoryDiagnoser]
public class QuantizedAsLinearBenchmarks
{
    private Embedding _dense = null!;
    private QuantizedEmbedding _quantized = null!;
    private float[] _x = null!;
    private float[] _y = null!;

    [Params(1, 8)]
    public int Batch { get; set; }

    public const int NumEmbeddings = 32_000;
    public const int Dims = 512;

    [GlobalSetup]
    public void Setup()
    {
        _dense = new Embedding(NumEmbeddings, Dims, new EmbeddingOptions { Seed = 3 });
        _quantized = _dense.ToQuantized(64, 4);
        var rng = new EmbedSharp.Numerics.SeededRandom(4);
        _x = new float[Batch * Dims];
        for (int i = 0; i < _x.Length; i++)
            _x[i] = rng.NextSingle();
        _y = new float[Batch * NumEmbeddings];
    }

    [GlobalCleanup]
    public void Cleanup() => _dense.Dispose();

    [Benchmark(Baseline = true, Description = "Embedding.AsLinear (dense)")]
    public void Dense() => _dense.AsLinear(_x, _y);

    [Benchmark(Description = "QuantizedEmbedding.AsLinear (4-bit)")]
    public void Quantized() => _quantized.AsLinear(_x, _y);
}

/// <summary>Quantizing a table, per mode and backend.</summary>
[Config(typeof(IsaConfig))]
[MemoryDiagnoser]
public class QuantizeBenchmarks
{
    private EmbeddingTable _table = null!;

    [Params(QuantizationMode.Affine, QuantizationMode.Mxfp4, QuantizationMode.Mxfp8)]
    public QuantizationMode Mode { get; set; }

    [Params(QuantizationBackend.Cpu, QuantizationBackend.Gpu)]
    public QuantizationBackend Backend { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using var e = new Embedding(10_000, 256, new EmbeddingOptions { Seed = 5 });
        _table = e.Weight.Clone();
    }

    [GlobalCleanup]
    public void Cleanup() => _table.Dispose();

    [Benchmark(Description = "QuantizedTable.Quantize")]
    public QuantizedTable Quantize() => QuantizedTable.Quantize(_table, mode: Mode, backend: Backend);

    [Benchmark(Description = "RowwiseQuantizedTable.Quantize (int8)")]
    public RowwiseQuantizedTable Rowwise() => RowwiseQuantizedTable.Quantize(_table, 8);
}

/// <summary>
/// What bounds 4-bit bags: the 1M × 128, group-64 table of the suite summed in bags of 32, with the ids drawn
/// from the first 64 rows (every row in L1: the kernel's compute ceiling) or from all rows (as the suite), next
/// to the float32 bag on the same ids.
/// </summary>
[Config(typeof(IsaConfig))]
public class QuantizedBagCeilingBenchmarks
{
    private EmbeddingBag _dense = null!;
    private QuantizedEmbeddingBag _quantized = null!;
    private int[] _ids = null!, _offsets = null!;
    private float[] _output = null!;

    /// <summary>Rows the ids are drawn from (uniformly).</summary>
    [Params(64, 1_000_000)]
    public int Span { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dense = new EmbeddingBag(1_000_000, 128, new EmbeddingBagOptions { Mode = PoolingMode.Sum, Seed = 1 });
        _quantized = new QuantizedEmbeddingBag(QuantizedTable.Quantize(_dense.Weight, 64, 4), PoolingMode.Sum);
        var r = new EmbedSharp.Numerics.SeededRandom(5);
        _ids = Enumerable.Range(0, 65_536).Select(_ => r.NextInt(Span)).ToArray();
        _offsets = Enumerable.Range(0, 65_536 / 32).Select(b => b * 32).ToArray();
        _output = new float[_offsets.Length * 128];
    }

    [GlobalCleanup]
    public void Cleanup() => _dense.Dispose();

    [Benchmark(Baseline = true, Description = "float32 bag sum")]
    public void Dense() => _dense.Forward(_ids, _offsets, default, _output);

    [Benchmark(Description = "4-bit bag sum")]
    public void Quantized() => _quantized.Forward(_ids, _offsets, _output.AsSpan());
}
