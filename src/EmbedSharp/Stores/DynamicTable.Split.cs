using System.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

public sealed partial class DynamicTable
{
    /// <summary>
    /// The lookup's cost taken apart for the benchmark (StoreBench <c>--parts split</c>): each stage of
    /// <see cref="Gather"/> run alone on one thread over the same ids, its nanoseconds per id returned by name.
    /// Stages: the probe alone (map lookups summing slots, without and with entries prefetched ahead), the copy
    /// alone (the dense gather over slots resolved beforehand), the probe-and-copy pass, the commit pass,
    /// and the whole call. Meant for tables where every id of the batches is live (the commit stage reuses the
    /// positions found before timing, so a row admitted or evicted during it would make them stale).
    /// </summary>
    internal unsafe (string Stage, double NsPerId)[] MeasureLookupStages(long[][] batches, int repeats, out long checksum)
    {
        int dims = _rows.Dims;
        int n = batches.Max(b => b.Length);
        var output = new float[n * dims];
        var slots = batches.Select(b => new int[b.Length]).ToArray();
        var found = batches.Select(b => new int[b.Length]).ToArray(); // map positions (−1: no live row)
        var probed = new int[n];
        long sum = 0;
        var results = new List<(string, double)>();
        lock (_gate)
        {
            for (int b = 0; b < batches.Length; b++)
                for (int k = 0; k < batches[b].Length; k++)
                {
                    int pos = Find(batches[b][k]);
                    found[b][k] = pos;
                    slots[b][k] = pos >= 0 ? _map[pos].SlotPlusOne - 1 : _defaultSlot;
                }
        }
        long total = batches.Sum(b => (long)b.Length) * repeats;

        // Stages are timed in interleaved rounds and the least process CPU time is kept: on the shared machine a
        // stage's CPU time moves far less with load than its wall time, and the least of 5 is the least disturbed.
        var stages = new List<(string Stage, Action<int> Body)>();
        void Time(string stage, Action<int> body) => stages.Add((stage, body));

        Time("probe only (map lookups, no prefetch)", b =>
        {
            lock (_gate)
                foreach (long id in batches[b])
                {
                    int pos = Find(id);
                    sum += pos >= 0 ? _map[pos].SlotPlusOne : 0;
                }
        });
        Time("probe only, entries prefetched 16 ahead", b =>
        {
            lock (_gate)
            {
                long[] ids = batches[b];
                for (int k = 0; k < ids.Length; k++)
                {
                    if (k + 16 < ids.Length)
                        PrefetchEntry(ids[k + 16]);
                    int pos = Find(ids[k]);
                    sum += pos >= 0 ? _map[pos].SlotPlusOne : 0;
                }
            }
        });
        foreach (int distance in new[] { 16, 32, 64 })
            Time($"resolve pass with touches, entries prefetched {distance} ahead", b =>
            {
                lock (_gate)
                {
                    long[] ids = batches[b];
                    LookupCall call = BeginRoutedLookup("split");
                    for (int k = 0; k < ids.Length; k++)
                    {
                        if (k + distance < ids.Length)
                            PrefetchEntry(ids[k + distance]);
                        int pos = Find(ids[k]);
                        if (pos >= 0)
                            Touch(ref _map[pos], call);
                        probed[k] = pos >= 0 ? _map[pos].SlotPlusOne - 1 : _defaultSlot;
                    }
                }
            });
        Time("two passes: resolve (32 ahead) then dense copy, 1 thread", b =>
        {
            lock (_gate)
            {
                long[] ids = batches[b];
                LookupCall call = BeginRoutedLookup("split");
                for (int k = 0; k < ids.Length; k++)
                {
                    if (k + 32 < ids.Length)
                        PrefetchEntry(ids[k + 32]);
                    int pos = Find(ids[k]);
                    if (pos >= 0)
                        Touch(ref _map[pos], call);
                    probed[k] = pos >= 0 ? _map[pos].SlotPlusOne - 1 : _defaultSlot;
                }
                _rows.GatherUnchecked(probed.AsSpan(0, ids.Length), output, 1f, maxThreads: 1);
            }
        });
        Time("copy only (dense gather over resolved slots, 1 thread)", b =>
            _rows.GatherUnchecked(slots[b], output, 1f, maxThreads: 1));
        Time("probe-and-copy pass (the lookup's: per range, lookups then copies; 1 thread)", b =>
        {
            lock (_gate)
            {
                long[] ids = batches[b];
                LookupCall call = BeginRoutedLookup("split");
                fixed (long* idp = ids)
                fixed (float* dst = output)
                    ProbeAndCopy([this], null, idp, ids.Length, [call], probed, dst, dims, maxThreads: 1);
            }
        });
        Time("two passes: resolve (32 ahead) WITHOUT touches, then dense copy, 1 thread", b =>
        {
            lock (_gate)
            {
                long[] ids = batches[b];
                for (int k = 0; k < ids.Length; k++)
                {
                    if (k + 32 < ids.Length)
                        PrefetchEntry(ids[k + 32]);
                    int pos = Find(ids[k]);
                    probed[k] = pos >= 0 ? _map[pos].SlotPlusOne - 1 : _defaultSlot;
                }
                _rows.GatherUnchecked(probed.AsSpan(0, ids.Length), output, 1f, maxThreads: 1);
            }
        });
        Time("commit pass (after a probe)", b =>
        {
            lock (_gate)
            {
                long[] ids = batches[b];
                LookupCall call = BeginRoutedLookup("split");
                fixed (float* dst = output)
                    for (int k = 0; k < ids.Length; k++)
                        if (CommitLookup(ids[k], found[b][k], call, out int slot))
                            CopySlot(slot, dst + (nint)k * dims);
            }
        });
        Time("whole Gather (1 thread)", b => GatherCore(batches[b], output, maxThreads: 1));
        Time("whole Gather (default threads)", b => GatherCore(batches[b], output, maxThreads: -1));
        var best = stages.Select(_ => double.MaxValue).ToArray();
        for (int round = 0; round < 5; round++)
            for (int i = 0; i < stages.Count; i++)
            {
                stages[i].Body(0); // warm
                TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
                for (int r = 0; r < repeats; r++)
                    for (int b = 0; b < batches.Length; b++)
                        stages[i].Body(b);
                best[i] = Math.Min(best[i], (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalNanoseconds / total);
            }
        results.AddRange(stages.Select((st, i) => (st.Stage, best[i])));
        checksum = sum;
        return [.. results];
    }
}
