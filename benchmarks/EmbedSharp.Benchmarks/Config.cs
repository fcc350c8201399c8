using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Environments;
using BenchmarkDotNet.Jobs;

namespace EmbedSharp.Benchmarks;

/// <summary>
/// Jobs for every benchmark: the machine's full ISA; with <c>EMBEDSHARP_BENCH_ISA=1</c> also AVX-512
/// off and scalar (all hardware intrinsics off), so a vectorised kernel's gain over its scalar
/// path shows in one table. Add <c>--job short</c> on the command line for a quick look.
/// </summary>
public sealed class IsaConfig : ManualConfig
{
    public IsaConfig()
    {
        // Short fixed runs: enough for stable ratios within one run on a 2-core machine.
        var native = Job.Default.WithWarmupCount(3).WithIterationCount(10).WithLaunchCount(1).WithId("Native");
        if (Environment.GetEnvironmentVariable("EMBEDSHARP_BENCH_ISA") == "1")
        {
            AddJob(native.AsBaseline());
            AddJob(native.WithEnvironmentVariable("DOTNET_EnableAVX512", "0").WithEnvironmentVariable("DOTNET_EnableAVX512F", "0").WithId("NoAVX512")); // .NET 10 reads the first
            AddJob(native.WithEnvironmentVariable("DOTNET_EnableHWIntrinsic", "0").WithId("Scalar"));
        }
        else
        {
            AddJob(native);
        }
        WithOptions(ConfigOptions.JoinSummary);
    }
}

/// <summary>Fixed-seed id streams: uniform and Zipf-skewed (the popular-items shape of real traffic).</summary>
public static class Ids
{
    public static int[] Uniform(int count, int numEmbeddings, ulong seed)
    {
        var r = new EmbedSharp.Numerics.SeededRandom(seed);
        var ids = new int[count];
        for (int i = 0; i < count; i++)
            ids[i] = r.NextInt(numEmbeddings);
        return ids;
    }

    /// <summary>Zipf(s) over ranks 1..n by inverse-CDF on a precomputed table, ranks shuffled onto ids.</summary>
    public static int[] Zipf(int count, int numEmbeddings, double s, ulong seed)
    {
        var r = new EmbedSharp.Numerics.SeededRandom(seed);
        var cdf = new double[numEmbeddings];
        double total = 0;
        for (int k = 0; k < numEmbeddings; k++)
            cdf[k] = total += 1 / Math.Pow(k + 1, s);
        var perm = Enumerable.Range(0, numEmbeddings).ToArray();
        for (int i = perm.Length - 1; i > 0; i--)
        {
            int j = r.NextInt(i + 1);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        var ids = new int[count];
        for (int i = 0; i < count; i++)
        {
            int k = Array.BinarySearch(cdf, r.NextDouble() * total);
            ids[i] = perm[k < 0 ? ~k : k];
        }
        return ids;
    }
}
