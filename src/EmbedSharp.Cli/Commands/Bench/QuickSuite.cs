using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using EmbedSharp.Initializers;
using EmbedSharp.Optimizers;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Cli.Commands.Bench;

/// <summary>One measured workload of <c>embedsharp bench</c>.</summary>
internal sealed record BenchResult(string Workload, double Throughput, string Unit, double BytesPerSecond, double LimitBytesPerSecond)
{
    public double FractionOfLimit => LimitBytesPerSecond > 0 ? BytesPerSecond / LimitBytesPerSecond : 0;
}

/// <summary>
/// The short in-process version of the benchmark suite (benchmarks/run.sh is the full one): the
/// machine's streaming-read limit measured by a managed probe, then the hot paths on the suite's
/// sizes, each timed for a fixed budget and reported as its best repetition.
/// </summary>
internal static class QuickSuite
{
    public const int Rows = 1_000_000, Dims = 128, Ids = 65_536, BagSize = 32;

    public static IEnumerable<string> Workloads =>
        ["stream_read", "gather_fp32", "bag_sum_32", "gather_affine4_g64", "sparse_adam_step", "gemv_50257x768"];

    public static IEnumerable<BenchResult> Run(double secondsPerWorkload, int rows, Action<double> progress)
    {
        var rng = new Numerics.SeededRandom(20261123);
        int[] ids = new int[Ids];
        for (int i = 0; i < ids.Length; i++)
            ids[i] = rng.NextInt(rows);
        int steps = 6, done = 0;
        void Advance() => progress(++done / (double)steps);

        double limit = StreamRead(secondsPerWorkload);
        yield return new BenchResult("stream_read", limit / 1e9, "GB/s", limit, limit);
        Advance();

        using var embedding = new Embedding(rows, Dims, new EmbeddingOptions { Initializer = Initializer.Uniform(-1, 1), Seed = 1 });
        var output = new float[Ids * Dims];
        double t = Best(secondsPerWorkload, () => embedding.Forward(ids, output));
        double bytes = (double)Ids * Dims * 4;
        yield return new BenchResult("gather_fp32", Ids / t / 1e6, "M rows/s", bytes / t, limit);
        Advance();

        using (var bag = new EmbeddingBag(rows, Dims, new EmbeddingBagOptions { Mode = PoolingMode.Sum, Seed = 2 }))
        {
            int bags = Ids / BagSize;
            int[] offsets = Enumerable.Range(0, bags).Select(b => b * BagSize).ToArray();
            var pooled = new float[bags * Dims];
            t = Best(secondsPerWorkload, () => bag.Forward(ids, offsets, default, pooled));
            yield return new BenchResult("bag_sum_32", Ids / t / 1e6, "M rows/s", bytes / t, limit);
        }
        Advance();

        QuantizedTable quantized = QuantizedTable.Quantize(embedding.Weight, 64, 4, QuantizationMode.Affine);
        t = Best(secondsPerWorkload, () => quantized.Gather(ids, output));
        // Bytes read from the packed table: 4 bits per value plus a scale and a bias per 64 values.
        double packedBytes = (double)Ids * (Dims / 2 + Dims / 64 * 2 * 4);
        yield return new BenchResult("gather_affine4_g64", Ids / t / 1e6, "M rows/s", packedBytes / t, limit);
        Advance();

        var grad = new float[Ids * Dims];
        grad.AsSpan().Fill(1e-3f);
        using var optimizer = FusedSparseBackward.Create(embedding.Weight, new Adam(1e-3));
        int touched = ids.Distinct().Count();
        t = Best(secondsPerWorkload, () => embedding.BackwardAndStep(ids, grad, optimizer));
        // Each touched row reads and writes the weight and Adam's two moments.
        double adamBytes = (double)touched * Dims * 4 * 3 * 2;
        yield return new BenchResult("sparse_adam_step", Ids / t / 1e6, "M ids/s", adamBytes / t, limit);
        Advance();

        using (var head = new Embedding(50_257, 768, new EmbeddingOptions { Initializer = Initializer.Gpt2, Seed = 3 }))
        {
            var x = new float[768];
            x.AsSpan().Fill(0.01f);
            var logits = new float[50_257];
            t = Best(secondsPerWorkload, () => head.AsLinear(x, logits));
            double weightBytes = 50_257.0 * 768 * 4;
            yield return new BenchResult("gemv_50257x768", 1 / t, "tokens/s", weightBytes / t, limit);
        }
        Advance();
    }

    /// <summary>Best time of repeated calls within the budget (at least three calls).</summary>
    private static double Best(double seconds, Action action)
    {
        action(); // warm-up
        double best = double.MaxValue;
        var total = Stopwatch.StartNew();
        for (int i = 0; i < 3 || total.Elapsed.TotalSeconds < seconds; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return best;
    }

    /// <summary>Streaming read of 256 MiB with four independent Vector256 accumulators: the machine's limit.</summary>
    private static double StreamRead(double seconds)
    {
        var data = GC.AllocateUninitializedArray<float>(64 << 20);
        data.AsSpan().Fill(1);
        float sink = 0;
        double t = Best(seconds, () => sink += Sum(data));
        GC.KeepAlive(sink);
        return data.Length * 4.0 / t;
    }

    private static float Sum(float[] data)
    {
        if (!Vector256.IsHardwareAccelerated)
            return TensorPrimitives.Sum(data);
        ReadOnlySpan<float> span = data;
        Vector256<float> a = default, b = default, c = default, d = default;
        int i = 0;
        for (; i <= span.Length - 32; i += 32)
        {
            a += Vector256.Create(span.Slice(i));
            b += Vector256.Create(span.Slice(i + 8));
            c += Vector256.Create(span.Slice(i + 16));
            d += Vector256.Create(span.Slice(i + 24));
        }
        float s = Vector256.Sum(a + b + c + d);
        for (; i < span.Length; i++)
            s += span[i];
        return s;
    }
}
