using System.Diagnostics;
using System.Globalization;
using System.Text;
using EmbedSharp.Search;

namespace EmbedSharp.Web.Diagnostics;

/// <summary>
/// Opt-in server-side timings of <c>/api/neighbors</c> (<c>EMBEDSHARP_SERVE_METRICS=1</c>), to find what sets the
/// latency tail: per request the time inside the server, the wait in the batcher's queue and the hop back to the
/// handler; per batch its size, duration and pre-filter fallbacks; over the run the collections and GC pause time.
/// </summary>
/// <remarks>
/// Figures are kept per busy period: a period starts with the first neighbour request after
/// <see cref="IdleGap"/> without one, and its summary (one block on standard error) is written when the next
/// period starts or the server stops. So a benchmark's warm-up request and its load run are reported apart.
/// </remarks>
internal sealed class ServeMetrics : IDisposable
{
    /// <summary>Time without a neighbour request that ends a busy period.</summary>
    public static readonly TimeSpan IdleGap = TimeSpan.FromSeconds(1);

    /// <summary>The process's metrics when the environment asks for them; null (nothing recorded) otherwise.</summary>
    public static ServeMetrics? Active { get; } =
        Environment.GetEnvironmentVariable("EMBEDSHARP_SERVE_METRICS") == "1" ? new ServeMetrics(Console.Error) : null;

    private readonly TextWriter _output;
    private readonly object _gate = new();
    private readonly Timer _idleCheck;
    private Period? _period;
    private long _lastTicks;

    /// <summary>Metrics that write each period's summary to <paramref name="output"/>.</summary>
    public ServeMetrics(TextWriter output)
    {
        _output = output;
        _idleCheck = new Timer(_ => CloseIfIdle(), null, 250, 250);
    }

    /// <summary>Marks a neighbour request's arrival (opening a period after an idle gap); its start timestamp.</summary>
    public long RequestStarted(ExactIndex? index)
    {
        long now = Stopwatch.GetTimestamp();
        Volatile.Write(ref _lastTicks, now);
        if (Volatile.Read(ref _period) is null)
        {
            lock (_gate)
                _period ??= new Period(index);
        }
        return now;
    }

    /// <summary>A neighbour request finished, <paramref name="start"/> from <see cref="RequestStarted"/>.</summary>
    public void RequestEnded(long start, bool cached)
    {
        long now = Stopwatch.GetTimestamp();
        Volatile.Write(ref _lastTicks, now);
        var p = Volatile.Read(ref _period);
        if (p is null)
            return;
        p.Server.Add(Ms(now - start));
        if (cached)
            Interlocked.Increment(ref p.Cached);
    }

    /// <summary>One query left the queue: how long it waited there, and the time from its answer to its handler resuming.</summary>
    public void Query(long waitTicks, long hopTicks)
    {
        var p = Volatile.Read(ref _period);
        if (p is null)
            return;
        p.Wait.Add(Ms(waitTicks));
        p.Hop.Add(Ms(hopTicks));
    }

    /// <summary>One batch answered: its queries, duration and the pre-filter fallbacks (full scans) it met.</summary>
    public void Batch(int size, long ticks, long fallbacks)
    {
        var p = Volatile.Read(ref _period);
        if (p is null)
            return;
        double ms = Ms(ticks);
        p.BatchSize.Add(size);
        p.BatchMs.Add(ms);
        if (fallbacks > 0)
        {
            p.FallbackBatchMs.Add(ms);
            Interlocked.Add(ref p.Fallbacks, fallbacks);
        }
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private void CloseIfIdle()
    {
        long last = Volatile.Read(ref _lastTicks);
        if (Volatile.Read(ref _period) is null || Stopwatch.GetElapsedTime(last) < IdleGap)
            return;
        Close();
    }

    /// <summary>Writes the open period's summary (if any) and starts afresh.</summary>
    public void Close()
    {
        Period? p;
        lock (_gate)
        {
            p = _period;
            _period = null;
        }
        if (p is not null && p.Server.Count > 0)
        {
            lock (_output)
            {
                _output.Write(p.Summary());
                _output.Flush();
            }
        }
    }

    public void Dispose()
    {
        _idleCheck.Dispose();
        Close();
    }

    /// <summary>A growing list of samples that many threads add to (at most <see cref="Limit"/>; later ones are dropped).</summary>
    internal sealed class Series
    {
        public const int Limit = 1 << 22;
        private readonly List<double> _values = [];

        public int Count
        {
            get
            {
                lock (_values)
                    return _values.Count;
            }
        }

        public void Add(double value)
        {
            lock (_values)
            {
                if (_values.Count < Limit)
                    _values.Add(value);
            }
        }

        /// <summary>The samples sorted (a copy).</summary>
        public double[] Sorted()
        {
            double[] copy;
            lock (_values)
                copy = [.. _values];
            Array.Sort(copy);
            return copy;
        }

        /// <summary>Nearest-rank percentile of sorted values (0 when empty).</summary>
        public static double Percentile(double[] sorted, double p) =>
            sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    private sealed class Period
    {
        public readonly Series Server = new(), Wait = new(), Hop = new(), BatchSize = new(), BatchMs = new(), FallbackBatchMs = new();
        public long Cached, Fallbacks;
        private readonly long _start = Stopwatch.GetTimestamp();
        private readonly int[] _collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        private readonly TimeSpan _pause = GC.GetTotalPauseDuration();
        private readonly TimeSpan _cpu = Process.GetCurrentProcess().TotalProcessorTime;
        private readonly long _allocated = GC.GetTotalAllocatedBytes();
        private readonly ExactIndex? _index;
        private readonly (long Queries, long Fallbacks) _prefilter;

        public Period(ExactIndex? index)
        {
            _index = index;
            _prefilter = index?.PrefilterCounts ?? default;
        }

        public string Summary()
        {
            double seconds = Stopwatch.GetElapsedTime(_start).TotalSeconds;
            var s = new StringBuilder();
            var inv = CultureInfo.InvariantCulture;
            s.AppendLine(inv, $"METRICS neighbors period={seconds:F1}s requests={Server.Count} cached={Cached} rps={Server.Count / Math.Max(seconds, 1e-9):F0}");
            Line(s, "server_ms", Server);
            Line(s, "queue_wait_ms", Wait);
            Line(s, "hop_ms", Hop);
            Line(s, "batch_ms", BatchMs);
            Line(s, "batch_size", BatchSize);
            Line(s, "fallback_batch_ms", FallbackBatchMs);
            var (queries, fallbacks) = _index?.PrefilterCounts ?? default;
            s.AppendLine(inv, $"METRICS prefilter queries={queries - _prefilter.Queries} fallbacks={fallbacks - _prefilter.Fallbacks}");
            double pauseMs = (GC.GetTotalPauseDuration() - _pause).TotalMilliseconds;
            double cpu = (Process.GetCurrentProcess().TotalProcessorTime - _cpu).TotalSeconds;
            s.AppendLine(inv, $"METRICS gc gen0={GC.CollectionCount(0) - _collections[0]} gen1={GC.CollectionCount(1) - _collections[1]} gen2={GC.CollectionCount(2) - _collections[2]} pause_ms={pauseMs:F1} allocated_mb={(GC.GetTotalAllocatedBytes() - _allocated) / 1e6:F0} server_gc={System.Runtime.GCSettings.IsServerGC} latency_mode={System.Runtime.GCSettings.LatencyMode} cpu_s={cpu:F1} threads={ThreadPool.ThreadCount}");
            return s.ToString();
        }

        private static void Line(StringBuilder s, string name, Series series)
        {
            var v = series.Sorted();
            s.AppendLine(CultureInfo.InvariantCulture,
                $"METRICS {name} n={v.Length} mean={(v.Length > 0 ? v.Average() : 0):F2} p50={Series.Percentile(v, 50):F2} p90={Series.Percentile(v, 90):F2} p99={Series.Percentile(v, 99):F2} p99.9={Series.Percentile(v, 99.9):F2} max={(v.Length > 0 ? v[^1] : 0):F2}");
        }
    }
}
