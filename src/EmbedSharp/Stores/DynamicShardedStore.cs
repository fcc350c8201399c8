using System.Buffers;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Stores;

/// <summary>
/// An in-process sharded store over an unbounded id space: one <see cref="DynamicTable"/> per shard, each owning
/// the buckets the plan gives it (its own lock, row budget, admission and eviction). Calls are routed by
/// <see cref="ShardingPlan"/>, so concurrent callers on different shards do not wait for each other, and its
/// snapshots restore on any other shard count (or into an <see cref="InProcessShardedStore"/>-style layout of
/// chunks per bucket range).
/// </summary>
public sealed class DynamicShardedStore : IEmbeddingStore, IDisposable
{
    private readonly DynamicTable[] _shards;

    /// <summary>
    /// Creates the shards; each gets <paramref name="options"/> with its own buckets and a budget of
    /// <c>⌈MaxRows / S⌉</c> rows (buckets spread ids evenly, so the total budget is about <c>MaxRows</c>).
    /// </summary>
    public DynamicShardedStore(string name, int dims, DynamicTableOptions options, ShardingPlan? plan = null)
    {
        const string op = "store.create";
        Guard.NotNull(op, options);
        options.Validate(op);
        if (options.OwnedBuckets is not null)
            ThrowHelper.Argument(op, nameof(options), "OwnedBuckets is set by the store from the plan; leave it null");
        Plan = plan ?? ShardingPlan.Even(Environment.ProcessorCount);
        int perShard = (int)Math.Max(1, ((long)options.MaxRows + Plan.ShardCount - 1) / Plan.ShardCount);
        _shards = [.. Enumerable.Range(0, Plan.ShardCount).Select(s => new DynamicTable(name, dims, new DynamicTableOptions
        {
            MaxRows = perShard, AdmitAfter = options.AdmitAfter, CandidateCapacity = options.CandidateCapacity, Eviction = options.Eviction,
            TimeToLive = options.TimeToLive, TimeProvider = options.TimeProvider, Initializer = options.Initializer, Seed = options.Seed,
            NumEmbeddings = options.NumEmbeddings, OwnedBuckets = Plan.RangesOf(s),
        }))];
    }

    /// <summary>The bucket → shard plan.</summary>
    public ShardingPlan Plan { get; }

    /// <summary>The shards, one <see cref="DynamicTable"/> each.</summary>
    public IReadOnlyList<DynamicTable> Shards => _shards;

    /// <summary>Live rows over all shards.</summary>
    public long Count => _shards.Sum(s => (long)s.Count);

    /// <summary>Bytes held by all shards.</summary>
    public long MemoryBytes => _shards.Sum(s => s.MemoryBytes);

    /// <inheritdoc/>
    public EmbeddingStoreInfo Info => _shards[0].Info;

    /// <summary>Positions of a batch grouped by shard (repeats kept: each occurrence is a sighting).</summary>
    private (int[] Order, int[] Start, int[] ShardOf) Group(ReadOnlySpan<long> ids)
    {
        var shardOf = new int[ids.Length];
        var start = new int[_shards.Length + 1];
        for (int i = 0; i < ids.Length; i++)
        {
            shardOf[i] = Plan.ShardOf(ids[i]);
            start[shardOf[i] + 1]++;
        }
        for (int s = 0; s < _shards.Length; s++)
            start[s + 1] += start[s];
        var next = start.AsSpan(0, _shards.Length).ToArray();
        var order = new int[ids.Length];
        for (int i = 0; i < ids.Length; i++)
            order[next[shardOf[i]]++] = i;
        return (order, start, shardOf);
    }

    /// <summary>The synchronous form of <see cref="GatherAsync"/>.</summary>
    /// <remarks>
    /// The shards the batch touches are locked in ascending order (every other call holds one shard at a time, so
    /// this cannot deadlock). One probe pass over the whole batch finds and copies the live rows, on several threads
    /// for large batches as a dense table's gather; then each shard commits its ids in batch order (sightings,
    /// admission, eviction, see <see cref="DynamicTable"/>) and copies the rows the probes could not answer.
    /// </remarks>
    public unsafe void Gather(ReadOnlySpan<long> ids, Span<float> destination)
    {
        const string op = "store.gather";
        int dims = Info.Dims;
        Guard.MinLength(op, destination.Length, (long)ids.Length * dims, $"ids.Length × Dims = {ids.Length} × {dims}");
        if (Info.NumEmbeddings is long bound)
        {
            for (int i = 0; i < ids.Length; i++)
                if ((ulong)ids[i] >= (ulong)bound)
                    ThrowHelper.IndexOutOfRange(op, nameof(ids), ids[i], i, bound);
        }
        var (order, start, shardOf) = Group(ids);
        int n = ids.Length;
        int[] probed = ArrayPool<int>.Shared.Rent(n);
        var calls = new DynamicTable.LookupCall[_shards.Length];
        int locked = 0; // shards [0, locked) were considered; those with ids are held
        try
        {
            for (; locked < _shards.Length; locked++)
                if (start[locked + 1] > start[locked])
                    _shards[locked].Gate.Enter();
            for (int s = 0; s < _shards.Length; s++)
                if (start[s + 1] > start[s])
                    calls[s] = _shards[s].BeginRoutedLookup(op); // the ids were routed here by the plan just now
            fixed (long* idp = ids)
            fixed (int* tableOf = shardOf)
            fixed (float* dst = destination)
            {
                DynamicTable.ProbeAndCopy(_shards, tableOf, idp, n, calls, probed, dst, dims);
                bool countUses = _shards[0].Options.Eviction == EvictionPolicy.Lfu;
                for (int s = 0; s < _shards.Length; s++)
                {
                    DynamicTable shard = _shards[s];
                    for (int k = start[s]; k < start[s + 1]; k++)
                    {
                        if (countUses && k + DynamicTable.CommitDistance < start[s + 1])
                            shard.PrefetchProbed(probed[order[k + DynamicTable.CommitDistance]]);
                        int i = order[k];
                        if (shard.CommitLookup(idp[i], probed[i], calls[s], out int slot))
                            shard.CopySlot(slot, dst + (nint)i * dims);
                    }
                }
            }
        }
        finally
        {
            for (int s = locked - 1; s >= 0; s--)
                if (start[s + 1] > start[s])
                    _shards[s].Gate.Exit();
            ArrayPool<int>.Shared.Return(probed);
        }
    }

    /// <inheritdoc/>
    public ValueTask GatherAsync(ReadOnlyMemory<long> ids, Memory<float> destination, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Gather(ids.Span, destination.Span);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask ApplyGradientsAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> gradients, OptimizerStep step, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        const string op = "store.apply_gradients";
        int dims = Info.Dims;
        Guard.Length(op, gradients.Length, (long)ids.Length * dims, $"ids.Length × Dims = {ids.Length} × {dims}");
        step.Validate(op);
        if (Info.NumEmbeddings is long bound)
        {
            for (int i = 0; i < ids.Length; i++)
                if ((ulong)ids.Span[i] >= (ulong)bound)
                    ThrowHelper.IndexOutOfRange(op, nameof(ids), ids.Span[i], i, bound);
        }
        RoutedBatch routed = Plan.Route(ids.Span);
        if (routed.HasDuplicates)
            InProcessShardedStore.ThrowDuplicate(op, ids.Span);
        StoreUpdate.CheckFinite(op, ids.Span, gradients.Span, dims, step.Step);
        var grouped = new float[gradients.Length];
        routed.SumByUnique(gradients.Span, grouped, dims);
        for (int s = 0; s < _shards.Length; s++)
        {
            int first = routed.ShardStart[s], n = routed.ShardStart[s + 1] - first;
            _shards[s].ApplyGradients(routed.IdsOf(s), grouped.AsSpan(first * dims, n * dims), step);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask UpsertAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> rows, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        int dims = Info.Dims;
        Guard.Length("store.upsert", rows.Length, (long)ids.Length * dims, $"ids.Length × Dims = {ids.Length} × {dims}");
        var (order, start, _) = Group(ids.Span);
        for (int s = 0; s < _shards.Length; s++)
        {
            int[] positions = order[start[s]..start[s + 1]];
            if (positions.Length == 0)
                continue;
            long[] shardIds = [.. positions.Select(p => ids.Span[p])];
            float[] shardRows = [.. positions.SelectMany(p => rows.Span.Slice(p * dims, dims).ToArray())];
            _shards[s].Upsert(shardIds, shardRows);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask DeleteAsync(ReadOnlyMemory<long> ids, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var (order, start, _) = Group(ids.Span);
        for (int s = 0; s < _shards.Length; s++)
            _shards[s].Delete([.. order[start[s]..start[s + 1]].Select(p => ids.Span[p])]);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public async ValueTask<SnapshotManifest> SnapshotAsync(ISnapshotSink sink, CancellationToken cancellationToken = default)
    {
        var chunks = new List<SnapshotChunkEntry>();
        foreach (DynamicTable shard in _shards)
            chunks.AddRange(await shard.WriteChunksAsync(sink, cancellationToken).ConfigureAwait(false));
        SnapshotManifest manifest = _shards[0].ManifestFor(chunks, Plan) with { Step = _shards.Max(s => s.StepCount) };
        await manifest.WriteToAsync(sink, cancellationToken).ConfigureAwait(false);
        return manifest;
    }

    /// <inheritdoc/>
    public async ValueTask RestoreAsync(ISnapshotSource source, CancellationToken cancellationToken = default)
    {
        // Every shard reads and checks its part first; only then does any shard change.
        var staged = new List<DynamicTable.StagedRestore>();
        foreach (DynamicTable shard in _shards)
            staged.Add(await shard.StageRestoreAsync(source, cancellationToken).ConfigureAwait(false));
        for (int s = 0; s < _shards.Length; s++)
            _shards[s].Commit(staged[s]);
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Frees every shard.</summary>
    public void Dispose()
    {
        foreach (DynamicTable shard in _shards)
            shard.Dispose();
    }
}
