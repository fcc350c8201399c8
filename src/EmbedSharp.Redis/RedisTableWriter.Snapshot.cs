using EmbedSharp.Diagnostics;
using EmbedSharp.Stores;
using StackExchange.Redis;

namespace EmbedSharp.Redis;

public sealed partial class RedisTableWriter
{
    /// <summary>
    /// Publishes a store snapshot (its <c>manifest.json</c> and bucket-range chunks, written by any
    /// <see cref="IEmbeddingStore.SnapshotAsync"/> on any number of shards) as a new version and flips to it. Rows
    /// only: the optimizer state in the chunks is not served and is skipped.
    /// </summary>
    /// <param name="redis">The connection.</param>
    /// <param name="source">Where the snapshot's files are (a folder, memory).</param>
    /// <param name="table">The name in Redis; the manifest's table name when null.</param>
    /// <param name="options">Layout and write options.</param>
    /// <param name="progress">Receives the number of rows written so far.</param>
    /// <param name="cancellationToken">Stops the publish; the unpublished version is deleted.</param>
    /// <returns>The published layout (bounded like the snapshot's table).</returns>
    /// <exception cref="InvalidDataException">The manifest or a chunk is malformed, or a chunk does not match the manifest; nothing is published.</exception>
    /// <exception cref="RedisStoreException">Redis did not accept the writes; nothing is published.</exception>
    public static async Task<RedisTableLayout> PublishSnapshotAsync(IConnectionMultiplexer redis, ISnapshotSource source, string? table = null,
        RedisPublishOptions? options = null, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        Guard.NotNull(Op, redis);
        Guard.NotNull(Op, source);
        SnapshotManifest manifest;
        await using (Stream stream = await source.OpenReadAsync(SnapshotNames.Manifest, cancellationToken).ConfigureAwait(false))
            manifest = SnapshotManifest.Read(stream);
        table ??= manifest.Table;
        await using RedisTableWriter writer = await BeginAsync(redis, table, manifest.Dims, manifest.NumEmbeddings, options, cancellationToken).ConfigureAwait(false);
        const int slice = 1024;
        int dims = manifest.Dims;
        long written = 0;
        foreach (SnapshotChunkEntry entry in manifest.Chunks)
        {
            SnapshotRecords records;
            await using (Stream stream = await source.OpenReadAsync(entry.Name, cancellationToken).ConfigureAwait(false))
            {
                var (header, read) = SnapshotChunk.Read(stream, entry.Name, manifest.NumEmbeddings, manifest.Dims, manifest.StateWidth);
                string? mismatch =
                    header.Table != manifest.Table ? $"table '{header.Table}', not '{manifest.Table}'" :
                    header.Buckets != entry.Buckets ? $"buckets {header.Buckets}, not {entry.Buckets}" :
                    header.RowCount != entry.RowCount ? $"{header.RowCount} rows, not {entry.RowCount}" :
                    header.Checksum != entry.Checksum ? $"checksum {header.Checksum:X16}, not {entry.Checksum:X16}" :
                    null;
                if (mismatch is not null)
                    throw new InvalidDataException(ThrowHelper.Format(Op,
                        $"{entry.Name}: the chunk holds {mismatch} as the manifest lists; the snapshot mixes files of different snapshots, so nothing is published"));
                records = read;
            }
            for (int start = 0; start < records.Ids.Length; start += slice)
            {
                int n = Math.Min(slice, records.Ids.Length - start);
                await writer.WriteAsync(records.Ids.AsMemory(start, n), records.Rows.AsMemory(start * dims, n * dims), cancellationToken).ConfigureAwait(false);
                written += n;
                progress?.Report(written);
            }
        }
        return await writer.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
