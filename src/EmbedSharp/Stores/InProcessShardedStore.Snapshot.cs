using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

public sealed partial class InProcessShardedStore
{
    private const string SnapshotOp = "store.snapshot";
    private const string RestoreOp = "store.restore";

    /// <inheritdoc/>
    public async ValueTask<SnapshotManifest> SnapshotAsync(ISnapshotSink sink, CancellationToken cancellationToken = default)
    {
        CheckDisposed(SnapshotOp);
        Guard.NotNull(SnapshotOp, sink);
        int dims = _rows.Dims;
        (int[] idsByBucket, int[] bucketStart) = IdsByBucket(_rows.NumEmbeddings);
        var chunks = new List<SnapshotChunkEntry>();
        foreach (var (range, shard) in Plan.Entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long[] ids = new long[bucketStart[range.End] - bucketStart[range.First]];
            for (int k = 0; k < ids.Length; k++)
                ids[k] = idsByBucket[bucketStart[range.First] + k];
            Array.Sort(ids);
            float[] rows = new float[(long)ids.Length * dims];
            float[] states;
            OptimizerKind kind;
            long step;
            EnterRead(shard);
            try
            {
                StateRows? state = _state;
                kind = _optimizer?.Kind ?? OptimizerKind.None;
                step = StepCount;
                int width = state?.Width ?? 0;
                states = new float[(long)ids.Length * width];
                for (int k = 0; k < ids.Length; k++)
                {
                    _rows.RowUnchecked<float>((int)ids[k]).CopyTo(rows.AsSpan(k * dims, dims));
                    state?.CopyRow((int)ids[k], states.AsSpan(k * width, width));
                }
            }
            finally
            {
                ExitRead(shard);
            }
            string name = SnapshotChunk.NameFor(range);
            SnapshotChunkHeader? header = null;
            await sink.WriteAsync(name, (stream, _) =>
            {
                header = SnapshotChunk.Write(stream, Name, dims, kind, states.Length / Math.Max(1, ids.Length), step, range, ids, rows, states);
                return ValueTask.CompletedTask;
            }, cancellationToken).ConfigureAwait(false);
            chunks.Add(new SnapshotChunkEntry(name, range, header!.RowCount, header.Checksum));
        }
        var manifest = new SnapshotManifest(Name, _rows.NumEmbeddings, dims, DType.Float32, _state?.Width ?? 0, StepCount, _optimizer, Plan, chunks);
        await manifest.WriteToAsync(sink, cancellationToken).ConfigureAwait(false);
        return manifest;
    }

    /// <inheritdoc/>
    public async ValueTask RestoreAsync(ISnapshotSource source, CancellationToken cancellationToken = default)
    {
        CheckDisposed(RestoreOp);
        Guard.NotNull(RestoreOp, source);
        SnapshotManifest manifest;
        await using (Stream m = await source.OpenReadAsync(SnapshotNames.Manifest, cancellationToken).ConfigureAwait(false))
            manifest = SnapshotManifest.Read(m);
        CheckManifest(manifest, Name, _rows.NumEmbeddings, _rows.Dims);
        int dims = _rows.Dims;
        var staged = new EmbeddingTable(_rows.NumEmbeddings, dims);
        try
        {
            StateRows? state = manifest.Optimizer is OptimizerStep o ? new StateRows(_rows.NumEmbeddings, StoreUpdate.Template(o, dims)) : null;
            foreach (SnapshotChunkEntry entry in manifest.Chunks)
            {
                SnapshotRecords records = await ReadChunkAsync(source, manifest, entry, cancellationToken).ConfigureAwait(false);
                int width = manifest.StateWidth;
                for (int k = 0; k < records.Ids.Length; k++)
                {
                    int slot = (int)records.Ids[k];
                    records.Rows.AsSpan(k * dims, dims).CopyTo(staged.RowUnchecked<float>(slot));
                    if (state is not null && width > 0)
                        records.States.AsSpan(k * width, width).CopyTo(state.Row(slot));
                }
            }
            EnterWriteAll();
            try
            {
                (staged, _rows) = (_rows, staged);
                _state = state;
                _optimizer = manifest.Optimizer;
                Volatile.Write(ref _step, manifest.Step);
            }
            finally
            {
                ExitWriteAll();
            }
        }
        finally
        {
            staged.Dispose();
        }
    }

    /// <summary>Checks that <paramref name="manifest"/> describes this table (name, bounds, dims).</summary>
    internal static void CheckManifest(SnapshotManifest manifest, string name, long? numEmbeddings, int dims)
    {
        if (manifest.Table != name)
            throw new InvalidDataException(ThrowHelper.Format(RestoreOp, $"the snapshot is of table '{manifest.Table}' but this store holds '{name}'"));
        if (manifest.NumEmbeddings != numEmbeddings)
            throw new InvalidDataException(ThrowHelper.Format(RestoreOp,
                $"the snapshot's table has {(manifest.NumEmbeddings?.ToString() ?? "unbounded")} ids but this store has {(numEmbeddings?.ToString() ?? "unbounded")}"));
        if (manifest.Dims != dims)
            throw new InvalidDataException(ThrowHelper.Format(RestoreOp, $"the snapshot's rows have {manifest.Dims} dims but this store's have {dims}"));
    }

    /// <summary>Reads one chunk the manifest lists and checks its header against the manifest.</summary>
    internal static async ValueTask<SnapshotRecords> ReadChunkAsync(ISnapshotSource source, SnapshotManifest manifest, SnapshotChunkEntry entry, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await using Stream s = await source.OpenReadAsync(entry.Name, cancellationToken).ConfigureAwait(false);
        var (header, records) = SnapshotChunk.Read(s, entry.Name, manifest.NumEmbeddings, manifest.Dims, manifest.StateWidth);
        string? mismatch =
            header.Table != manifest.Table ? $"table '{header.Table}', not '{manifest.Table}'" :
            header.Buckets != entry.Buckets ? $"buckets {header.Buckets}, not {entry.Buckets}" :
            header.RowCount != entry.RowCount ? $"{header.RowCount} rows, not {entry.RowCount}" :
            header.Checksum != entry.Checksum ? $"checksum {header.Checksum:X16}, not {entry.Checksum:X16}" :
            header.Optimizer != (manifest.Optimizer?.Kind ?? OptimizerKind.None) ? $"optimizer {header.Optimizer}, not {manifest.Optimizer?.Kind ?? OptimizerKind.None}" :
            null;
        if (mismatch is not null)
            throw new InvalidDataException(ThrowHelper.Format(RestoreOp, $"{entry.Name}: the chunk holds {mismatch} as the manifest lists; the snapshot mixes files of different snapshots"));
        return records;
    }

    /// <summary>Ids 0..n-1 grouped by bucket (a counting sort on <see cref="BucketRouter.BucketOf"/>): ids of bucket b are <c>ids[start[b] .. start[b+1])</c>.</summary>
    internal static (int[] Ids, int[] Start) IdsByBucket(int n)
    {
        var bucketOf = new ushort[n];
        var start = new int[BucketRouter.BucketCount + 1];
        for (int id = 0; id < n; id++)
        {
            int b = BucketRouter.BucketOf(id);
            bucketOf[id] = (ushort)b;
            start[b + 1]++;
        }
        for (int b = 0; b < BucketRouter.BucketCount; b++)
            start[b + 1] += start[b];
        var next = start.AsSpan(0, BucketRouter.BucketCount).ToArray();
        var ids = new int[n];
        for (int id = 0; id < n; id++)
            ids[next[bucketOf[id]]++] = id;
        return (ids, start);
    }
}
