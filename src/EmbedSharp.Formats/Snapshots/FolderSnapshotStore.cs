using EmbedSharp.Diagnostics;
using EmbedSharp.Stores;

namespace EmbedSharp.Formats.Snapshots;

/// <summary>
/// A snapshot in a folder: each file (<c>buckets-FFFF-LLLL.esnap</c> chunks, <c>manifest.json</c>) is written to a
/// temporary sibling and renamed into place, so a reader sees whole files or none; the manifest, written last,
/// marks the snapshot complete. A shared folder (NFS, SMB) serves a cluster the same way.
/// </summary>
/// <remarks>Names are checked by <see cref="SnapshotNames.Check"/>, so no file name can leave the folder.</remarks>
public sealed class FolderSnapshotStore : ISnapshotSink, ISnapshotSource
{
    /// <summary>Uses <paramref name="folder"/>, creating it when it does not exist.</summary>
    public FolderSnapshotStore(string folder)
    {
        Guard.NotNull("snapshot.folder", folder);
        Folder = Path.GetFullPath(folder);
        Directory.CreateDirectory(Folder);
    }

    /// <summary>The folder's full path.</summary>
    public string Folder { get; }

    /// <summary>True when the folder holds a manifest (a complete snapshot).</summary>
    public bool IsComplete => File.Exists(Path.Combine(Folder, SnapshotNames.Manifest));

    /// <inheritdoc/>
    public async ValueTask WriteAsync(string name, Func<Stream, CancellationToken, ValueTask> write, CancellationToken cancellationToken = default)
    {
        SnapshotNames.Check("snapshot.write", name);
        Guard.NotNull("snapshot.write", write);
        string full = Path.Combine(Folder, name);
        string temp = Path.Combine(Folder, "." + name + "." + Guid.NewGuid().ToString("N")[..12] + ".tmp");
        try
        {
            await using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: false))
            {
                await write(fs, cancellationToken).ConfigureAwait(false);
                fs.Flush(flushToDisk: false);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <inheritdoc/>
    public ValueTask<Stream> OpenReadAsync(string name, CancellationToken cancellationToken = default)
    {
        SnapshotNames.Check("snapshot.open", name);
        string full = Path.Combine(Folder, name);
        if (!File.Exists(full))
            throw new FileNotFoundException(ThrowHelper.Format("snapshot.open", $"{full} does not exist; was the snapshot written completely (its manifest is written last)?"), full);
        return ValueTask.FromResult<Stream>(new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16));
    }
}
