using EmbedSharp.Diagnostics;

namespace EmbedSharp.Redis;

/// <summary>What a gather does with a valid id the published version holds no row for (a hashed id never seen, a deleted row).</summary>
public enum MissingRowPolicy
{
    /// <summary>Write the default row, zeros, and count it in <see cref="RedisGatherResult.Missing"/> (the default, as the store seam specifies).</summary>
    Zeros,

    /// <summary>Throw <see cref="KeyNotFoundException"/> naming the first missing id and its position.</summary>
    Throw,
}

/// <summary>Options of a <see cref="RedisServingStore"/>.</summary>
public sealed record RedisServingOptions
{
    /// <summary>Rows kept in the client-side hot-row cache (CLOCK eviction, cleared when the version changes); 0 (default) turns it off.</summary>
    public int HotRowCacheRows { get; init; }

    /// <summary>Read from replicas when one is up (<c>PreferReplica</c>): spreads reads and keeps a dead master's slots readable until failover. Off by default.</summary>
    public bool ReadFromReplicas { get; init; }

    /// <summary>What to do with valid ids the version holds no row for; <see cref="MissingRowPolicy.Zeros"/> by default. (Ids outside a bounded table's <c>[0, NumEmbeddings)</c> always throw.)</summary>
    public MissingRowPolicy MissingRows { get; init; }

    /// <summary>The bound on one gather, whatever the nodes do (default 5 s); past it the gather throws <see cref="RedisStoreException"/>.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a read version is trusted before the pointer key is read again. Zero (default) reads it once per
    /// gather (one small GET), so a flip is seen by the next batch.
    /// </summary>
    public TimeSpan VersionCheckInterval { get; init; }

    internal void Validate(string op)
    {
        Guard.NonNegative(op, HotRowCacheRows);
        if (!Enum.IsDefined(MissingRows))
            ThrowHelper.ArgumentOutOfRange(op, nameof(MissingRows), MissingRows, "MissingRows must be Throw or Zeros");
        if (OperationTimeout <= TimeSpan.Zero)
            ThrowHelper.ArgumentOutOfRange(op, nameof(OperationTimeout), OperationTimeout, "OperationTimeout must be positive");
        if (VersionCheckInterval < TimeSpan.Zero)
            ThrowHelper.ArgumentOutOfRange(op, nameof(VersionCheckInterval), VersionCheckInterval, "VersionCheckInterval must be zero or positive");
    }
}

/// <summary>What one gather did.</summary>
/// <param name="Version">The table version every row of the batch came from.</param>
/// <param name="UniqueIds">Distinct ids in the batch (each is read once).</param>
/// <param name="CacheHits">Distinct ids served by the hot-row cache.</param>
/// <param name="Blocks">HMGET commands sent (one per block touched by the cache misses).</param>
/// <param name="Missing">Distinct ids the version does not hold (written as zeros under <see cref="MissingRowPolicy.Zeros"/>).</param>
/// <param name="StaleVersion">The pointer key could not be read (its master is down), so the batch came from the last version this store saw.</param>
public readonly record struct RedisGatherResult(long Version, int UniqueIds, int CacheHits, int Blocks, int Missing, bool StaleVersion = false);
