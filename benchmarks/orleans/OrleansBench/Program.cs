// The Orleans store on this machine: 2 silo processes (this program in "silo" mode, membership in a throwaway
// redis-server) + this process as the client, over loopback TCP. Measures lookups and updates of 4,096-id batches
// (128-dim fp32) against the in-process store on the same batches, the recovery time after SIGKILL of one silo,
// and an end-to-end MovieLens-100K matrix factorization against both stores (same loss curve expected).
// Usage: OrleansBench [--seconds 4] [--ratings PATH]   |   OrleansBench silo REDIS CLUSTER PORT GATEWAY SNAPSHOTS
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using EmbedSharp.Models.Data;
using EmbedSharp.Orleans;
using EmbedSharp.Orleans.Grains;
using EmbedSharp.Orleans.Hosting;
using EmbedSharp.Orleans.Training;
using EmbedSharp.Stores;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "silo")
{
    using var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
    await ShardSilo.RunAsync(new ShardSiloSettings
    {
        Redis = args[1], ClusterId = args[2], SiloPort = int.Parse(args[3]), GatewayPort = int.Parse(args[4]),
        Shards = new ShardSiloOptions { SnapshotRoot = args[5] },
    }, () => Console.WriteLine("silo ready"), stop.Token);
    return 0;
}

double seconds = Arg("--seconds", 4.0);
string ratingsPath = ArgS("--ratings", Path.Combine("..", "shared", "data", "recsys", "ml-100k", "u.data"));
const int Rows = 400_000, Dims = 128, Batch = 4096, Shards = 4;
var children = new List<Process>();
string root = Path.Combine(Path.GetTempPath(), "embedsharp-orleans-bench-" + Environment.ProcessId);
Directory.CreateDirectory(root);
try
{
    int redisPort = FreePort();
    children.Add(Start("redis-server", ["--port", redisPort.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", root]));
    await Task.Delay(300);
    string redis = $"127.0.0.1:{redisPort}", cluster = "bench" + Environment.ProcessId;
    string self = Environment.ProcessPath!;
    string[] prefix = Path.GetFileNameWithoutExtension(self) == "dotnet" ? [typeof(ShardSilo).Assembly.Location.Replace("EmbedSharp.Orleans.dll", "OrleansBench.dll")] : [];
    var silos = new List<(Process P, int Port)>();
    var clock = Stopwatch.StartNew();
    foreach (string name in new[] { "a", "b" })
    {
        int port = FreePort(), gw = FreePort();
        var p = Start(self, [.. prefix, "silo", redis, cluster, port.ToString(), gw.ToString(), root], waitFor: "silo ready");
        children.Add(p);
        silos.Add((p, port));
    }
    Console.WriteLine($"2 silos up in {clock.Elapsed.TotalSeconds:0.0} s; load: {File.ReadAllText("/proc/loadavg").Trim()}");
    await using var client = await ShardClusterClient.ConnectAsync(new ShardClientSettings { Redis = redis, ClusterId = cluster, ResponseTimeout = TimeSpan.FromSeconds(2) });
    var options = new OrleansStoreOptions { Table = "bench", NumEmbeddings = Rows, Dims = Dims, ShardCount = Shards, RetryBudget = TimeSpan.FromSeconds(30) };
    await using var orleans = new OrleansEmbeddingStore(client.Client, options);
    await using var local = new InProcessShardedStore("bench", Rows, Dims, new InProcessStoreOptions { Shards = Shards });

    // Same rows in both.
    var rng = new Random(7);
    clock.Restart();
    for (int first = 0; first < Rows; first += 16384)
    {
        int n = Math.Min(16384, Rows - first);
        long[] ids = [.. Enumerable.Range(first, n).Select(i => (long)i)];
        float[] values = [.. Enumerable.Range(0, n * Dims).Select(_ => (float)(rng.NextDouble() - 0.5))];
        await orleans.UpsertAsync(ids, values);
        await local.UpsertAsync(ids, values);
    }
    Console.WriteLine($"loaded {Rows:N0} x {Dims} rows into both stores in {clock.Elapsed.TotalSeconds:0.0} s");

    // Lookups and updates: 4,096 uniform ids a batch, one batch in flight.
    long[][] batches = [.. Enumerable.Range(0, 64).Select(_ => Enumerable.Range(0, Batch).Select(_ => rng.NextInt64(Rows)).ToArray())];
    long[][] distinct = [.. batches.Select(b => b.Distinct().ToArray())];
    float[] grads = [.. Enumerable.Range(0, Batch * Dims).Select(_ => (float)(rng.NextDouble() - 0.5) * 1e-3f)];
    var dest = new float[Batch * Dims];
    Console.WriteLine();
    Console.WriteLine("| operation (4,096 ids, 128-dim fp32) | in-process store rows/s | Orleans rows/s (p50 per batch) | ratio |");
    Console.WriteLine("|---|---|---|---|");
    var (lg, _) = await Measure(async i => await local.GatherAsync(batches[i % 64], dest), Batch);
    var (og, og50) = await Measure(async i => await orleans.GatherAsync(batches[i % 64], dest), Batch);
    Console.WriteLine($"| lookup | {lg / 1e6:0.00} M | {og / 1e6:0.00} M ({og50:0.0} ms) | {og / lg:0.000} |");
    long t = 0;
    var (lu, _) = await Measure(async i => await local.ApplyGradientsAsync(distinct[i % 64], grads.AsMemory(0, distinct[i % 64].Length * Dims), OptimizerStep.Sgd(0.01, ++t)), distinct.Average(d => d.Length));
    long t2 = 0;
    var (ou, ou50) = await Measure(async i => await orleans.ApplyGradientsAsync(distinct[i % 64], grads.AsMemory(0, distinct[i % 64].Length * Dims), OptimizerStep.Sgd(0.01, ++t2)), distinct.Average(d => d.Length));
    Console.WriteLine($"| update (SGD in the store) | {lu / 1e6:0.00} M | {ou / 1e6:0.00} M ({ou50:0.0} ms) | {ou / lu:0.000} |");
    Console.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Trim()}");

    // End-to-end training: MovieLens-100K MF, same seed, both stores.
    if (File.Exists(ratingsPath))
    {
        RatingData data;
        using (var reader = new StreamReader(ratingsPath))
            data = MovieLens.ReadRatings(reader, ratingsPath);
        long mfRows = data.Users.Max() + 1L + data.Items.Max() + 1L;
        var mf = new StoreFactorizationOptions { Epochs = 3, BatchSize = 2048, LearningRate = 0.1, Seed = 3 };
        await using var mfLocal = new InProcessShardedStore("mf", (int)mfRows, 32, new InProcessStoreOptions { Shards = Shards });
        await using var mfOrleans = new OrleansEmbeddingStore(client.Client, new OrleansStoreOptions { Table = "mf", NumEmbeddings = mfRows, Dims = 32, ShardCount = Shards });
        var a = await StoreFactorization.TrainAsync(mfLocal, data.Users, data.Items, data.Ratings, mf);
        var b = await StoreFactorization.TrainAsync(mfOrleans, data.Users, data.Items, data.Ratings, mf);
        Console.WriteLine();
        Console.WriteLine($"MovieLens-100K MF ({data.Count:N0} ratings, 32 dims, Adagrad 0.1 in the store, batches of 2,048):");
        Console.WriteLine("| epoch | in-process MSE | Orleans MSE | in-process ratings/s | Orleans ratings/s | ratio |");
        Console.WriteLine("|---|---|---|---|---|---|");
        for (int e = 0; e < a.Count; e++)
            Console.WriteLine($"| {e + 1} | {a[e].Mse:0.000000} | {b[e].Mse:0.000000} | {a[e].RatingsPerSecond:N0} | {b[e].RatingsPerSecond:N0} | {b[e].RatingsPerSecond / a[e].RatingsPerSecond:0.000} |");
        Console.WriteLine($"loss curves identical bit for bit: {a.Select(x => x.Mse).SequenceEqual(b.Select(x => x.Mse))}");
    }

    // Recovery after SIGKILL: snapshot, kill the silo holding shard 1, probe every shard every 100 ms.
    clock.Restart();
    await orleans.SnapshotToSharedFolderAsync("bench-snap");
    Console.WriteLine();
    Console.WriteLine($"snapshot of {Rows:N0} x {Dims} rows (205 MB) by the shards: {clock.Elapsed.TotalSeconds:0.00} s");
    ShardStatus[] status = await orleans.DescribeAsync();
    var victim = silos.Single(s => status[1].Silo.Contains($":{s.Port}:", StringComparison.Ordinal));
    var probe = new OrleansEmbeddingStore(client.Client, options with { RetryBudget = TimeSpan.FromMilliseconds(1) });
    var firstOk = new double?[Shards];
    var kill = Stopwatch.StartNew();
    victim.P.Kill();
    int failures = 0;
    while (firstOk.Any(x => x is null) && kill.Elapsed < TimeSpan.FromSeconds(60))
    {
        for (int s = 0; s < Shards; s++)
        {
            if (firstOk[s] is not null)
                continue;
            long id = Enumerable.Range(0, Rows).First(i => orleans.Plan.ShardOf(i) == s);
            try
            {
                await probe.GatherAsync(new[] { id }, new float[Dims]);
                firstOk[s] = kill.Elapsed.TotalSeconds;
            }
            catch (TimeoutException)
            {
                failures++;
            }
        }
        await Task.Delay(100);
    }
    Console.WriteLine($"SIGKILL of the silo holding shards {string.Join(",", Enumerable.Range(0, Shards).Where(s => status[s].Silo == status[1].Silo))}: " +
        $"every shard answers after {firstOk.Max():0.00} s ({string.Join(", ", firstOk.Select((x, s) => $"shard {s} {x:0.00} s"))}; {failures} failed probes)");
    Console.WriteLine($"load at end: {File.ReadAllText("/proc/loadavg").Trim()}");
    return 0;
}
finally
{
    foreach (var p in children)
    {
        try
        {
            if (!p.HasExited)
                p.Kill(entireProcessTree: true);
            p.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
    }
    try { Directory.Delete(root, recursive: true); } catch (IOException) { }
}

async Task<(double RowsPerSecond, double P50Ms)> Measure(Func<int, Task> run, double rowsPerCall)
{
    for (int i = 0; i < 5; i++)
        await run(i);
    var times = new List<double>();
    var total = Stopwatch.StartNew();
    int calls = 0;
    while (total.Elapsed.TotalSeconds < seconds)
    {
        var one = Stopwatch.StartNew();
        await run(calls++);
        times.Add(one.Elapsed.TotalMilliseconds);
    }
    times.Sort();
    return (calls * rowsPerCall / total.Elapsed.TotalSeconds, times[times.Count / 2]);
}

Process Start(string file, string[] argv, string? waitFor = null)
{
    var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (string a in argv)
        psi.ArgumentList.Add(a);
    var p = Process.Start(psi)!;
    var ready = new TaskCompletionSource();
    p.OutputDataReceived += (_, e) => { if (e.Data is { } l && waitFor is not null && l.StartsWith(waitFor, StringComparison.Ordinal)) ready.TrySetResult(); };
    p.ErrorDataReceived += (_, _) => { };
    p.BeginOutputReadLine();
    p.BeginErrorReadLine();
    if (waitFor is not null && !ready.Task.Wait(TimeSpan.FromSeconds(60)))
        throw new TimeoutException($"{file} did not print '{waitFor}' within 60 s");
    return p;
}

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

double Arg(string name, double fallback) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;

string ArgS(string name, string fallback) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
