using System.CommandLine;
using System.Globalization;
using EmbedSharp.Cli.Commands.Bench;
using EmbedSharp.Cli.Output;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp bench</c>: the short benchmark suite, as a table or JSON lines.</summary>
internal static class BenchCommand
{
    public static Command Create(IConsole console)
    {
        var json = new Option<bool>("--json") { Description = "One JSON object per workload: workload, throughput, unit, bytes_per_second, limit_bytes_per_second, fraction_of_limit." };
        var seconds = new Option<double>("--seconds") { Description = "Time budget per workload.", DefaultValueFactory = _ => 1.5 };
        var rows = new Option<int>("--rows") { Description = "Rows of the lookup table (Dims 128).", DefaultValueFactory = _ => QuickSuite.Rows };
        var cmd = new Command("bench", "Measure the hot paths on this machine against its streaming-read limit, in under a minute.\n\nExamples:\n  embedsharp bench\n  embedsharp bench --json > bench.jsonl\n\nThe full suite against PyTorch is `bash benchmarks/run.sh`.")
        {
            json, seconds, rows,
        };
        cmd.SetAction(r => Run(console, r.GetValue(json), r.GetValue(seconds), r.GetValue(rows)));
        return cmd;
    }

    public static int Run(IConsole console, bool json, double seconds, int rows)
    {
        if (!(seconds > 0 && seconds <= 60))
            throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "[bench] --seconds must be in (0, 60]");
        if (rows < 1)
            throw new ArgumentOutOfRangeException(nameof(rows), rows, "[bench] --rows must be ≥ 1");
        var r = new Renderer(console, json);
        r.Line($"embedsharp bench: {Environment.ProcessorCount} cores, table {rows:N0} × {QuickSuite.Dims}, {QuickSuite.Ids:N0} ids, best of {seconds:0.##} s per workload");
        var results = r.Progress("benchmarking", p => QuickSuite.Run(seconds, rows, p).ToList());
        if (json)
        {
            foreach (var x in results)
            {
                r.JsonLine(new Dictionary<string, object?>
                {
                    ["workload"] = x.Workload,
                    ["throughput"] = x.Throughput,
                    ["unit"] = x.Unit,
                    ["bytes_per_second"] = x.BytesPerSecond,
                    ["limit_bytes_per_second"] = x.LimitBytesPerSecond,
                    ["fraction_of_limit"] = x.FractionOfLimit,
                });
            }
            return EmbedSharpCli.Ok;
        }
        var ci = CultureInfo.InvariantCulture;
        r.Table(["workload", "throughput", "unit", "GB/s moved", "fraction of limit"],
            results.Select(x => (IReadOnlyList<string>)[x.Workload, x.Throughput.ToString("0.00", ci), x.Unit,
                (x.BytesPerSecond / 1e9).ToString("0.00", ci), x.FractionOfLimit.ToString("0.00", ci)]));
        return EmbedSharpCli.Ok;
    }
}
