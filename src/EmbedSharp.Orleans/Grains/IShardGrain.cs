using Orleans.Concurrency;
using Orleans.Serialization.Buffers;

namespace EmbedSharp.Orleans.Grains;

/// <summary>
/// One row shard of a table: its rows and their optimizer state, keyed <c>{table}/{shardCount}/{shard}</c>
/// (<see cref="Placement.ShardKey"/>). Every request carries the shard's <see cref="ShardSpec"/>, so an
/// activation placed anew after a crash opens itself (from <see cref="ShardSpec.Snapshot"/> when the client
/// has one) on the first call it gets.
/// </summary>
[Alias("EmbedSharp.Orleans.IShardGrain")]
public interface IShardGrain : IGrainWithStringKey
{
    /// <summary>Rows of the request's ids (zeros for ids with no row), <c>ids × Dims</c> floats.</summary>
    [ReadOnly, Alias("gather")]
    Task<ShardRows> Gather(GatherRequest request);

    /// <summary>One optimizer step on the listed rows (ids distinct, gradients already summed).</summary>
    [Alias("apply")]
    Task<ShardAck> Apply(ApplyRequest request);

    /// <summary>Writes rows (creating them with the rule's initial state) or, with <see cref="WriteRequest.States"/>, rows and state.</summary>
    [Alias("write")]
    Task<ShardAck> Write(WriteRequest request);

    /// <summary>Deletes rows (they read zeros again, their state starts over).</summary>
    [Alias("delete")]
    Task<ShardAck> Delete(DeleteRequest request);

    /// <summary>Writes this shard's chunks of snapshot <see cref="SnapshotRequest.SnapshotId"/> to the silo's shared snapshot folder.</summary>
    [Alias("snapshot")]
    Task<ShardSnapshot> Snapshot(SnapshotRequest request);

    /// <summary>
    /// Commits snapshot <see cref="SnapshotRequest.SnapshotId"/> once every shard wrote its chunks: checks the
    /// manifest (JSON bytes) and that its chunks exist, then writes it atomically. A snapshot without a manifest
    /// is never loaded.
    /// </summary>
    [Alias("commit")]
    Task<ShardAck> CommitSnapshot(SnapshotRequest request, PooledBuffer manifest);

    /// <summary>Replaces this shard's rows by those of a snapshot in the shared folder (all its chunks overlapping the shard's buckets).</summary>
    [Alias("restore")]
    Task<ShardAck> Restore(SnapshotRequest request);

    /// <summary>A page of this shard's rows and state, ids ascending from <see cref="ExportRequest.AfterId"/>.</summary>
    [ReadOnly, Alias("export")]
    Task<ShardExport> Export(ExportRequest request);

    /// <summary>Drops every row and state (before a restore pushed by the client).</summary>
    [Alias("clear")]
    Task<ShardAck> Clear(ShardSpec spec);

    /// <summary>The shard's counters (rows, step, where it runs, how it was opened).</summary>
    [ReadOnly, Alias("describe")]
    Task<ShardStatus> Describe(ShardSpec spec);
}
