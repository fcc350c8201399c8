// Lookups from a Redis Cluster through RedisServingStore: 4,096-id batches of uniform or Zipf ids, rows/s and
// p50/p99 per batch, per row format, with and without the hot-row cache, 1 and 2 client threads. The peer, in the
// same run on the same cluster: one key per row read with 4,096 pipelined GETs (what a first attempt looks like).
// Usage: EmbedSharp.RedisBench ENDPOINTS [rows=400000] [dims=128] [seconds=3] [alpha=1.0] [cache=40000] [formats=float32,float16,int8]
using System.Diagnostics;
using System.Globalization;
using EmbedSharp.Redis;
using EmbedSharp.Tables;
using StackExchange.Redis;

var settings = args.Skip(1).Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
string Setting(string name, string fallback) => settings.TryGetValue(name, out var v) ? v : fallback;
string endpoints = args[0];
int rows = int.Parse(Setting("rows", "400000"), CultureInfo.InvariantCulture);
int dims = int.Parse(Setting("dims", "128"), CultureInfo.InvariantCulture);
double seconds = double.Parse(Setting("seconds", "3"), CultureInfo.InvariantCulture);
double alpha = double.Parse(Setting("alpha", "1.0"), CultureInfo.InvariantCulture);
int cacheRows = int.Parse(Setting("cache", (rows / 10).ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
string[] formats = Setting("formats", "float32,float16,int8").Split(',');
int blocks = int.Parse(Setting("blocks", "256"), CultureInfo.InvariantCulture);
int[] otherBlocks = Setting("other-blocks", "64,1024").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();
const int Batch = 4096;

using ConnectionMultiplexer redis = await RedisServing.ConnectAsync(endpoints, TimeSpan.FromSeconds(10));
using var table = new EmbeddingTable(rows, dims);
{
    var rng = new Random(1);
    Span<float> values = table.AsSpan<float>();
    for (int i = 0; i < values.Length; i++)
        values[i] = (float)(rng.NextDouble() * 2 - 1);
}

// Id streams: uniform, and Zipf(alpha) over ranks mapped to ids through a seeded permutation (hot ids scattered).
long[][] uniform = Batches(seed: 2, _ => 0);
double[] cdf = ZipfCdf(rows, alpha);
int[] permutation = Enumerable.Range(0, rows).ToArray();
new Random(3).Shuffle(permutation);
long[][] zipf = Batches(seed: 4, rng => permutation[Rank(cdf, rng.NextDouble())]);
Console.WriteLine($"# {rows:N0} x {dims} table, batches of {Batch:N0} ids; uniform: {uniform.Average(b => b.Distinct().Count()) / Batch:P1} distinct ids per batch, " +
    $"Zipf({alpha}): {zipf.Average(b => b.Distinct().Count()) / Batch:P1}; cache {cacheRows:N0} rows; {seconds} s per line; load {Load()}");

// The peer: key per row, pipelined GETs.
var peerClock = Stopwatch.StartNew();
await LoadKeyPerRowAsync();
Console.WriteLine($"# peer loaded: {rows:N0} keys in {peerClock.Elapsed.TotalSeconds:0.0} s");
Console.WriteLine();
Console.WriteLine("| layout | format | ids | cache | threads | rows/s | p50 ms | p99 ms | cache hits | / peer |");
Console.WriteLine("|---|---|---|---|---:|---:|---:|---:|---:|---:|");
var peer = await MeasureAsync(threads => KeyPerRowGatherAsync, uniform, 1);
Print("key per row, 4,096 GETs (peer)", "float32", "uniform", "off", 1, peer, 0, peer.RowsPerSecond);
var peerZipf = await MeasureAsync(threads => KeyPerRowGatherAsync, zipf, 1);
Print("key per row, 4,096 GETs (peer)", "float32", $"Zipf {alpha}", "off", 1, peerZipf, 0, peerZipf.RowsPerSecond);

foreach (string formatName in formats)
{
    RedisRowFormat format = formatName switch { "float32" => RedisRowFormat.Float32, "float16" => RedisRowFormat.Float16, _ => RedisRowFormat.Int8 };
    string name = $"bench-{formatName}";
    var publish = Stopwatch.StartNew();
    RedisTableLayout layout = await RedisTableWriter.PublishAsync(redis, name, table, new RedisPublishOptions { Format = format, Blocks = blocks, OldVersionTtl = TimeSpan.Zero });
    Console.Error.WriteLine($"published {name} v{layout.Version}: {layout.Rows:N0} rows in {publish.Elapsed.TotalSeconds:0.0} s ({layout.Rows / publish.Elapsed.TotalSeconds:N0} rows/s)");
    foreach (bool cache in new[] { false, true })
    {
        foreach ((string idsName, long[][] batches, double peerRate) in new[] { ("uniform", uniform, peer.RowsPerSecond), ($"Zipf {alpha}", zipf, peerZipf.RowsPerSecond) })
        {
            foreach (int threads in new[] { 1, 2 })
            {
                var store = new RedisServingStore(redis, name, new RedisServingOptions { HotRowCacheRows = cache ? cacheRows : 0 });
                long hits = 0, unique = 0;
                Result r = await MeasureAsync(_ => async ids =>
                {
                    var destination = new float[ids.Length * dims];
                    RedisGatherResult g = await store.GatherAsync(ids, destination);
                    Interlocked.Add(ref hits, g.CacheHits);
                    Interlocked.Add(ref unique, g.UniqueIds);
                }, batches, threads, () => { hits = 0; unique = 0; });
                Print($"hash per block, {layout.Blocks} HMGETs max", formatName, idsName, cache ? $"{cacheRows:N0}" : "off", threads, r,
                    unique == 0 ? 0 : (double)hits / unique, peerRate);
            }
        }
    }
}
// Block count: fewer, larger HMGETs against a more even spread over the masters (no cache, int8 and float32).
foreach (int other in otherBlocks)
{
    foreach (string formatName in new[] { "float32", "int8" }.Where(formats.Contains))
    {
        RedisRowFormat format = formatName == "float32" ? RedisRowFormat.Float32 : RedisRowFormat.Int8;
        string name = $"bench-{formatName}";
        RedisTableLayout layout = await RedisTableWriter.PublishAsync(redis, name, table, new RedisPublishOptions { Format = format, Blocks = other, OldVersionTtl = TimeSpan.Zero });
        foreach ((string idsName, long[][] batches, double peerRate) in new[] { ("uniform", uniform, peer.RowsPerSecond), ($"Zipf {alpha}", zipf, peerZipf.RowsPerSecond) })
        {
            foreach (int threads in new[] { 1, 2 })
            {
                var store = new RedisServingStore(redis, name);
                Result r = await MeasureAsync(_ => async ids => await store.GatherAsync(ids, new float[ids.Length * dims]), batches, threads);
                Print($"hash per block, {layout.Blocks} HMGETs max", formatName, idsName, "off", threads, r, 0, peerRate);
            }
        }
    }
}
Console.WriteLine();
Console.WriteLine($"# load after: {Load()}");
return;

async Task LoadKeyPerRowAsync()
{
    IDatabase db = redis.GetDatabase();
    var pending = new List<Task>();
    var row = new float[dims];
    for (int id = 0; id < rows; id++)
    {
        table.ReadRow(id, row);
        byte[] value = new byte[dims * 4];
        Buffer.BlockCopy(row, 0, value, 0, value.Length);
        pending.Add(db.StringSetAsync($"peer:{id}", value));
        if (pending.Count == 4096)
        {
            await Task.WhenAll(pending);
            pending.Clear();
        }
    }
    await Task.WhenAll(pending);
}

async Task KeyPerRowGatherAsync(long[] ids)
{
    IDatabase db = redis.GetDatabase();
    var replies = new Task<RedisValue>[ids.Length];
    for (int i = 0; i < ids.Length; i++)
        replies[i] = db.StringGetAsync($"peer:{ids[i]}");
    await Task.WhenAll(replies);
    var destination = new float[ids.Length * dims];
    for (int i = 0; i < ids.Length; i++)
    {
        byte[] value = (byte[])replies[i].Result!;
        Buffer.BlockCopy(value, 0, destination, i * dims * 4, value.Length);
    }
}

async Task<Result> MeasureAsync(Func<int, Func<long[], Task>> make, long[][] batches, int threads, Action? resetCounters = null)
{
    Func<long[], Task> gather = make(threads);
    for (int i = 0; i < 20; i++)
        await gather(batches[i % batches.Length]);
    resetCounters?.Invoke();
    var latencies = new List<double>[threads];
    long done = 0;
    var wall = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, threads).Select(t => Task.Run(async () =>
    {
        latencies[t] = [];
        for (int i = t; wall.Elapsed.TotalSeconds < seconds; i += threads)
        {
            long start = Stopwatch.GetTimestamp();
            await gather(batches[i % batches.Length]);
            latencies[t].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            Interlocked.Add(ref done, Batch);
        }
    })));
    double elapsed = wall.Elapsed.TotalSeconds;
    double[] all = latencies.SelectMany(l => l).Order().ToArray();
    return new Result(done / elapsed, all[all.Length / 2], all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))], all.Length);
}

void Print(string layout, string format, string ids, string cache, int threads, Result r, double hitRate, double peerRate) =>
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {layout} | {format} | {ids} | {cache} | {threads} | {r.RowsPerSecond:N0} | {r.P50:0.0} | {r.P99:0.0} | {(cache == "off" ? "—" : hitRate.ToString("P0", CultureInfo.InvariantCulture))} | {r.RowsPerSecond / peerRate:0.00} |"));

long[][] Batches(int seed, Func<Random, long> zipfDraw)
{
    var rng = new Random(seed);
    var result = new long[200][];
    for (int b = 0; b < result.Length; b++)
    {
        result[b] = new long[Batch];
        for (int i = 0; i < Batch; i++)
            result[b][i] = seed == 2 ? rng.Next(rows) : zipfDraw(rng);
    }
    return result;
}

static double[] ZipfCdf(int n, double a)
{
    var cdf = new double[n];
    double sum = 0;
    for (int k = 0; k < n; k++)
        cdf[k] = sum += 1.0 / Math.Pow(k + 1, a);
    for (int k = 0; k < n; k++)
        cdf[k] /= sum;
    return cdf;
}

static int Rank(double[] cdf, double u)
{
    int i = Array.BinarySearch(cdf, u);
    return Math.Min(cdf.Length - 1, i < 0 ? ~i : i);
}

static string Load() => File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Aggregate((a, b) => a + " " + b);

internal readonly record struct Result(double RowsPerSecond, double P50, double P99, int Batches);
