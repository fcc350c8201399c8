using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

/// <summary>What a store holds: its table's name and shape, and the optimizer its rows carry state for.</summary>
/// <param name="Name">The table's name (snapshots carry it and check it on restore).</param>
/// <param name="NumEmbeddings">Valid ids are <c>[0, NumEmbeddings)</c>; null for an unbounded id space (any int64 id, rows created on demand).</param>
/// <param name="Dims">Floats per row.</param>
/// <param name="DType">How rows are stored (gathers always return float32).</param>
/// <param name="Optimizer">The rule whose state lives beside the rows; <see cref="OptimizerKind.None"/> before the first update.</param>
/// <param name="StateWidth">Floats of optimizer state per row (0 before the first update or for stateless rules).</param>
public sealed record EmbeddingStoreInfo(string Name, long? NumEmbeddings, int Dims, DType DType, OptimizerKind Optimizer = OptimizerKind.None, int StateWidth = 0)
{
    /// <summary>True when any int64 id is valid (<see cref="NumEmbeddings"/> is null).</summary>
    public bool IsUnbounded => NumEmbeddings is null;
}

/// <summary>
/// The read side of a store of embedding rows keyed by int64 ids: what a read-mostly serving tier
/// (a Redis cluster, a feature store) can do honestly.
/// </summary>
/// <remarks>
/// Calls are batched over memory the caller owns, so one call costs one round trip per shard whatever
/// the batch size. Implementations are safe to call from several threads at once.
/// </remarks>
public interface IEmbeddingRowReader : IAsyncDisposable
{
    /// <summary>The table's name and shape.</summary>
    EmbeddingStoreInfo Info { get; }

    /// <summary>
    /// Gathers rows: <c>destination[i·Dims .. (i+1)·Dims) = row(ids[i])</c>. Ids may repeat. An id with no row
    /// (deleted, or never admitted by a dynamic table) reads the store's default row (zeros unless the
    /// store says otherwise).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A bounded store got an id outside <c>[0, NumEmbeddings)</c>; nothing was written.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <c>ids.Length · Dims</c>.</exception>
    ValueTask GatherAsync(ReadOnlyMemory<long> ids, Memory<float> destination, CancellationToken cancellationToken = default);
}

/// <summary>
/// A trainable store: rows plus the optimizer state beside them, updated in place by sparse gradients.
/// The in-process <see cref="InProcessShardedStore"/> is the default; distributed backends implement the
/// same contract (see docs/stores.md).
/// </summary>
/// <remarks>
/// <para>Consistency: every call applies atomically with respect to other calls on the same shard (no torn
/// rows, no lost updates) unless the store was created for Hogwild; there is no atomicity across shards.</para>
/// <para>Every call validates its whole input before it changes anything.</para>
/// </remarks>
public interface IEmbeddingStore : IEmbeddingRowReader
{
    /// <summary>
    /// Applies one optimizer step to the listed rows in the store: for each i, row <c>ids[i]</c> and its state
    /// are updated by <paramref name="step"/>'s rule from <c>gradients[i·Dims .. (i+1)·Dims)</c>, which must
    /// already be the sum over the batch for that id (e.g. <see cref="TableCollection.SummedGradients"/>).
    /// </summary>
    /// <exception cref="ArgumentException">Ids repeat, <paramref name="gradients"/> has the wrong length, the
    /// step's rule differs from the state the store holds, or a hyperparameter is out of range.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A bounded store got an id outside <c>[0, NumEmbeddings)</c>.</exception>
    /// <exception cref="Diagnostics.NonFiniteException">A gradient is NaN or ±∞ (nothing changed), or an update produced one (that row was restored).</exception>
    ValueTask ApplyGradientsAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> gradients, OptimizerStep step, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes rows: row <c>ids[i]</c> becomes <c>rows[i·Dims .. (i+1)·Dims)</c>, creating it if needed (new rows
    /// start with the rule's initial optimizer state; existing rows keep theirs). The last of repeated ids wins.
    /// </summary>
    ValueTask UpsertAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> rows, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes rows: they read the default row again and their optimizer state returns to its initial value
    /// (a bounded store resets them; a dynamic table frees them). Ids with no row are ignored.
    /// </summary>
    ValueTask DeleteAsync(ReadOnlyMemory<long> ids, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes every row and its optimizer state to <paramref name="sink"/> as chunk files per bucket range
    /// plus a manifest written last (format in <see cref="SnapshotChunk"/> and <see cref="SnapshotManifest"/>).
    /// </summary>
    ValueTask<SnapshotManifest> SnapshotAsync(ISnapshotSink sink, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the store's rows and state by a snapshot, written by any number of shards: each shard reads
    /// the chunks that overlap its buckets. The snapshot is read and checked whole before anything changes.
    /// </summary>
    /// <exception cref="InvalidDataException">A chunk or the manifest is malformed, truncated, or does not match this table.</exception>
    ValueTask RestoreAsync(ISnapshotSource source, CancellationToken cancellationToken = default);
}
