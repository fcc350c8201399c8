using BenchmarkDotNet.Attributes;
using EmbedSharp.Numerics;
using EmbedSharp.Positional;

namespace EmbedSharp.Benchmarks.Positional;

/// <summary>RoPE over a <c>[heads, seq, headDim]</c> block: the TensorPrimitives path against the scalar reference.</summary>
[MemoryDiagnoser]
public class RopeBenchmarks
{
    private float[] _x = [];
    private float[] _dst = [];
    private double[] _positions = [];
    private double[] _invFreq = [];

    /// <summary>Head width (aligned and odd-ish sizes).</summary>
    [Params(64, 80, 128)]
    public int HeadDim { get; set; }

    /// <summary>Pairing convention.</summary>
    [Params(RopeConvention.RotateHalf, RopeConvention.Interleaved)]
    public RopeConvention Convention { get; set; }

    private const int Heads = 8, Seq = 256;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new SeededRandom(42);
        _x = new float[Heads * Seq * HeadDim];
        for (int i = 0; i < _x.Length; i++)
            _x[i] = (float)rng.NextNormal();
        _dst = new float[_x.Length];
        _positions = Enumerable.Range(0, Seq).Select(p => (double)p).ToArray();
        _invFreq = new double[HeadDim / 2];
        Rope.InverseFrequencies(HeadDim, 10000, _invFreq);
    }

    [Benchmark(Baseline = true)]
    public void Reference() => Rope.ApplyReference(_x, HeadDim, _positions, _invFreq, Convention, _dst);

    [Benchmark]
    public void Fast() => Rope.Apply(_x, HeadDim, _positions, _invFreq, Convention, _dst);
}
