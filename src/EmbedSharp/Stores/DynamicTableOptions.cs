using EmbedSharp.Diagnostics;
using EmbedSharp.Initializers;

namespace EmbedSharp.Stores;

/// <summary>Which rows a full <see cref="DynamicTable"/> evicts to admit new ones.</summary>
public enum EvictionPolicy
{
    /// <summary>Least recently used: the rows whose last lookup or update is oldest (a logical clock, one tick per call).</summary>
    Lru = 0,

    /// <summary>Least frequently used: the fewest lookups, ties broken by least recent use.</summary>
    Lfu = 1,

    /// <summary>By time: expired rows (see <see cref="DynamicTableOptions.TimeToLive"/>) first, then the rows closest to expiry (oldest last access by the clock).</summary>
    Ttl = 2,
}

/// <summary>Options of a <see cref="DynamicTable"/>: the row budget, admission, eviction, expiry and new rows.</summary>
public sealed class DynamicTableOptions
{
    /// <summary>The row budget: at most this many live rows (required, ≥ 1).</summary>
    public int MaxRows { get; init; }

    /// <summary>A row is created at its N-th sighting (a lookup of an id without a row); earlier lookups read the default row (zeros). Default 1.</summary>
    public int AdmitAfter { get; init; } = 1;

    /// <summary>
    /// Distinct not-yet-admitted ids whose sightings are counted (default: max(1,024, 2 · MaxRows)); when that many
    /// are pending, every pending count is forgotten, so memory stays bounded under a flood of one-off ids.
    /// </summary>
    public int? CandidateCapacity { get; init; }

    /// <summary>Which rows to evict when the budget is full (default <see cref="EvictionPolicy.Lru"/>).</summary>
    public EvictionPolicy Eviction { get; init; } = EvictionPolicy.Lru;

    /// <summary>
    /// When set, a row not looked up or updated for this long expires: it reads as the default row again and its
    /// slot is reused (required by <see cref="EvictionPolicy.Ttl"/>; allowed with the others).
    /// </summary>
    public TimeSpan? TimeToLive { get; init; }

    /// <summary>The clock for <see cref="TimeToLive"/> (default <see cref="TimeProvider.System"/>; tests inject their own).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// How an admitted row starts (default zeros). Each row is drawn from its own stream seeded by
    /// <c>Mix64(id) ^ Seed</c>, so a row's start does not depend on admission order or on the shard.
    /// </summary>
    public Initializer? Initializer { get; init; }

    /// <summary>Seed for <see cref="Initializer"/>.</summary>
    public ulong Seed { get; init; }

    /// <summary>When set, valid ids are <c>[0, NumEmbeddings)</c> (a bounded table held sparsely); null = any int64 id.</summary>
    public long? NumEmbeddings { get; init; }

    /// <summary>When set, the table is one shard: only ids in these buckets are accepted, and snapshots write and read only them.</summary>
    public IReadOnlyList<BucketRange>? OwnedBuckets { get; init; }

    internal void Validate(string op)
    {
        Guard.Positive(op, MaxRows, nameof(MaxRows));
        if (MaxRows > 1 << 29)
            ThrowHelper.ArgumentOutOfRange(op, nameof(MaxRows), MaxRows, $"MaxRows {MaxRows} is out of range; valid values are 1..{1 << 29}");
        Guard.Positive(op, AdmitAfter, nameof(AdmitAfter));
        if (CandidateCapacity is int c)
            Guard.InRange(op, c, 1, 1 << 29, nameof(CandidateCapacity));
        if (!Enum.IsDefined(Eviction))
            ThrowHelper.ArgumentOutOfRange(op, nameof(Eviction), Eviction, $"eviction policy {Eviction} is unknown; valid values are Lru, Lfu, Ttl");
        if (TimeToLive is TimeSpan ttl && ttl <= TimeSpan.Zero)
            ThrowHelper.ArgumentOutOfRange(op, nameof(TimeToLive), ttl, $"TimeToLive {ttl} must be positive");
        if (Eviction == EvictionPolicy.Ttl && TimeToLive is null)
            ThrowHelper.Argument(op, nameof(TimeToLive), "EvictionPolicy.Ttl needs a TimeToLive; set one, or use Lru or Lfu");
        Guard.NotNull(op, TimeProvider, nameof(TimeProvider));
        if (NumEmbeddings is long n)
            Guard.Positive(op, n, nameof(NumEmbeddings));
        if (OwnedBuckets is { Count: 0 })
            ThrowHelper.Argument(op, nameof(OwnedBuckets), "OwnedBuckets is empty; give at least one range, or null for all buckets");
    }
}
