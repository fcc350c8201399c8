using StackExchange.Redis;
using EmbedSharp.Tables;

namespace EmbedSharp.Redis.Tests;

/// <summary>One 3-master cluster (cluster-require-full-coverage no) shared by the tests that do not kill nodes; started on first use.</summary>
public sealed class ClusterFixture : IDisposable
{
    private readonly Lazy<(RedisCluster Cluster, ConnectionMultiplexer Redis)> _state = new(() =>
    {
        var cluster = RedisCluster.Start(masters: 3, replicasPerMaster: 0, requireFullCoverage: false);
        try
        {
            return (cluster, RedisServing.ConnectAsync(cluster.Endpoints).GetAwaiter().GetResult());
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    });

    public RedisCluster Cluster => _state.Value.Cluster;

    public ConnectionMultiplexer Redis => _state.Value.Redis;

    public void Dispose()
    {
        if (!_state.IsValueCreated)
            return;
        _state.Value.Redis.Dispose();
        _state.Value.Cluster.Dispose();
    }
}

internal static class TestTables
{
    /// <summary>A seeded table with values in [-1, 1) plus <paramref name="offset"/>.</summary>
    public static EmbeddingTable Random(int rows, int dims, int seed, float offset = 0)
    {
        var rng = new Random(seed);
        var values = new float[rows * dims];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(rng.NextDouble() * 2 - 1) + offset;
        var table = new EmbeddingTable(rows, dims);
        table.CopyFrom(values);
        return table;
    }

    /// <summary>The table's rows for <paramref name="ids"/>, read one by one (the reference the gathers are compared with).</summary>
    public static float[] Rows(IEmbeddingRows table, ReadOnlySpan<long> ids)
    {
        var expected = new float[ids.Length * table.Dims];
        for (int i = 0; i < ids.Length; i++)
            table.ReadRow(checked((int)ids[i]), expected.AsSpan(i * table.Dims, table.Dims));
        return expected;
    }

    public static long[] Ids(int count, int rows, int seed)
    {
        var rng = new Random(seed);
        var ids = new long[count];
        for (int i = 0; i < count; i++)
            ids[i] = rng.Next(rows);
        return ids;
    }
}
