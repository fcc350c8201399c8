using EmbedSharp.Stores;

namespace EmbedSharp.Orleans;

/// <summary>What an <see cref="OrleansEmbeddingStore"/> holds and how it calls the cluster.</summary>
public sealed record OrleansStoreOptions
{
    /// <summary>The table's name: letters, digits, '-', '_', '.' (1–128 characters); names the grains and the snapshot folder.</summary>
    public required string Table { get; init; }

    /// <summary>Valid ids are <c>[0, NumEmbeddings)</c>; null for any int64 id.</summary>
    public long? NumEmbeddings { get; init; }

    /// <summary>Floats per row.</summary>
    public required int Dims { get; init; }

    /// <summary>Buckets to shards; by default <see cref="ShardingPlan.Even"/> over <see cref="ShardCount"/> shards.</summary>
    public ShardingPlan? Plan { get; init; }

    /// <summary>Shards when no <see cref="Plan"/> is given: at least one per core of every silo (a shard uses one core at most).</summary>
    public int ShardCount { get; init; } = 4;

    /// <summary>
    /// A snapshot in the silos' shared folder that shards opening for the first time load (a store restored on
    /// another shard count); null: the table's newest committed snapshot there (the <c>latest</c> file of its
    /// folder, which every <see cref="OrleansEmbeddingStore.SnapshotToSharedFolderAsync"/> updates), or empty rows
    /// when it has none. So a shard lost with its silo comes back from the newest snapshot whichever client
    /// reaches it first, and a restarted cluster resumes where it was last snapshotted.
    /// </summary>
    public string? StartFrom { get; init; }

    /// <summary>
    /// Bounded staleness for asynchronous training: how many <see cref="OrleansEmbeddingStore.ApplyGradientsAsync"/>
    /// calls may still be in flight when it returns (0: it returns once the shards applied the step). A gather
    /// then sees every update but at most the last <c>MaxPendingUpdates</c>. <see cref="OrleansEmbeddingStore.FlushAsync"/>
    /// waits for all.
    /// </summary>
    public int MaxPendingUpdates { get; init; }

    /// <summary>
    /// How long one store call keeps retrying a shard that does not answer (a silo died and its shards are being
    /// placed again) before it fails with <see cref="TimeoutException"/>. Each try is also bounded by the
    /// client's response timeout.
    /// </summary>
    public TimeSpan RetryBudget { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long the first try of a read or an update may wait for its shard before the store abandons it and tries
    /// again (each further try waits twice as long). A request that was on its way to a silo killed with SIGKILL
    /// is otherwise failed by Orleans only after the client's response timeout, which would add that much to the
    /// recovery a training loop sees. Safe for updates: a shard applies each call once, so an abandoned try that
    /// arrives late is skipped. Writes, deletes and snapshots are not abandoned (a late write could overwrite a newer one).
    /// </summary>
    public TimeSpan TryTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Most payload bytes per grain call; a shard's part of a larger batch is split into several calls.</summary>
    public int MaxCallBytes { get; init; } = Wire.Payload.MaxCallBytes;
}
