using System.Text;
using BenchmarkDotNet.Attributes;
using EmbedSharp.Numerics;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.FastText;
using EmbedSharp.Training.Word2Vec;

namespace EmbedSharp.Benchmarks.Training;

/// <summary>
/// The trainers' inner kernels against their scalar references, at word2vec's usual width (100) and
/// an odd one (127). The full-corpus comparison with fastText and gensim is benchmarks/training/run.sh.
/// </summary>
public class TrainingKernelBenchmarks
{
    private float[] _a = null!, _b = null!, _e = null!;

    [Params(100, 127)]
    public int Dims { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var r = new SeededRandom(1);
        _a = new float[Dims];
        _b = new float[Dims];
        _e = new float[Dims];
        for (int i = 0; i < Dims; i++)
        {
            _a[i] = (float)r.NextNormal() * 0.01f;
            _b[i] = (float)r.NextNormal() * 0.01f;
        }
    }

    [Benchmark(Baseline = true)]
    public float DotReference() => VectorMath.DotReference(_a, _b);

    [Benchmark]
    public float Dot() => VectorMath.Dot(_a, _b);

    [Benchmark]
    public void AccumulateAndUpdateReference() => VectorMath.AccumulateAndUpdateReference(1e-6f, _a, _b, _e);

    [Benchmark]
    public void AccumulateAndUpdate() => VectorMath.AccumulateAndUpdate(1e-6f, _a, _b, _e);
}

/// <summary>
/// One epoch of skip-gram on a synthetic Zipf corpus of 200 000 tokens (10 000-word vocabulary), one
/// thread: word2vec and fastText without and with character n-grams. Reports time per epoch; words/s is
/// 200 000 / that.
/// </summary>
public class TrainerEpochBenchmarks
{
    private TextCorpus _corpus = null!;

    [GlobalSetup]
    public void Setup()
    {
        var r = new SeededRandom(3);
        var sb = new StringBuilder();
        int[] zipf = Tables.BagData.ZipfIds(r, 10_000, 200_000);
        for (int i = 0; i < zipf.Length; i++)
            sb.Append('w').Append(zipf[i]).Append(i % 20 == 19 ? '\n' : ' ');
        _corpus = TextCorpus.FromText(sb.ToString());
    }

    [Benchmark]
    public void Word2VecSkipGram()
    {
        using var v = Word2VecTrainer.Train(_corpus, new Word2VecOptions { Epochs = 1, MinCount = 1 });
    }

    [Benchmark]
    public void FastTextNoNgrams()
    {
        using var m = FastTextTrainer.Train(_corpus, new FastTextOptions { Epoch = 1, MinCount = 1, Maxn = 0 });
    }

    [Benchmark]
    public void FastTextNgrams()
    {
        using var m = FastTextTrainer.Train(_corpus, new FastTextOptions { Epoch = 1, MinCount = 1, Bucket = 200_000 });
    }
}
