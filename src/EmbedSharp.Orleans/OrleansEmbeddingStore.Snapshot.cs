using EmbedSharp.Orleans.Grains;
using EmbedSharp.Orleans.Wire;
using EmbedSharp.Stores;
using EmbedSharp.Tables;

namespace EmbedSharp.Orleans;

public sealed partial class OrleansEmbeddingStore
{
    /// <summary>
    /// Takes snapshot <paramref name="snapshotId"/> in the silos' shared folder: every shard writes the chunks of
    /// its bucket ranges there itself (no rows travel through the client), then the manifest is written last. From
    /// then on a shard placed anew after a crash loads this snapshot.
    /// </summary>
    /// <remarks>Waits for updates in flight first. Updates that reach a shard while it writes are in its chunks or not, whole.</remarks>
    /// <exception cref="ArgumentException"><paramref name="snapshotId"/> is not a valid name.</exception>
    /// <exception cref="InvalidOperationException">The silos have no snapshot folder.</exception>
    public async Task<SnapshotManifest> SnapshotToSharedFolderAsync(string snapshotId, CancellationToken cancellationToken = default)
    {
        const string op = "orleans.snapshot";
        SnapshotNames.Check(op, snapshotId);
        await FlushAsync().ConfigureAwait(false);
        var calls = new Task<ShardSnapshot>[Plan.ShardCount];
        WireStep? rule = _lastStep is { } last ? WireStep.From(last) : null;
        for (int s = 0; s < calls.Length; s++)
        {
            int shard = s;
            calls[s] = CallAsync(op, shard, () => _shards[shard].Snapshot(new SnapshotRequest(SpecOf(shard), snapshotId, rule)), cancellationToken);
        }
        ShardSnapshot[] parts = await Task.WhenAll(calls).ConfigureAwait(false);
        var chunks = new List<SnapshotChunkEntry>();
        OptimizerStep? optimizer = null;
        int width = 0;
        foreach (ShardSnapshot part in parts)
        {
            for (int i = 0; i < part.Names.Length; i++)
                chunks.Add(new SnapshotChunkEntry(part.Names[i], new BucketRange(part.First[i], part.End[i]), part.RowCounts[i], part.Checksums[i]));
            if (part.Optimizer?.ToStep() is { } step && (optimizer is null || step.Step > optimizer.Value.Step))
            {
                optimizer = step;
                width = part.StateWidth;
            }
        }
        chunks.Sort((a, b) => a.Buckets.First.CompareTo(b.Buckets.First));
        // Shards that never saw a step carry no state; their chunks say so, and a manifest has one state width:
        // such a mixed snapshot is written through the generic path (SnapshotAsync) instead.
        foreach (ShardSnapshot part in parts)
            if (optimizer is not null && part.Optimizer is null && part.RowCounts.Any(c => c > 0))
                throw new InvalidOperationException($"[{op}] some shards hold rows without optimizer state and others with; apply a step through every shard first, or use SnapshotAsync");
        var manifest = new SnapshotManifest(_options.Table, _options.NumEmbeddings, Dims, DType.Float32, width, optimizer?.Step ?? 0, optimizer, Plan, chunks);
        using var json = new MemoryStream();
        manifest.WriteTo(json);
        await CallAsync(op, 0, () => _shards[0].CommitSnapshot(new SnapshotRequest(SpecOf(0), snapshotId), Payload.From<byte>(json.ToArray())), cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _snapshot, snapshotId);
        return manifest;
    }

    /// <summary>
    /// Replaces every shard's rows by snapshot <paramref name="snapshotId"/> in the silos' shared folder, written
    /// by any number of shards (each shard reads the chunks overlapping its buckets). It also becomes the
    /// snapshot a shard placed anew loads.
    /// </summary>
    public async Task RestoreFromSharedFolderAsync(string snapshotId, CancellationToken cancellationToken = default)
    {
        const string op = "orleans.restore";
        SnapshotNames.Check(op, snapshotId);
        await FlushAsync().ConfigureAwait(false);
        Volatile.Write(ref _snapshot, snapshotId);
        var calls = new Task<ShardAck>[Plan.ShardCount];
        for (int s = 0; s < calls.Length; s++)
        {
            int shard = s;
            calls[s] = CallAsync(op, shard, () => _shards[shard].Restore(new SnapshotRequest(SpecOf(shard), snapshotId)), cancellationToken);
        }
        await Task.WhenAll(calls).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The generic path: rows and state come to the client in pages of at most <see cref="OrleansStoreOptions.MaxCallBytes"/>
    /// and go to <paramref name="sink"/> as one chunk per bucket range of the plan, then the manifest. For the
    /// silos' own shared folder, <see cref="SnapshotToSharedFolderAsync"/> moves no rows through the client.
    /// </remarks>
    public async ValueTask<SnapshotManifest> SnapshotAsync(ISnapshotSink sink, CancellationToken cancellationToken = default)
    {
        const string op = "orleans.snapshot";
        ArgumentNullException.ThrowIfNull(sink);
        await FlushAsync().ConfigureAwait(false);
        var chunks = new List<SnapshotChunkEntry>();
        OptimizerStep? optimizer = _lastStep;
        int width = _stateWidth;
        for (int s = 0; s < Plan.ShardCount; s++)
        {
            var (ids, rows, states, shardWidth, shardStep) = await ExportShardAsync(op, s, cancellationToken).ConfigureAwait(false);
            if (shardStep is { } st && (optimizer is null || st.Step > optimizer.Value.Step))
                optimizer = st;
            if (shardWidth != 0)
                width = shardWidth;
            if (ids.Length > 0 && shardWidth != width)
                throw new InvalidOperationException($"[{op}] shard {s} holds {shardWidth} floats of state a row, others {width}; apply a step through every shard first");
            foreach (BucketRange range in Plan.RangesOf(s))
            {
                var pick = new List<int>();
                for (int i = 0; i < ids.Length; i++)
                    if (range.Contains(BucketRouter.BucketOf(ids[i])))
                        pick.Add(i);
                long[] chunkIds = [.. pick.Select(i => ids[i])];
                var chunkRows = new float[pick.Count * Dims];
                var chunkStates = new float[pick.Count * width];
                for (int k = 0; k < pick.Count; k++)
                {
                    rows.AsSpan(pick[k] * Dims, Dims).CopyTo(chunkRows.AsSpan(k * Dims));
                    if (width > 0)
                        states.AsSpan(pick[k] * width, width).CopyTo(chunkStates.AsSpan(k * width));
                }
                string name = SnapshotChunk.NameFor(range);
                SnapshotChunkHeader? header = null;
                OptimizerKind kind = optimizer?.Kind ?? OptimizerKind.None;
                await sink.WriteAsync(name, (stream, _) =>
                {
                    header = SnapshotChunk.Write(stream, _options.Table, Dims, kind, width, optimizer?.Step ?? 0, range, chunkIds, chunkRows, chunkStates);
                    return ValueTask.CompletedTask;
                }, cancellationToken).ConfigureAwait(false);
                chunks.Add(new SnapshotChunkEntry(name, range, header!.RowCount, header.Checksum));
            }
        }
        chunks.Sort((a, b) => a.Buckets.First.CompareTo(b.Buckets.First));
        var manifest = new SnapshotManifest(_options.Table, _options.NumEmbeddings, Dims, DType.Float32, width, optimizer?.Step ?? 0, optimizer, Plan, chunks);
        await manifest.WriteToAsync(sink, cancellationToken).ConfigureAwait(false);
        return manifest;
    }

    private async Task<(long[] Ids, float[] Rows, float[] States, int Width, OptimizerStep? Step)> ExportShardAsync(string op, int shard, CancellationToken cancellationToken)
    {
        var ids = new List<long>();
        var rows = new List<float>();
        var states = new List<float>();
        int width = 0;
        OptimizerStep? step = null;
        bool hasAfter = false;
        long after = 0;
        while (true)
        {
            // Page size: ids + rows + the widest state (4 × dims) within one call.
            int maxRows = IdsPerCall(5 * Dims);
            bool h = hasAfter;
            long a = after;
            ShardExport page = await CallAsync(op, shard, () => _shards[shard].Export(new ExportRequest(SpecOf(shard), h, a, maxRows)), cancellationToken).ConfigureAwait(false);
            var (pi, pr, ps) = (page.Ids, page.Rows, page.States);
            try
            {
                long[] pageIds = Payload.ToArray<long>(pi, op, "ids");
                ids.AddRange(pageIds);
                rows.AddRange(Payload.ToArray<float>(pr, op, "rows"));
                states.AddRange(Payload.ToArray<float>(ps, op, "states"));
                width = page.StateWidth;
                step = page.Optimizer?.ToStep();
                if (page.Done || pageIds.Length == 0)
                    break;
                hasAfter = true;
                after = pageIds[^1];
            }
            finally
            {
                pi.Dispose();
                pr.Dispose();
                ps.Dispose();
            }
        }
        return ([.. ids], [.. rows], [.. states], width, step);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The generic path: the manifest and chunks are read and checked whole on the client, every shard is
    /// cleared, and the rows with their state are pushed to the shards of this store's plan (any shard count) in
    /// calls of at most <see cref="OrleansStoreOptions.MaxCallBytes"/>. The shards' recovery snapshot is unset
    /// until the next <see cref="SnapshotToSharedFolderAsync"/>. For a snapshot already in the silos' shared
    /// folder, <see cref="RestoreFromSharedFolderAsync"/> moves no rows through the client.
    /// </remarks>
    public async ValueTask RestoreAsync(ISnapshotSource source, CancellationToken cancellationToken = default)
    {
        const string op = "orleans.restore";
        ArgumentNullException.ThrowIfNull(source);
        SnapshotManifest manifest;
        await using (Stream m = await source.OpenReadAsync(SnapshotNames.Manifest, cancellationToken).ConfigureAwait(false))
            manifest = SnapshotManifest.Read(m);
        if (manifest.Table != _options.Table || manifest.Dims != Dims)
            throw new InvalidDataException($"[{op}] {SnapshotNames.Manifest}: a snapshot of table '{manifest.Table}' with {manifest.Dims} dims; this store is '{_options.Table}' with {Dims}");
        var ids = new List<long>();
        var rows = new List<float>();
        var states = new List<float>();
        foreach (SnapshotChunkEntry chunk in manifest.Chunks)
        {
            SnapshotRecords records;
            await using (Stream c = await source.OpenReadAsync(chunk.Name, cancellationToken).ConfigureAwait(false))
                records = SnapshotChunk.Read(c, chunk.Name, _options.NumEmbeddings, Dims, manifest.StateWidth).Records;
            if (records.Ids.Length != chunk.RowCount)
                throw new InvalidDataException($"[{op}] {chunk.Name}: {records.Ids.Length} records; the manifest lists {chunk.RowCount}");
            ids.AddRange(records.Ids);
            rows.AddRange(records.Rows);
            states.AddRange(records.States);
        }
        await FlushAsync().ConfigureAwait(false);
        Volatile.Write(ref _snapshot, null);
        var clears = new Task<ShardAck>[Plan.ShardCount];
        for (int s = 0; s < clears.Length; s++)
        {
            int shard = s;
            clears[s] = CallAsync(op, shard, () => _shards[shard].Clear(SpecOf(shard)), cancellationToken);
        }
        await Task.WhenAll(clears).ConfigureAwait(false);
        if (ids.Count == 0)
            return;
        long[] all = [.. ids];
        RoutedBatch batch = Plan.Route(all);
        int width = manifest.StateWidth;
        var routedRows = new float[batch.UniqueCount * Dims];
        var routedStates = new float[batch.UniqueCount * width];
        ReadOnlySpan<int> sourceOf = batch.SourceOf;
        float[] rowArray = [.. rows], stateArray = [.. states];
        for (int i = 0; i < sourceOf.Length; i++)
        {
            rowArray.AsSpan(i * Dims, Dims).CopyTo(routedRows.AsSpan(sourceOf[i] * Dims));
            if (width > 0)
                stateArray.AsSpan(i * width, width).CopyTo(routedStates.AsSpan(sourceOf[i] * width));
        }
        lock (_gate)
        {
            _lastStep = manifest.Optimizer;
            _stateWidth = width;
        }
        await WriteRowsAsync(op, batch.UniqueIds.ToArray(), batch.ShardStart.ToArray(), routedRows, manifest.Optimizer, routedStates, cancellationToken).ConfigureAwait(false);
    }
}
