using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;

namespace EmbedSharp.Benchmarks.Suite;

/// <summary>
/// The suite that benchmarks/run.sh drives: a short, fixed job on 1 and 2 threads
/// (<c>DOTNET_PROCESSOR_COUNT</c> sets what the library sees as the core count), exported as JSON.
/// </summary>
public sealed class SuiteConfig : ManualConfig
{
    public SuiteConfig()
    {
        foreach (int threads in new[] { 1, 2 })
        {
            AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10).WithLaunchCount(1)
                .WithEnvironmentVariable("DOTNET_PROCESSOR_COUNT", threads.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .WithId($"T{threads}"));
        }
        AddExporter(JsonExporter.Full);
        WithOptions(ConfigOptions.JoinSummary);
    }
}

/// <summary>Reads the suite's id files (written by benchmarks/peer/make_ids.py), or makes equivalent ones.</summary>
public static class SuiteIds
{
    public static int[] Load(string distribution, int rows)
    {
        string? dir = Environment.GetEnvironmentVariable("EMBEDSHARP_BENCH_IDS");
        string path = dir is null ? "" : Path.Combine(dir, $"{distribution}_{rows}.bin");
        if (File.Exists(path))
        {
            byte[] bytes = File.ReadAllBytes(path);
            int[] ids = new int[bytes.Length / 4];
            Buffer.BlockCopy(bytes, 0, ids, 0, ids.Length * 4);
            return ids;
        }
        return distribution == "zipf" ? Ids.Zipf(65_536, rows, 1.05, 20261123) : Ids.Uniform(65_536, rows, 20261123);
    }
}
