// Store benchmarks (issue 23): sharded store vs the unsharded EmbeddingTable on the same 4,096-id batches,
// and DynamicTable lookups vs a dense table of the same size. Every result is a ratio to the peer measured in
// the same run, rounds interleaved (the median of the per-round ratios). Usage: dotnet run -c Release --project benchmarks/stores/StoreBench [-- --rows N --seconds S --rounds R --parts gather,update,dynamic,split]; split = applysplit,lookupsplit (each stage of the one-thread update and of the lookup timed alone)
using System.Diagnostics;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Stores;
using EmbedSharp.Tables;

int rows = 1_000_000, dims = 128, batch = 4096, rounds = 3;
double seconds = 1.0;
string parts = "gather,update,dynamic";
for (int i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--rows") rows = int.Parse(args[i + 1]);
    if (args[i] == "--parts") parts = args[i + 1];
    if (args[i] == "--rounds") rounds = int.Parse(args[i + 1]);
    if (args[i] == "--seconds") seconds = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
}
Console.WriteLine($"# {rows:N0} x {dims} fp32, batches of {batch}, {Environment.ProcessorCount} cores, {rounds} interleaved rounds of {seconds} s; median rows/s");

var rng = new Random(42);
using var table = new EmbeddingTable(rows, dims);
{
    var row = new float[dims];
    for (int r = 0; r < rows; r++)
    {
        for (int d = 0; d < dims; d++) row[d] = (float)(rng.NextDouble() - 0.5);
        table.WriteRow(r, row);
    }
}

// Id streams: uniform, and Zipf(1.05) over ranks mapped to a random permutation of the rows.
int[] permutation = [.. Enumerable.Range(0, rows).OrderBy(_ => rng.Next())];
double[] cdf = new double[rows];
{
    double sum = 0;
    for (int k = 0; k < rows; k++) { sum += 1.0 / Math.Pow(k + 1, 1.05); cdf[k] = sum; }
    for (int k = 0; k < rows; k++) cdf[k] /= sum;
}
int[][] Batches(bool zipf, int count) => [.. Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, batch).Select(_ =>
{
    if (!zipf) return rng.Next(rows);
    int k = Array.BinarySearch(cdf, rng.NextDouble());
    return permutation[Math.Min(rows - 1, k < 0 ? ~k : k)];
}).ToArray())];
var streams = new (string Name, int[][] Batches)[] { ("uniform", Batches(false, 64)), ("zipf 1.05", Batches(true, 64)) };
{
    // FNV-1a of every id of both streams: benchmarks/stores/peer-hashmap.cc replays the same draws and prints the same.
    ulong fnv = 14695981039346656037UL;
    foreach (var (_, bs) in streams)
        foreach (var b in bs)
            foreach (int id in b) { fnv ^= (uint)id; fnv *= 1099511628211UL; }
    Console.WriteLine($"# id streams FNV-1a {fnv:x16}");
}

// Rows/s of `body` run by `threads` callers for `seconds`, and the process's CPU time per row (ns): on a loaded
// machine the CPU time a row costs moves far less than the wall-clock rate, since waiting for a core is not counted.
(double RowsPerSecond, double CpuNsPerRow) Measure(int threads, Action<int, int> body)
{
    var warm = Stopwatch.StartNew();
    for (int w = 0; w < 8 || warm.Elapsed.TotalSeconds < seconds / 4; w++) body(0, w);
    long done = 0;
    TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
    {
        long mine = 0;
        for (int b = t; sw.Elapsed.TotalSeconds < seconds; b += threads)
        {
            body(t, b);
            mine++;
        }
        Interlocked.Add(ref done, mine);
    })).ToArray();
    foreach (var w in workers) w.Start();
    foreach (var w in workers) w.Join();
    double elapsed = sw.Elapsed.TotalSeconds;
    double cpuNs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalNanoseconds;
    return (done * (double)batch / elapsed, cpuNs / Math.Max(1, done * (double)batch));
}

void Compare(string title, int threads, (string Name, Action<int, int> Body)[] candidates)
{
    var results = candidates.Select(_ => new List<double>()).ToArray();
    var cpu = candidates.Select(_ => new List<double>()).ToArray();
    for (int r = 0; r < rounds; r++)
        for (int c = 0; c < candidates.Length; c++)
        {
            var (rate, ns) = Measure(threads, candidates[c].Body);
            results[c].Add(rate);
            cpu[c].Add(ns);
        }
    // The ratio is the median over rounds of (candidate / peer in the same round): on a loaded machine the load
    // moves between rounds more than between a round's neighbouring candidates. The CPU column is the median CPU
    // time per row and its ratio to the peer's (below 1 = cheaper than the peer).
    foreach (var (c, i) in candidates.Select((c, i) => (c, i)))
        Console.WriteLine($"| {title} | {threads} | {c.Name} | {Median(results[i]) / 1e6:F2} M | {Median([.. results[i].Zip(results[0], (x, p) => x / p)]):F2}x | {Median(cpu[i]):F0} ns ({Median(cpu[i]) / Median(cpu[0]):F2}x) |");
}

static double Median(List<double> v) { var s = v.Order().ToArray(); return s[s.Length / 2]; }

var shardCounts = new[] { 1, Environment.ProcessorCount, 8 }.Distinct().ToArray();
if (parts.Contains("gather")) {
Console.WriteLine("\n## Gather: sharded store vs EmbeddingTable.Gather (same rows, same batches)\n");
Console.WriteLine("| ids | callers | what | rows/s | vs table | CPU time a row |\n|---|---|---|---|---|---|");
var stores = shardCounts.Select(s => InProcessShardedStore.FromTable("bench", table, new InProcessStoreOptions { Shards = s })).ToArray();
foreach (var (name, batches) in streams)
{
    long[][] longBatches = [.. batches.Select(b => b.Select(i => (long)i).ToArray())];
    foreach (int threads in new[] { 1, 2 })
    {
        var outs = Enumerable.Range(0, threads).Select(_ => new float[batch * dims]).ToArray();
        var candidates = new List<(string, Action<int, int>)> { ("EmbeddingTable.Gather", (t, b) => table.Gather(batches[b % batches.Length], outs[t])) };
        foreach (var (store, s) in stores.Zip(shardCounts))
            candidates.Add(($"store, {s} shard(s)", (t, b) => store.Gather(longBatches[b % longBatches.Length], outs[t])));
        Compare(name, threads, [.. candidates]);
    }
}

foreach (var s in stores) s.Dispose();
}
string[] partList = parts.Split(',');
bool Part(string name) => partList.Contains(name) || (name.EndsWith("split") && partList.Contains("split"));
if (Part("applysplit")) {
// The one-thread update taken apart (one shard; the store's own stages, same batches).
foreach (var (name, batches) in streams)
{
    var prepared = batches.Select(b =>
    {
        long[] distinct = [.. b.Distinct().Select(i => (long)i)];
        float[] grads = [.. Enumerable.Range(0, distinct.Length * dims).Select(_ => (float)(rng.NextDouble() - 0.5) * 1e-3f)];
        return (distinct, grads);
    }).ToArray();
    using var store = InProcessShardedStore.FromTable("split", table, new InProcessStoreOptions { Shards = 1 });
    Console.WriteLine($"\n### Update split, {name} ids (process CPU ns per row, least of 5 interleaved rounds; one thread)\n\n| stage | ns per row |\n|---|---:|");
    foreach (var (stage, ns) in store.MeasureUpdateStages(prepared, t => OptimizerStep.Adagrad(0.01, t), Math.Max(1, (int)seconds)))
        Console.WriteLine($"| {stage} | {ns:F1} |");
}
}
if (parts.Contains("update")) {
Console.WriteLine("\n## Update (Adagrad): sharded store ApplyGradients vs core FusedSparseBackward.Step on the same distinct ids and summed gradients\n");
Console.WriteLine("| ids | callers | what | rows/s (distinct rows updated) | vs core | CPU time a row |\n|---|---|---|---|---|---|");
foreach (var (name, batches) in streams)
{
    // Distinct ids per batch with random gradients; the core gets them as a SparseGradient (rows ascending), the store as given.
    var prepared = batches.Select(b =>
    {
        int[] distinct = [.. b.Distinct()];
        float[] grads = [.. Enumerable.Range(0, distinct.Length * dims).Select(_ => (float)(rng.NextDouble() - 0.5) * 1e-3f)];
        int[] order = [.. Enumerable.Range(0, distinct.Length).OrderBy(i => distinct[i])];
        var sparse = new SparseGradient(rows, dims, [.. order.Select(i => distinct[i])], [.. order.SelectMany(i => grads.AsSpan(i * dims, dims).ToArray())]);
        return (Ids: distinct.Select(i => (long)i).ToArray(), Grads: grads, Sparse: sparse);
    }).ToArray();
    double distinctShare = prepared.Average(p => p.Ids.Length) / batch;
    using var coreCopy = table.Clone();
    using var optimizer = FusedSparseBackward.Create(coreCopy, new Adagrad(0.01));
    long coreStep = 0;
    var updateStores = shardCounts.Select(s => InProcessShardedStore.FromTable("bench", table, new InProcessStoreOptions { Shards = s })).ToArray();
    var storeSteps = new long[updateStores.Length];
    var candidates = new List<(string, Action<int, int>)> { ("FusedSparseBackward<Adagrad>.Step (exact)", (t, b) => { optimizer.Step(prepared[b % prepared.Length].Sparse); coreStep++; }) };
    foreach (var (store, i) in updateStores.Select((s, i) => (s, i)))
        candidates.Add(($"store, {shardCounts[i]} shard(s)", (t, b) => { var p = prepared[b % prepared.Length]; store.ApplyGradients(p.Ids, p.Grads, OptimizerStep.Adagrad(0.01, ++storeSteps[i])); }));
    Console.WriteLine($"| {name} (distinct {distinctShare:P0} of each batch; rows/s below count batch positions) | | | | |");
    Compare(name, 1, [.. candidates]);
    foreach (var s in updateStores) s.Dispose();
}
}
if (!parts.Contains("dynamic") && !Part("lookupsplit")) return;

Console.WriteLine("\n## DynamicTable lookups vs a dense EmbeddingTable of the same size (every id live)\n");
Console.WriteLine("| ids | callers | what | rows/s | vs dense | CPU time a row |\n|---|---|---|---|---|---|");
long[] keys = new long[rows];
{
    var seen = new HashSet<long>();
    for (int r = 0; r < rows; r++) { long k; do { k = rng.NextInt64(long.MinValue, long.MaxValue); } while (!seen.Add(k)); keys[r] = k; }
}
using var dynamic = new DynamicTable("bench", dims, new DynamicTableOptions { MaxRows = rows });
{
    const int chunk = 8192;
    var buffer = new float[chunk * dims];
    for (int r = 0; r < rows; r += chunk)
    {
        int n = Math.Min(chunk, rows - r);
        for (int k = 0; k < n; k++) table.ReadRow(r + k, buffer.AsSpan(k * dims, dims));
        dynamic.Upsert(keys.AsSpan(r, n), buffer.AsSpan(0, n * dims));
    }
}
using var dynamicSharded = new DynamicShardedStore("bench", dims, new DynamicTableOptions { MaxRows = rows + rows / 8 }, ShardingPlan.Even(Environment.ProcessorCount));
{
    const int chunk = 8192;
    var buffer = new float[chunk * dims];
    for (int r = 0; r < rows; r += chunk)
    {
        int n = Math.Min(chunk, rows - r);
        for (int k = 0; k < n; k++) table.ReadRow(r + k, buffer.AsSpan(k * dims, dims));
        await dynamicSharded.UpsertAsync(keys.AsMemory(r, n), buffer.AsMemory(0, n * dims));
    }
}
if (Part("lookupsplit"))
{
    // The lookup taken apart (one thread each, same ids): where the time a dynamic lookup adds goes.
    foreach (var (name, batches) in streams)
    {
        long[][] keyBatches = [.. batches.Select(b => b.Select(i => keys[i]).ToArray())];
        int repeats = Math.Max(1, (int)(seconds * 2));
                Console.WriteLine($"\n### Split, {name} ids (process CPU ns per id, least of 5 interleaved rounds; one thread unless said)\n\n| stage | ns per id |\n|---|---:|");
        foreach (var (stage, ns) in dynamic.MeasureLookupStages(keyBatches, repeats, out long checksum))
            Console.WriteLine($"| {stage} | {ns:F1} |");
    }
    if (!parts.Contains("dynamic")) return;
}
foreach (var (name, batches) in streams)
{
    long[][] keyBatches = [.. batches.Select(b => b.Select(i => keys[i]).ToArray())];
    foreach (int threads in new[] { 1, 2 })
    {
        var outs = Enumerable.Range(0, threads).Select(_ => new float[batch * dims]).ToArray();
        Compare(name, threads, [
            ("EmbeddingTable.Gather", (t, b) => table.Gather(batches[b % batches.Length], outs[t])),
            ("DynamicTable.Gather", (t, b) => dynamic.Gather(keyBatches[b % keyBatches.Length], outs[t])),
            ($"DynamicShardedStore, {Environment.ProcessorCount} shards", (t, b) => dynamicSharded.Gather(keyBatches[b % keyBatches.Length], outs[t])),
        ]);
    }
}
Console.WriteLine($"DynamicShardedStore: {dynamicSharded.MemoryBytes / (double)dynamicSharded.Count:F0} B per live row ({dynamicSharded.Count:N0} live rows, budget {rows + rows / 8:N0})");
Console.WriteLine($"\nMemory per live row: dense {table.ByteLength / (double)rows:F0} B; DynamicTable {dynamic.MemoryBytes / (double)dynamic.Count:F0} B " +
    $"({dynamic.Count:N0} live rows, budget {rows:N0}: rows {dims * 4} B + map entries 2 x 16 B + slot key 8 B + free list 4 B)");
