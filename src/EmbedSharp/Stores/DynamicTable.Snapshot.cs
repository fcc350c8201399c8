using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

public sealed partial class DynamicTable
{
    /// <summary>The bucket ranges this table owns (all buckets unless <see cref="DynamicTableOptions.OwnedBuckets"/> is set).</summary>
    public IReadOnlyList<BucketRange> Buckets => _options.OwnedBuckets ?? [BucketRange.All];

    /// <summary>
    /// Writes one chunk per owned bucket range to <paramref name="sink"/> (no manifest): what one shard of a
    /// sharded store contributes to a snapshot whose manifest its coordinator writes.
    /// </summary>
    public async ValueTask<IReadOnlyList<SnapshotChunkEntry>> WriteChunksAsync(ISnapshotSink sink, CancellationToken cancellationToken = default)
    {
        Guard.NotNull("dynamic_table.snapshot", sink);
        var entries = new List<SnapshotChunkEntry>();
        foreach (BucketRange range in Buckets)
        {
            cancellationToken.ThrowIfCancellationRequested();
            SnapshotRecords records = ExportRows(range);
            OptimizerKind kind = _optimizer?.Kind ?? OptimizerKind.None;
            int width = _state?.Width ?? 0;
            string name = SnapshotChunk.NameFor(range);
            SnapshotChunkHeader? header = null;
            await sink.WriteAsync(name, (stream, _) =>
            {
                header = SnapshotChunk.Write(stream, Name, _rows.Dims, kind, width, StepCount, range, records.Ids, records.Rows, records.States);
                return ValueTask.CompletedTask;
            }, cancellationToken).ConfigureAwait(false);
            entries.Add(new SnapshotChunkEntry(name, range, header!.RowCount, header.Checksum));
        }
        return entries;
    }

    /// <summary>The manifest for chunks written by this table (or by a set of shards of the same table).</summary>
    internal SnapshotManifest ManifestFor(IReadOnlyList<SnapshotChunkEntry> chunks, ShardingPlan plan) =>
        new(Name, _options.NumEmbeddings, _rows.Dims, DType.Float32, _state?.Width ?? 0, StepCount, _optimizer, plan, chunks);

    /// <inheritdoc/>
    public async ValueTask<SnapshotManifest> SnapshotAsync(ISnapshotSink sink, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<SnapshotChunkEntry> chunks = await WriteChunksAsync(sink, cancellationToken).ConfigureAwait(false);
        SnapshotManifest manifest = ManifestFor(chunks, ShardingPlan.Even(1));
        await manifest.WriteToAsync(sink, cancellationToken).ConfigureAwait(false);
        return manifest;
    }

    /// <inheritdoc/>
    /// <remarks>Only the chunks that overlap this table's buckets are read, and only their records in those buckets kept.</remarks>
    /// <exception cref="InvalidDataException">Also when the snapshot holds more rows in these buckets than the row budget.</exception>
    public async ValueTask RestoreAsync(ISnapshotSource source, CancellationToken cancellationToken = default) =>
        Commit(await StageRestoreAsync(source, cancellationToken).ConfigureAwait(false));

    /// <summary>A snapshot read and checked for this table, not yet applied (see <see cref="Commit"/>).</summary>
    internal sealed record StagedRestore(SnapshotManifest Manifest, List<SnapshotRecords> Records);

    /// <summary>Reads and checks the manifest and the chunks overlapping this table's buckets; changes nothing.</summary>
    internal async ValueTask<StagedRestore> StageRestoreAsync(ISnapshotSource source, CancellationToken cancellationToken)
    {
        const string op = "store.restore";
        Guard.NotNull(op, source);
        SnapshotManifest manifest;
        await using (Stream m = await source.OpenReadAsync(SnapshotNames.Manifest, cancellationToken).ConfigureAwait(false))
            manifest = SnapshotManifest.Read(m);
        InProcessShardedStore.CheckManifest(manifest, Name, _options.NumEmbeddings, _rows.Dims);
        var kept = new List<SnapshotRecords>();
        long total = 0;
        foreach (SnapshotChunkEntry entry in manifest.Chunks.Where(c => Buckets.Any(b => b.Overlaps(c.Buckets))))
        {
            SnapshotRecords records = await InProcessShardedStore.ReadChunkAsync(source, manifest, entry, cancellationToken).ConfigureAwait(false);
            records = Owned(records, manifest.StateWidth);
            total += records.Ids.Length;
            if (total > _options.MaxRows)
                throw new InvalidDataException(ThrowHelper.Format(op, $"the snapshot holds more than {_options.MaxRows} rows in this table's buckets, over its row budget MaxRows; restore into a table with a larger budget or more shards"));
            kept.Add(records);
        }
        return new StagedRestore(manifest, kept);
    }

    /// <summary>Replaces everything the table holds by a staged snapshot.</summary>
    internal void Commit(StagedRestore staged)
    {
        SnapshotManifest manifest = staged.Manifest;
        lock (_gate)
        {
            if (_disposed)
                ThrowHelper.Disposed("store.restore", nameof(DynamicTable));
            _map.Clear();
            for (int s = 0; s < _options.MaxRows; s++)
                _free[s] = _options.MaxRows - 1 - s;
            _freeCount = _options.MaxRows;
            Array.Clear(_candKey);
            Array.Clear(_candCount);
            _candLive = 0;
            _state = manifest.Optimizer is OptimizerStep o ? new StateRows(_options.MaxRows, StoreUpdate.Template(o, _rows.Dims)) : null;
            _optimizer = manifest.Optimizer;
            foreach (SnapshotRecords records in staged.Records)
                Upsert(records.Ids, records.Rows, records.States, "store.restore");
            Volatile.Write(ref _step, manifest.Step);
        }
    }

    /// <summary>The records whose bucket this table owns.</summary>
    private SnapshotRecords Owned(SnapshotRecords records, int width)
    {
        if (_ownsBucket is null)
            return records;
        int dims = _rows.Dims;
        var keep = Enumerable.Range(0, records.Ids.Length).Where(k => _ownsBucket[BucketRouter.BucketOf(records.Ids[k])]).ToArray();
        if (keep.Length == records.Ids.Length)
            return records;
        return new SnapshotRecords([.. keep.Select(k => records.Ids[k])],
            [.. keep.SelectMany(k => records.Rows.AsSpan(k * dims, dims).ToArray())],
            [.. keep.SelectMany(k => records.States.AsSpan(k * width, width).ToArray())]);
    }
}
