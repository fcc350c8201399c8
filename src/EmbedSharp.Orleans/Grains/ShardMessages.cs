using EmbedSharp.Stores;
using Orleans.Serialization.Buffers;

namespace EmbedSharp.Orleans.Grains;

// The shard grain's requests and answers. Payloads are PooledBuffers (ids as int64, rows and state as
// float32, the machine's byte order): Orleans blits them, and [Immutable] spares same-silo calls a deep copy.
// A buffer belongs to whoever receives it, who disposes it; the sender never touches it again.

/// <summary>What a shard is: its table, shape, place in the plan, and the snapshot it starts from.</summary>
/// <param name="Table">The table's name (<see cref="Placement.ShardKey.IsValidTableName"/>).</param>
/// <param name="NumEmbeddings">Valid ids are <c>[0, NumEmbeddings)</c>; -1 for any int64 id.</param>
/// <param name="Dims">Floats per row.</param>
/// <param name="ShardCount">Shards of the plan.</param>
/// <param name="Shard">This shard.</param>
/// <param name="PlanVersion">The plan's version.</param>
/// <param name="RangeFirst">First bucket of each of the shard's bucket ranges.</param>
/// <param name="RangeEnd">End (exclusive) of each range.</param>
/// <param name="Snapshot">The snapshot (in the silo's shared folder, under the table's name) a new activation loads; null: start empty.</param>
[GenerateSerializer, Immutable, Alias("EmbedSharp.Orleans.ShardSpec")]
public sealed record ShardSpec(
    [property: Id(0)] string Table,
    [property: Id(1)] long NumEmbeddings,
    [property: Id(2)] int Dims,
    [property: Id(3)] int ShardCount,
    [property: Id(4)] int Shard,
    [property: Id(5)] long PlanVersion,
    [property: Id(6)] int[] RangeFirst,
    [property: Id(7)] int[] RangeEnd,
    [property: Id(8)] string? Snapshot)
{
    /// <summary>The shard's bucket ranges.</summary>
    public BucketRange[] Ranges()
    {
        var ranges = new BucketRange[RangeFirst.Length];
        for (int i = 0; i < ranges.Length; i++)
            ranges[i] = new BucketRange(RangeFirst[i], RangeEnd[i]);
        return ranges;
    }

    /// <summary>True when <paramref name="other"/> describes the same shard (the snapshot to start from may differ).</summary>
    public bool SameShard(ShardSpec other) =>
        Table == other.Table && NumEmbeddings == other.NumEmbeddings && Dims == other.Dims && ShardCount == other.ShardCount
        && Shard == other.Shard && PlanVersion == other.PlanVersion
        && RangeFirst.AsSpan().SequenceEqual(other.RangeFirst) && RangeEnd.AsSpan().SequenceEqual(other.RangeEnd);
}

/// <summary><see cref="OptimizerStep"/> on the wire.</summary>
[GenerateSerializer, Immutable, Alias("EmbedSharp.Orleans.WireStep")]
public sealed record WireStep(
    [property: Id(0)] int Kind, [property: Id(1)] double LearningRate, [property: Id(2)] long Step,
    [property: Id(3)] double WeightDecay, [property: Id(4)] double Momentum, [property: Id(5)] double Beta1,
    [property: Id(6)] double Beta2, [property: Id(7)] double Eps, [property: Id(8)] double LrDecay,
    [property: Id(9)] double InitialAccumulatorValue)
{
    /// <summary>Wraps <paramref name="s"/>.</summary>
    public static WireStep From(in OptimizerStep s) =>
        new((int)s.Kind, s.LearningRate, s.Step, s.WeightDecay, s.Momentum, s.Beta1, s.Beta2, s.Eps, s.LrDecay, s.InitialAccumulatorValue);

    /// <summary>The step.</summary>
    public OptimizerStep ToStep() => new()
    {
        Kind = (OptimizerKind)Kind, LearningRate = LearningRate, Step = Step, WeightDecay = WeightDecay, Momentum = Momentum,
        Beta1 = Beta1, Beta2 = Beta2, Eps = Eps, LrDecay = LrDecay, InitialAccumulatorValue = InitialAccumulatorValue,
    };
}

/// <summary>Ids to read.</summary>
[GenerateSerializer, Immutable, Alias("EmbedSharp.Orleans.GatherRequest")]
public sealed record GatherRequest([property: Id(0)] ShardSpec Spec, [property: Id(1)] PooledBuffer Ids);

/// <summary>Rows read, <c>ids × Dims</c> floats.</summary>
[GenerateSerializer, Immutable, Alias("EmbedSharp.Orleans.ShardRows")]
public sealed record ShardRows([property: Id(0)] PooledBuffer Rows, [property: Id(1)] long Step);

/// <summary>
/// One optimizer step: distinct ids and their summed gradients. <see cref="Client"/> and <see cref="Sequence"/>
/// name the call, so a retry of a call whose answer was lost (it ran, the reply timed out) is not applied twice.
/// </summary>
[GenerateSerializer, Immutable, Alias("EmbedSharp.Orleans.ApplyRequest")]
public sealed record ApplyRequest([property: Id(0)] ShardSpec Spec, [property: Id(1)] WireStep Step, [property: Id(2)] PooledBuffer Ids, [property: Id(3)] PooledBuffer Gradients,
    [property: Id(4)] Guid Client, [property: Id(5)] long Sequence);

/// <summary>
/// Rows to write; with <see cref="Optimizer"/> set, <see cref="States"/> holds their optimizer state
/// (<c>ids × StateWidth</c> floats) and replaces theirs (a restore pushed by the client).
/// </summary>
[GenerateSerializer, Immutable, Alias("EmbedSharp.Orleans.WriteRequest")]
public sealed record WriteRequest([property: Id(0)] ShardSpec Spec, [property: Id(1)] PooledBuffer Ids, [property: Id(2)] PooledBuffer Rows,
    [property: Id(3)] WireStep? Optimizer, [property: Id(4)] PooledBuffer States);

/// <summary>Ids to delete.</summary>
[GenerateSerializer, Immutable, Alias("EmbedSharp.Orleans.DeleteRequest")]
public sealed record DeleteRequest([property: Id(0)] ShardSpec Spec, [property: Id(1)] PooledBuffer Ids);

/// <summary>
/// A snapshot to write or read in the shared folder. <see cref="Optimizer"/> is the store's rule: a shard that has
/// not applied a step yet writes its chunks with that rule's initial state, so every chunk has the same state width.
/// </summary>
[GenerateSerializer, Immutable, Alias("EmbedSharp.Orleans.SnapshotRequest")]
public sealed record SnapshotRequest([property: Id(0)] ShardSpec Spec, [property: Id(1)] string SnapshotId, [property: Id(2)] WireStep? Optimizer = null);

/// <summary>A page of rows to export: ids above <see cref="AfterId"/> (all ids when <see cref="HasAfter"/> is false), at most <see cref="MaxRows"/>.</summary>
[GenerateSerializer, Immutable, Alias("EmbedSharp.Orleans.ExportRequest")]
public sealed record ExportRequest([property: Id(0)] ShardSpec Spec, [property: Id(1)] bool HasAfter, [property: Id(2)] long AfterId, [property: Id(3)] int MaxRows);

/// <summary>A page of exported rows: ids ascending, rows, state; <see cref="Done"/> when no row is above the last id.</summary>
[GenerateSerializer, Immutable, Alias("EmbedSharp.Orleans.ShardExport")]
public sealed record ShardExport([property: Id(0)] PooledBuffer Ids, [property: Id(1)] PooledBuffer Rows, [property: Id(2)] PooledBuffer States,
    [property: Id(3)] int StateWidth, [property: Id(4)] WireStep? Optimizer, [property: Id(5)] bool Done);

/// <summary>The chunks a shard wrote for a snapshot.</summary>
[GenerateSerializer, Immutable, Alias("EmbedSharp.Orleans.ShardSnapshot")]
public sealed record ShardSnapshot([property: Id(0)] string[] Names, [property: Id(1)] int[] First, [property: Id(2)] int[] End,
    [property: Id(3)] long[] RowCounts, [property: Id(4)] ulong[] Checksums, [property: Id(5)] int StateWidth, [property: Id(6)] WireStep? Optimizer);

/// <summary>A shard's row count and step after a change.</summary>
[GenerateSerializer, Immutable, Alias("EmbedSharp.Orleans.ShardAck")]
public sealed record ShardAck([property: Id(0)] long Rows, [property: Id(1)] long Step);

/// <summary>Where a shard runs and what it holds.</summary>
/// <param name="Silo">The silo's address.</param>
/// <param name="Rows">Rows held.</param>
/// <param name="Step">The last step applied (0 before any).</param>
/// <param name="OpenedFrom">"empty", or the snapshot the activation loaded.</param>
/// <param name="ActivatedUtc">When this activation opened.</param>
[GenerateSerializer, Immutable, Alias("EmbedSharp.Orleans.ShardStatus")]
public sealed record ShardStatus([property: Id(0)] string Silo, [property: Id(1)] long Rows, [property: Id(2)] long Step,
    [property: Id(3)] string OpenedFrom, [property: Id(4)] DateTime ActivatedUtc);
