using System.Diagnostics;
using System.Globalization;
using EmbedSharp.Initializers;

namespace EmbedSharp.Benchmarks.Suite;

/// <summary>
/// One round of benchmarks/gather-rounds.sh: the suite's four gathers into a caller's buffer
/// (<c>Embedding.Forward(ids, output)</c>), each timed as the best of REPS calls after a warm-up, one JSON
/// line per workload. Threads come from <c>DOTNET_PROCESSOR_COUNT</c>, as in the suite.
/// </summary>
public static class GatherRounds
{
    public static int Run(string[] args)
    {
        if (args.Length != 2 || !int.TryParse(args[1], CultureInfo.InvariantCulture, out int reps) || reps < 1)
        {
            Console.Error.WriteLine("usage: EmbedSharp.Benchmarks gather-round IDS_DIR REPS");
            return 2;
        }
        Environment.SetEnvironmentVariable("EMBEDSHARP_BENCH_IDS", args[0]);
        foreach ((int rows, int dims) in new[] { (1_000_000, 128), (50_000, 768) })
        {
            using var embedding = new Embedding(rows, dims, new EmbeddingOptions { Seed = 1, Initializer = Initializer.Uniform(-1, 1) });
            foreach (string dist in new[] { "uniform", "zipf" })
            {
                int[] ids = SuiteIds.Load(dist, rows);
                var output = new float[ids.Length * dims];
                output.AsSpan().Fill(1); // a caller's buffer is reused: its pages are already there
                for (int i = 0; i < 3; i++)
                    embedding.Forward(ids, output);
                double best = double.MaxValue;
                for (int i = 0; i < reps; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    embedding.Forward(ids, output);
                    best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{{\"side\":\"embedsharp\",\"workload\":\"gather_into_buffer_{rows}x{dims}_{dist}\",\"threads\":{Environment.ProcessorCount},\"seconds\":{best:E6}}}"));
            }
        }
        return 0;
    }
}
