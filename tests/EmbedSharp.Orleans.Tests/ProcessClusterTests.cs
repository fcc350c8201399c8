using System.Diagnostics;
using EmbedSharp.Orleans.Grains;
using EmbedSharp.Orleans.Hosting;
using EmbedSharp.Orleans.Tests.Harness;
using EmbedSharp.Stores;
using Xunit.Abstractions;

namespace EmbedSharp.Orleans.Tests;

/// <summary>
/// Real processes on loopback: two `embedsharp store silo` processes with their membership in a throwaway
/// redis-server, and this process as the client. One silo is killed with SIGKILL in the middle of training.
/// </summary>
[Collection("processes")]
public sealed class ProcessClusterTests(ITestOutputHelper output)
{
    private const long N = 2000;
    private const int Dims = 16;

    [Fact(Timeout = 90_000)]
    public async Task SiloKilledMidTraining_SurvivorsKeepLatest_KilledShardsComeBackFromSnapshot_ClientResumes()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartRedisAsync();
        var clock = Stopwatch.StartNew();
        ChildProcess[] started = await Task.WhenAll(cluster.StartSiloAsync("silo-a"), cluster.StartSiloAsync("silo-b"));
        ChildProcess a = started[0], b = started[1];
        output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.00} s  2 silos up (pids {a.Pid}, {b.Pid}), redis pid {cluster.Redis.Pid}");
        await using ShardClusterClient client = await ShardClusterClient.ConnectAsync(new ShardClientSettings
        {
            Redis = cluster.RedisAddress, ClusterId = cluster.ClusterId, ResponseTimeout = TimeSpan.FromSeconds(2), ConnectTimeout = TimeSpan.FromSeconds(20),
        });
        output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.00} s  client connected");
        var options = new OrleansStoreOptions { Table = "kill", NumEmbeddings = N, Dims = Dims, ShardCount = 4, RetryBudget = TimeSpan.FromSeconds(20) };
        await using var store = new OrleansEmbeddingStore(client.Client, options);
        long[] all = TestData.Range(N);

        // U1: every row to -0.5, snapshot; U2: every row to -0.75 (after the snapshot).
        await store.ApplyGradientsAsync(all, Fill(0.5f), OptimizerStep.Sgd(1, 1));
        await store.SnapshotToSharedFolderAsync("marker");
        await store.ApplyGradientsAsync(all, Fill(0.25f), OptimizerStep.Sgd(1, 2));
        ShardStatus[] before = await store.DescribeAsync();
        Assert.Equal(2, before.Select(s => s.Silo).Distinct().Count());
        string killedSilo = before[1].Silo;
        int[] killed = [.. Enumerable.Range(0, 4).Where(s => before[s].Silo == killedSilo)];
        int[] survivors = [.. Enumerable.Range(0, 4).Except(killed)];
        ChildProcess victim = cluster.Silos.Single(p => killedSilo.Contains(PortOf(p), StringComparison.Ordinal));
        output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.00} s  shards {string.Join(",", killed)} on {killedSilo} (pid {victim.Pid}), shards {string.Join(",", survivors)} on the other silo");

        // SIGKILL, then probe every shard at once, each in its own loop: one try of at most 250 ms, then 100 ms of
        // rest, until all answer (probing one shard after another would add a hung try to the next shard's time).
        var probe = new OrleansEmbeddingStore(client.Client, options with { RetryBudget = TimeSpan.FromMilliseconds(1), TryTimeout = TimeSpan.FromMilliseconds(250) });
        var killClock = Stopwatch.StartNew();
        DateTime killedAt = DateTime.UtcNow;
        victim.Kill();
        output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.00} s  SIGKILL pid {victim.Pid} (t = 0)");
        var firstOk = new double?[4];
        int errors = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async s =>
        {
            long id = FirstIdOf(store.Plan, s);
            while (killClock.Elapsed < TimeSpan.FromSeconds(30))
            {
                try
                {
                    var row = new float[Dims];
                    await probe.GatherAsync(new[] { id }, row);
                    firstOk[s] = killClock.Elapsed.TotalSeconds;
                    lock (output)
                        output.WriteLine($"  t = {firstOk[s],5:0.00} s  shard {s} answers: {Classify(row[0])}");
                    return;
                }
                catch (TimeoutException ex)
                {
                    int e = Interlocked.Increment(ref errors);
                    if (e <= 3 || e % 10 == 0)
                        lock (output)
                            output.WriteLine($"  t = {killClock.Elapsed.TotalSeconds,5:0.00} s  shard {s}: {ex.InnerException?.GetType().Name ?? ex.GetType().Name} (error {e})");
                }
                await Task.Delay(100);
            }
        }));
        ChildProcess survivor = cluster.Silos.Single(p => p != victim);
        output.WriteLine("the survivor's log after the kill (failure detection, eviction, directory, shards opened):");
        foreach (string line in Timeline(survivor.Output, killedAt))
            output.WriteLine("  " + line);
        double recovery = firstOk.Max() ?? double.NaN;
        output.WriteLine($"every shard answers {recovery:0.00} s after the kill ({errors} failed probes)");
        Assert.All(firstOk, t => Assert.NotNull(t));

        // Training resumes through the store (retries hidden within its budget): U3 on every row.
        await store.ApplyGradientsAsync(all, Fill(0.0625f), OptimizerStep.Sgd(1, 3));
        var rows = new float[N * Dims];
        await store.GatherAsync(all, rows);
        for (long id = 0; id < N; id++)
        {
            int shard = store.Plan.ShardOf(id);
            float expected = killed.Contains(shard) ? -0.5625f : -0.8125f;   // snapshot + U3, or latest + U3
            Assert.True(rows[id * Dims] == expected && rows[id * Dims + Dims - 1] == expected,
                $"id {id} on shard {shard} ({(killed.Contains(shard) ? "killed" : "survivor")}) holds {rows[id * Dims]}, expected {expected}");
        }
        ShardStatus[] after = await store.DescribeAsync();
        Assert.Single(after.Select(s => s.Silo).Distinct());
        foreach (int s in killed)
            Assert.Equal("marker", after[s].OpenedFrom);
        foreach (int s in survivors)
            Assert.Equal(before[s].ActivatedUtc, after[s].ActivatedUtc);   // never deactivated
        output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.00} s  resumed: survivors LATEST, killed shards SNAPSHOT, store retried {store.Stats.FailedTries} failed tries");
        Assert.True(recovery < 15, $"recovery took {recovery:0.00} s");
    }

    [Fact(Timeout = 60_000)]
    public async Task UnreachableCluster_FailsWithAClearErrorInBoundedTime()
    {
        await using ProcessCluster cluster = await ProcessCluster.StartRedisAsync();
        var clock = Stopwatch.StartNew();
        // Redis is up but no silo has joined.
        var ex = await Assert.ThrowsAsync<TimeoutException>(() => ShardClusterClient.ConnectAsync(new ShardClientSettings
        {
            Redis = cluster.RedisAddress, ClusterId = cluster.ClusterId, ConnectTimeout = TimeSpan.FromSeconds(2),
        }));
        Assert.Contains("[orleans.connect]", ex.Message);
        Assert.Contains("embedsharp store silo", ex.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        output.WriteLine($"no silo: {ex.Message} ({clock.Elapsed.TotalSeconds:0.0} s)");

        // Redis itself unreachable.
        cluster.Redis.Kill();
        clock.Restart();
        ex = await Assert.ThrowsAsync<TimeoutException>(() => ShardClusterClient.ConnectAsync(new ShardClientSettings
        {
            Redis = cluster.RedisAddress, ClusterId = cluster.ClusterId, ConnectTimeout = TimeSpan.FromSeconds(2),
        }));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        output.WriteLine($"no redis: {ex.Message} ({clock.Elapsed.TotalSeconds:0.0} s)");
    }

    /// <summary>The survivor's log lines about the failure, with t relative to the kill (the silo logs UTC "HH:mm:ss.fff").</summary>
    private static IEnumerable<string> Timeline(string log, DateTime killedAt)
    {
        string[] keys = ["probe", "Evicting", "dead", "Dead", "declar", "range", "opened from"];
        foreach (string line in log.Split('\n'))
        {
            if (line.Length < 13 || !keys.Any(k => line.Contains(k, StringComparison.Ordinal))
                || !TimeSpan.TryParseExact(line[..12], @"hh\:mm\:ss\.fff", System.Globalization.CultureInfo.InvariantCulture, out TimeSpan time))
                continue;
            double t = (killedAt.Date + time - killedAt).TotalSeconds;
            if (t is > -1 and < 60)
                yield return $"t = {t,5:0.00} s  {(line.Length > 200 ? line[13..200] + "..." : line[13..])}";
        }
    }

    private static float[] Fill(float value) => Enumerable.Repeat(value, (int)N * Dims).ToArray();

    private static string Classify(float value) => value switch
    {
        -0.75f => "LATEST",
        -0.5f => "SNAPSHOT",
        0f => "FRESH",
        _ => $"other ({value})",
    };

    private static long FirstIdOf(ShardingPlan plan, int shard)
    {
        for (long id = 0; id < N; id++)
            if (plan.ShardOf(id) == shard)
                return id;
        throw new InvalidOperationException($"no id of shard {shard}");
    }

    private static string PortOf(ChildProcess silo)
    {
        // The ready line names "silo 127.0.0.1:PORT,".
        string line = silo.Output.Split('\n').First(l => l.StartsWith("silo ready", StringComparison.Ordinal));
        int at = line.IndexOf("silo 127.0.0.1:", StringComparison.Ordinal) + "silo 127.0.0.1:".Length;
        return ":" + line[at..line.IndexOf(',', at)] + ":";
    }
}

[CollectionDefinition("processes", DisableParallelization = true)]
public sealed class ProcessCollection;
