// The Orleans store on this machine: 2 silo processes (this program in "silo" mode, membership in a throwaway
// redis-server) + this process as the client, over loopback TCP. Measures lookups and updates of 4,096-id batches
// (128-dim fp32) against the in-process store on the same batches, the recovery time after SIGKILL of one silo,
// and an end-to-end MovieLens-100K matrix factorization against both stores (same loss curve expected).
// Usage: OrleansBench [--seconds 4] [--ratings PATH] [--parts lookup,update,mf,recovery]
//        OrleansBench silo REDIS CLUSTER PORT GATEWAY SNAPSHOTS [info]
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
        LogLevel = args.Length > 6 && args[6] == "info" ? Microsoft.Extensions.Logging.LogLevel.Information : Microsoft.Extensions.Logging.LogLevel.Warning,
    }, () => Console.WriteLine("silo ready"), stop.Token);
    return 0;
}

double seconds = Arg("--seconds", 4.0);
string[] parts = ArgS("--parts", "lookup,update,mf,recovery").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
bool Part(string name) => parts.Contains(name);
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
    var silos = new List<(Process P, int Port, List<(DateTime At, string Line)> Log)>();
    var clock = Stopwatch.StartNew();
    foreach (string name in new[] { "a", "b" })
    {
        int port = FreePort(), gw = FreePort();
        var log = new List<(DateTime At, string Line)>();
        var p = Start(self, [.. prefix, "silo", redis, cluster, port.ToString(), gw.ToString(), root, "info"], waitFor: "silo ready", log: log);
        children.Add(p);
        silos.Add((p, port, log));
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
    if (Part("lookup"))
    {
        var (lg, _) = await Measure(async i => await local.GatherAsync(batches[i % 64], dest), Batch);
        var (og, og50) = await Measure(async i => await orleans.GatherAsync(batches[i % 64], dest), Batch);
        Console.WriteLine($"| lookup | {lg / 1e6:0.00} M | {og / 1e6:0.00} M ({og50:0.0} ms) | {og / lg:0.000} |");
    }
    if (Part("update"))
    {
        long t = 0;
        var (lu, _) = await Measure(async i => await local.ApplyGradientsAsync(distinct[i % 64], grads.AsMemory(0, distinct[i % 64].Length * Dims), OptimizerStep.Sgd(0.01, ++t)), distinct.Average(d => d.Length));
        long t2 = 0;
        var (ou, ou50) = await Measure(async i => await orleans.ApplyGradientsAsync(distinct[i % 64], grads.AsMemory(0, distinct[i % 64].Length * Dims), OptimizerStep.Sgd(0.01, ++t2)), distinct.Average(d => d.Length));
        Console.WriteLine($"| update (SGD in the store), one batch in flight | {lu / 1e6:0.00} M | {ou / 1e6:0.00} M ({ou50:0.0} ms) | {ou / lu:0.000} |");
        // Bounded staleness: the caller lets one more batch be in flight (MaxPendingUpdates = 1), so the client
        // routes and sums batch i+1 while the shards apply batch i.
        await using var pipelined = new OrleansEmbeddingStore(client.Client, options with { MaxPendingUpdates = 1 });
        long t3 = t2;
        var (op, op50) = await Measure(async i => await pipelined.ApplyGradientsAsync(distinct[i % 64], grads.AsMemory(0, distinct[i % 64].Length * Dims), OptimizerStep.Sgd(0.01, ++t3)), distinct.Average(d => d.Length),
            after: async () => await pipelined.FlushAsync());
        Console.WriteLine($"| update (SGD in the store), two batches in flight (MaxPendingUpdates = 1) | {lu / 1e6:0.00} M | {op / 1e6:0.00} M ({op50:0.0} ms) | {op / lu:0.000} |");
    }
    Console.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Trim()}");

    // End-to-end training: MovieLens-100K MF, same seed, both stores.
    if (Part("mf") && File.Exists(ratingsPath))
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

    if (!Part("recovery"))
        return 0;
    // Recovery after SIGKILL: snapshot, kill the silo holding shard 1, probe every shard every 100 ms.
    clock.Restart();
    await orleans.SnapshotToSharedFolderAsync("bench-snap");
    Console.WriteLine();
    Console.WriteLine($"snapshot of {Rows:N0} x {Dims} rows (205 MB) by the shards: {clock.Elapsed.TotalSeconds:0.00} s");
    ShardStatus[] status = await orleans.DescribeAsync();
    var victim = silos.Single(s => status[1].Silo.Contains($":{s.Port}:", StringComparison.Ordinal));
    // One probe loop per shard, all at once: a single try each (250 ms at most), then 50 ms of rest. Probing the
    // shards one after another would add one shard's hung try to the next shard's time.
    var probe = new OrleansEmbeddingStore(client.Client, options with { RetryBudget = TimeSpan.FromMilliseconds(1), TryTimeout = TimeSpan.FromMilliseconds(250) });
    var firstOk = new double?[Shards];
    long[] probeIds = [.. Enumerable.Range(0, Shards).Select(s => (long)Enumerable.Range(0, Rows).First(i => orleans.Plan.ShardOf(i) == s))];
    int failures = 0;
    // A training loop runs through the kill (one update batch of 4,096 ids in flight, every shard in each batch,
    // the store's default retry settings): what a trainer sees is the longest gap between two finished batches.
    var finished = new List<DateTime>();
    using var stopTraining = new CancellationTokenSource();
    Task training = Task.Run(async () =>
    {
        long step = 1_000_000;
        for (int i = 0; !stopTraining.IsCancellationRequested; i++)
        {
            await orleans.ApplyGradientsAsync(distinct[i % 64], grads.AsMemory(0, distinct[i % 64].Length * Dims), OptimizerStep.Sgd(0.01, ++step));
            lock (finished)
                finished.Add(DateTime.UtcNow);
        }
    });
    await Task.Delay(500);
    var kill = Stopwatch.StartNew();
    DateTime killedAt = DateTime.UtcNow;
    victim.P.Kill();
    await Task.WhenAll(Enumerable.Range(0, Shards).Select(async s =>
    {
        while (kill.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                await probe.GatherAsync(new[] { probeIds[s] }, new float[Dims]);
                firstOk[s] = kill.Elapsed.TotalSeconds;
                return;
            }
            catch (TimeoutException)
            {
                Interlocked.Increment(ref failures);
            }
            await Task.Delay(50);
        }
    }));
    // Let the trainer finish a few batches after every shard is back, then stop it.
    int finishedAtRecovery;
    lock (finished)
        finishedAtRecovery = finished.Count;
    for (int wait = 0; wait < 200; wait++)
    {
        lock (finished)
            if (finished.Count >= finishedAtRecovery + 3)
                break;
        await Task.Delay(50);
    }
    stopTraining.Cancel();
    await training;
    double[] around;
    lock (finished)
        around = [.. finished.Where(t => t > killedAt.AddSeconds(-0.5)).Select(t => (t - killedAt).TotalSeconds)];
    double[] gaps = [.. around.Zip(around.Skip(1), (a, b) => b - a)];
    int worst = gaps.Length == 0 ? -1 : Array.IndexOf(gaps, gaps.Max());
    Console.WriteLine(worst < 0 ? "training loop: fewer than 2 batches finished around the kill"
        : $"training loop through the kill: longest gap between finished batches {gaps[worst]:0.00} s (t = {around[worst]:0.00} to {around[worst + 1]:0.00} s); store retried {orleans.Stats.FailedTries} failed tries");
    Console.WriteLine($"SIGKILL of the silo holding shards {string.Join(",", Enumerable.Range(0, Shards).Where(s => status[s].Silo == status[1].Silo))}: " +
        $"every shard answers after {firstOk.Max():0.00} s ({string.Join(", ", firstOk.Select((x, s) => $"shard {s} {x:0.00} s"))}; {failures} failed probes)");
    // The timeline from the survivor's log (UTC timestamps to the millisecond): failure detection, the death
    // declaration, the directory's view change, and the lost shards opening from the snapshot.
    ShardStatus[] final = await orleans.DescribeAsync();
    var survivor = silos.Single(s => s.P != victim.P);
    Console.WriteLine("recovery timeline (t after SIGKILL; survivor's log, then the client):");
    string[] keys = ["probe", "Probe", "suspect", "Suspect", "dead", "Dead", "DEAD", "declar", "Declar", "view", "View", "opened from", "lease", "Lease", "recover", "Recover"];
    lock (survivor.Log)
    {
        foreach (var (at, line) in survivor.Log)
        {
            if (!keys.Any(k => line.Contains(k, StringComparison.Ordinal)))
                continue;
            DateTime stamp = TryStamp(line, at);
            if (stamp < killedAt.AddSeconds(-1))
                continue;
            string text = line.Length > 220 ? line[..217] + "..." : line;
            Console.WriteLine($"  t = {(stamp - killedAt).TotalSeconds,5:0.00} s  {text}");
        }
    }
    for (int s = 0; s < Shards; s++)
        Console.WriteLine($"  shard {s}: activation opened at t = {(final[s].ActivatedUtc - killedAt).TotalSeconds,5:0.00} s from {final[s].OpenedFrom}; first answer to the client at t = {firstOk[s]:0.00} s");
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

async Task<(double RowsPerSecond, double P50Ms)> Measure(Func<int, Task> run, double rowsPerCall, Func<Task>? after = null)
{
    for (int i = 0; i < 5; i++)
        await run(i);
    if (after is not null)
        await after();
    var times = new List<double>();
    var total = Stopwatch.StartNew();
    int calls = 0;
    while (total.Elapsed.TotalSeconds < seconds)
    {
        var one = Stopwatch.StartNew();
        await run(calls++);
        times.Add(one.Elapsed.TotalMilliseconds);
    }
    if (after is not null)
        await after();   // the rate counts only work that has finished
    times.Sort();
    return (calls * rowsPerCall / total.Elapsed.TotalSeconds, times[times.Count / 2]);
}

// The silo's console logger starts each line with "HH:mm:ss.fff " (UTC); lines without it keep their arrival time.
static DateTime TryStamp(string line, DateTime arrived) =>
    line.Length > 12 && TimeSpan.TryParseExact(line[..12], @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture, out TimeSpan time)
        ? arrived.Date + time - (arrived.TimeOfDay < TimeSpan.FromMinutes(1) && time > TimeSpan.FromHours(23) ? TimeSpan.FromDays(1) : TimeSpan.Zero)
        : arrived;

Process Start(string file, string[] argv, string? waitFor = null, List<(DateTime At, string Line)>? log = null)
{
    var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (string a in argv)
        psi.ArgumentList.Add(a);
    var p = Process.Start(psi)!;
    var ready = new TaskCompletionSource();
    p.OutputDataReceived += (_, e) => { if (e.Data is { } l && waitFor is not null && l.StartsWith(waitFor, StringComparison.Ordinal)) ready.TrySetResult(); };
    p.ErrorDataReceived += (_, e) =>
    {
        if (e.Data is { } l && log is not null)
            lock (log)
                log.Add((DateTime.UtcNow, l));
    };
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
