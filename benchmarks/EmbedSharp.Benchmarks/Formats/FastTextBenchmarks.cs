using BenchmarkDotNet.Attributes;
using EmbedSharp.Formats.FastText;

namespace EmbedSharp.Benchmarks.Formats;

/// <summary>Out-of-vocabulary word vectors (n-gram hashing + row sums) on the golden fastText models.</summary>
[MemoryDiagnoser]
public class FastTextBenchmarks
{
    private FastTextModel _dense = null!;
    private FastTextModel _quantized = null!;
    private readonly string[] _words = ["government", "unbelievably", "Привет", "naïve", "zebra", "x"];

    [GlobalSetup]
    public void Setup()
    {
        string data = Path.Combine(FindRoot(), "tests", "Data", "fasttext");
        _dense = FastTextModel.Load(Path.Combine(data, "tiny-skipgram.bin"));
        _quantized = FastTextModel.Load(Path.Combine(data, "tiny-supervised.ftz"));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _dense.Dispose();
        _quantized.Dispose();
    }

    [Benchmark(Baseline = true)]
    public float DenseWordVectors()
    {
        float s = 0;
        foreach (var w in _words)
            s += _dense.GetWordVector(w)[0];
        return s;
    }

    [Benchmark]
    public float QuantizedWordVectors()
    {
        float s = 0;
        foreach (var w in _words)
            s += _quantized.GetWordVector(w)[0];
        return s;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EmbedSharp.slnx")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("EmbedSharp.slnx not found above " + AppContext.BaseDirectory);
    }
}
