using System.Diagnostics;
using EmbedSharp.Tables;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace EmbedSharp.Redis.Tests;

/// <summary>
/// Masters killed with SIGKILL on a real loopback cluster (node timeout 1 s). Each test starts and kills its own
/// cluster and prints the timeline of what readers saw; each is its own class so that xUnit runs them in parallel.
/// </summary>
public abstract partial class FailureTestBase(ITestOutputHelper output)
{
    protected const int Rows = 10_000, Dims = 32;
    private static readonly TimeSpan FailFast = TimeSpan.FromSeconds(3);
    protected readonly ITestOutputHelper output = output;
}

public sealed class MasterKillTests(ITestOutputHelper output) : FailureTestBase(output)
{
    [RedisFact]
    public async Task Without_replicas_a_dead_master_fails_only_its_own_slots_fast_and_a_dead_cluster_fails_every_read_fast()
    {
        using RedisCluster cluster = RedisCluster.Start(masters: 3, replicasPerMaster: 0, requireFullCoverage: false, output.WriteLine);
        using ConnectionMultiplexer redis = await RedisServing.ConnectAsync(cluster.Endpoints, TimeSpan.FromSeconds(1));
        using EmbeddingTable table = TestTables.Random(Rows, Dims, seed: 11);
        RedisTableLayout layout = await RedisTableWriter.PublishAsync(redis, "kill", table);
        var store = new RedisServingStore(redis, "kill", new RedisServingOptions { OperationTimeout = TimeSpan.FromSeconds(2) });
        await store.CurrentLayoutAsync();
        // The victim is the master of the pointer key: the store then serves the last version it read.
        RedisCluster.Node victim = cluster.MasterOf(redis.HashSlot(RedisTableLayout.PointerKey("kill")));
        (long[] alive, long[] dead) = SplitByMaster(cluster, redis, layout, victim);
        Assert.NotEmpty(dead);

        cluster.Kill(victim);
        await AssertReadsAsync(store, table, alive, cluster, "rows on the surviving masters, right after the kill");
        await AssertFailsFastAsync(store, dead, cluster, "rows on the dead master, right after the kill");

        // Past the node timeout the survivors mark the master failed; with cluster-require-full-coverage no they keep serving.
        await Task.Delay(2500);
        RedisCluster.Node survivor = cluster.Nodes.First(n => n != victim);
        Assert.Contains("cluster_state:ok", cluster.Info(survivor));
        output.WriteLine($"[{cluster.Elapsed:0.00} s] survivors report cluster_state:ok (cluster-require-full-coverage no)");
        await AssertReadsAsync(store, table, alive, cluster, "rows on the surviving masters, after the failure was detected");
        RedisStoreException e = await AssertFailsFastAsync(store, dead, cluster, "rows on the dead master, after the failure was detected");
        Assert.Contains("slots", e.Message);

        foreach (RedisCluster.Node node in cluster.Nodes.Where(n => n != victim))
            cluster.Kill(node);
        await AssertFailsFastAsync(store, alive, cluster, "any row, with every master dead");
        var layoutError = await Assert.ThrowsAsync<RedisStoreException>(async () => await store.CurrentLayoutAsync());
        Assert.StartsWith("[redis.layout] could not read emb:kill:current", layoutError.Message);
        var fresh = new RedisServingStore(redis, "kill", new RedisServingOptions { OperationTimeout = TimeSpan.FromSeconds(2) });
        await AssertFailsFastAsync(fresh, alive, cluster, "any row, from a store that never read the pointer");
    }

}

public sealed class FullCoverageTests(ITestOutputHelper output) : FailureTestBase(output)
{
    [RedisFact]
    public async Task With_full_coverage_required_one_dead_master_takes_every_slot_down_with_a_clear_error()
    {
        // Redis's default (cluster-require-full-coverage yes): the contrast that shows why serving needs "no".
        using RedisCluster cluster = RedisCluster.Start(masters: 3, replicasPerMaster: 0, requireFullCoverage: true, output.WriteLine);
        using ConnectionMultiplexer redis = await RedisServing.ConnectAsync(cluster.Endpoints, TimeSpan.FromSeconds(1));
        using EmbeddingTable table = TestTables.Random(Rows, Dims, seed: 12);
        RedisTableLayout layout = await RedisTableWriter.PublishAsync(redis, "strict", table);
        var store = new RedisServingStore(redis, "strict", new RedisServingOptions { OperationTimeout = TimeSpan.FromSeconds(2), VersionCheckInterval = TimeSpan.FromMinutes(1) });
        (long[] alive, _) = SplitByMaster(cluster, redis, layout, cluster.Nodes[0]);
        await AssertReadsAsync(store, table, alive, cluster, "rows on the other masters, before the kill");

        cluster.Kill(cluster.Nodes[0]);
        var clock = Stopwatch.StartNew();
        RedisStoreException? error = null;
        while (error is null && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                await store.GatherAsync(alive, new float[alive.Length * Dims]);
                await Task.Delay(100);
            }
            catch (RedisStoreException e)
            {
                error = e;
            }
        }
        Assert.NotNull(error);
        output.WriteLine($"[{cluster.Elapsed:0.00} s] rows on the surviving masters now fail: {error.Message}");
        Assert.Contains("CLUSTERDOWN", error.Message);
        Assert.Contains("set cluster-require-full-coverage no", error.Message);
    }

}

public sealed class ReplicaFailoverTests(ITestOutputHelper output) : FailureTestBase(output)
{
    [RedisFact]
    public async Task With_replicas_replica_reads_continue_and_a_failover_restores_the_dead_masters_slots()
    {
        using RedisCluster cluster = RedisCluster.Start(masters: 3, replicasPerMaster: 1, requireFullCoverage: false, output.WriteLine);
        using ConnectionMultiplexer redis = await RedisServing.ConnectAsync(cluster.Endpoints, TimeSpan.FromSeconds(1));
        using EmbeddingTable table = TestTables.Random(Rows, Dims, seed: 13);
        RedisTableLayout layout = await RedisTableWriter.PublishAsync(redis, "replicated", table);
        // Replicas receive writes asynchronously: wait until each has every row before killing its master.
        cluster.WaitForReplicas();
        var options = new RedisServingOptions { OperationTimeout = TimeSpan.FromSeconds(2) };
        var fromMasters = new RedisServingStore(redis, "replicated", options);
        var fromReplicas = new RedisServingStore(redis, "replicated", options with { ReadFromReplicas = true });
        long[] all = TestTables.Ids(4096, Rows, seed: 14);
        await AssertReadsAsync(fromReplicas, table, all, cluster, "every row from replicas, before the kill");

        RedisCluster.Node victim = cluster.MasterOf(redis.HashSlot(layout.BlockKey(0)));
        (_, long[] dead) = SplitByMaster(cluster, redis, layout, victim);
        cluster.Kill(victim);
        var sinceKill = Stopwatch.StartNew();
        await AssertReadsAsync(fromReplicas, table, dead, cluster, "the dead master's rows from its replica, right after the kill");

        TimeSpan? recovered = null;
        int failures = 0;
        while (sinceKill.Elapsed < TimeSpan.FromSeconds(20))
        {
            try
            {
                var got = new float[all.Length * Dims];
                await fromMasters.GatherAsync(all, got);
                Assert.Equal(TestTables.Rows(table, all), got);
                recovered = sinceKill.Elapsed;
                break;
            }
            catch (RedisStoreException e)
            {
                if (failures++ == 0)
                    output.WriteLine($"[{cluster.Elapsed:0.00} s] master reads of the dead slots fail until failover: {e.Message}");
                await Task.Delay(100);
            }
        }
        Assert.True(recovered.HasValue, "the replica was not promoted within 20 s");
        RedisCluster.Node promoted = cluster.MasterOf(redis.HashSlot(layout.BlockKey(0)), cluster.Nodes.First(n => n != victim));
        Assert.NotEqual(victim, promoted);
        output.WriteLine($"[{cluster.Elapsed:0.00} s] failover done: {promoted.EndPoint} is master of the dead slots; master reads of every row succeed {recovered.Value.TotalSeconds:0.00} s after the kill ({failures} failed attempts before)");
        await AssertReadsAsync(fromReplicas, table, all, cluster, "every row from replicas, after failover");
    }

}

public sealed class UnreachableTests(ITestOutputHelper output) : FailureTestBase(output)
{
    [RedisFact]
    public async Task An_unreachable_cluster_is_a_clear_error_within_the_connect_timeout()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop(); // nothing listens there now
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RedisStoreException>(() => RedisServing.ConnectAsync($"127.0.0.1:{port}", TimeSpan.FromMilliseconds(500)));
        output.WriteLine($"connect to a dead port failed after {clock.Elapsed.TotalSeconds:0.00} s: {e.Message}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.StartsWith($"[redis.connect] could not reach Redis at 127.0.0.1:{port} within 500 ms", e.Message);
        Assert.Throws<ArgumentException>(() => RedisServing.Configuration(""));
    }

}

public abstract partial class FailureTestBase
{
    /// <summary>Ids whose block lives on <paramref name="victim"/> and ids whose block does not.</summary>
    protected static (long[] Alive, long[] Dead) SplitByMaster(RedisCluster cluster, IConnectionMultiplexer redis, RedisTableLayout layout, RedisCluster.Node victim)
    {
        RedisCluster.Node?[] masters = cluster.SlotMasters();
        var onVictim = new bool[layout.Blocks];
        for (int b = 0; b < layout.Blocks; b++)
            onVictim[b] = masters[redis.HashSlot(layout.BlockKey(b))] == victim;
        long[] ids = TestTables.Ids(4096, Rows, seed: 15);
        return (ids.Where(id => !onVictim[layout.BlockOf(id)]).ToArray(), ids.Where(id => onVictim[layout.BlockOf(id)]).ToArray());
    }

    protected async Task AssertReadsAsync(RedisServingStore store, IEmbeddingRows table, long[] ids, RedisCluster cluster, string what)
    {
        var got = new float[ids.Length * Dims];
        var clock = Stopwatch.StartNew();
        RedisGatherResult r = await store.GatherAsync(ids, got);
        Assert.Equal(TestTables.Rows(table, ids), got);
        output.WriteLine($"[{cluster.Elapsed:0.00} s] {what}: {ids.Length} ids read in {clock.Elapsed.TotalMilliseconds:0} ms{(r.StaleVersion ? $" (pointer unreachable: served version {r.Version}, the last one seen)" : "")}");
    }

    protected async Task<RedisStoreException> AssertFailsFastAsync(RedisServingStore store, long[] ids, RedisCluster cluster, string what)
    {
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RedisStoreException>(async () => await store.GatherAsync(ids, new float[ids.Length * Dims]));
        output.WriteLine($"[{cluster.Elapsed:0.00} s] {what}: failed after {clock.Elapsed.TotalMilliseconds:0} ms: {e.Message}");
        Assert.True(clock.Elapsed < FailFast, $"{what}: the error took {clock.Elapsed}");
        return e;
    }
}
