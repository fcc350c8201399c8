using System.Diagnostics;
using EmbedSharp.Web.Diagnostics;

namespace EmbedSharp.Web.Tests;

/// <summary>The opt-in server timings: nearest-rank percentiles, and one summary per busy period.</summary>
public sealed class ServeMetricsTests
{
    [Fact]
    public void Percentile_IsNearestRank_OnAwkwardSizes()
    {
        Assert.Equal(0, ServeMetrics.Series.Percentile([], 99));
        Assert.Equal(7, ServeMetrics.Series.Percentile([7], 50));
        Assert.Equal(7, ServeMetrics.Series.Percentile([7], 99.9));
        double[] hundred = [.. Enumerable.Range(1, 100).Select(i => (double)i)];
        Assert.Equal(50, ServeMetrics.Series.Percentile(hundred, 50));
        Assert.Equal(99, ServeMetrics.Series.Percentile(hundred, 99));
        Assert.Equal(100, ServeMetrics.Series.Percentile(hundred, 99.9));
        Assert.Equal(1, ServeMetrics.Series.Percentile(hundred, 0));
    }

    [Fact]
    public void Series_SortsWhatManyThreadsAdd()
    {
        var s = new ServeMetrics.Series();
        Parallel.For(0, 1000, i => s.Add(999 - i));
        var sorted = s.Sorted();
        Assert.Equal(1000, sorted.Length);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (double)i), sorted);
    }

    [Fact]
    public void EachBusyPeriod_GetsItsOwnSummary_WithItsCounts()
    {
        var output = new StringWriter();
        using var metrics = new ServeMetrics(output);
        long tick = Stopwatch.Frequency / 1000; // one millisecond
        for (int i = 0; i < 3; i++)
        {
            long start = metrics.RequestStarted(null);
            metrics.Query(2 * tick, tick);
            metrics.RequestEnded(start, cached: false);
        }
        metrics.Batch(3, 5 * tick, fallbacks: 1);
        metrics.Batch(2, 4 * tick, fallbacks: 0);
        metrics.Close();
        string first = output.ToString();
        Assert.Contains("requests=3 cached=0", first);
        Assert.Contains("METRICS queue_wait_ms n=3 mean=2.00 p50=2.00", first);
        Assert.Contains("METRICS batch_size n=2 mean=2.50 p50=2.00 p90=3.00", first);
        Assert.Contains("METRICS fallback_batch_ms n=1 mean=5.00", first);
        Assert.Contains("METRICS gc gen0=", first);

        // A second period reports only its own requests; closing with none open writes nothing.
        long again = metrics.RequestStarted(null);
        metrics.RequestEnded(again, cached: true);
        metrics.Close();
        metrics.Close();
        string second = output.ToString()[first.Length..];
        Assert.Contains("requests=1 cached=1", second);
        Assert.Single(second.Split('\n'), l => l.StartsWith("METRICS neighbors", StringComparison.Ordinal));
    }

    [Fact]
    public void NothingIsRecorded_WhenNoPeriodIsOpen()
    {
        var output = new StringWriter();
        using var metrics = new ServeMetrics(output);
        metrics.Query(1, 1);
        metrics.Batch(1, 1, 0);
        metrics.RequestEnded(0, false);
        metrics.Close();
        Assert.Equal("", output.ToString());
    }
}
