using EmbedSharp.Diagnostics;

namespace EmbedSharp.Stores;

/// <summary>How the shards of an <see cref="InProcessShardedStore"/> serialise their calls.</summary>
public enum StoreConcurrency
{
    /// <summary>One reader-writer lock per shard: gathers share it, updates take it alone (no torn rows, no lost updates).</summary>
    Locked = 0,

    /// <summary>No locks: concurrent updates race at element granularity, as word2vec's and fastText's Hogwild training.</summary>
    Hogwild = 1,
}

/// <summary>Options of an <see cref="InProcessShardedStore"/>.</summary>
public sealed class InProcessStoreOptions
{
    /// <summary>The number of shards (default: the processor count); ignored when <see cref="Plan"/> is set.</summary>
    public int Shards { get; init; } = Environment.ProcessorCount;

    /// <summary>An explicit bucket → shard plan (default: <see cref="ShardingPlan.Even"/> over <see cref="Shards"/>).</summary>
    public ShardingPlan? Plan { get; init; }

    /// <summary><see cref="StoreConcurrency.Locked"/> (default) or <see cref="StoreConcurrency.Hogwild"/>.</summary>
    public StoreConcurrency Concurrency { get; init; } = StoreConcurrency.Locked;

    /// <summary>
    /// Threads one update may use across its shards (default 1). Shards exist so that concurrent callers (trainer
    /// threads) update different shards at once; raise this to also spread one large update over cores.
    /// </summary>
    public int Threads { get; init; } = 1;

    internal ShardingPlan ResolvePlan(string op)
    {
        if (!Enum.IsDefined(Concurrency))
            ThrowHelper.ArgumentOutOfRange(op, nameof(Concurrency), Concurrency, $"concurrency {Concurrency} is unknown; valid values are Locked, Hogwild");
        Guard.Positive(op, Threads, nameof(Threads));
        if (Plan is not null)
            return Plan;
        if (Shards is < 1 or > BucketRouter.BucketCount)
            ThrowHelper.ArgumentOutOfRange(op, nameof(Shards), Shards, $"shards {Shards} is out of range; valid values are 1..{BucketRouter.BucketCount}");
        return ShardingPlan.Even(Shards);
    }
}
