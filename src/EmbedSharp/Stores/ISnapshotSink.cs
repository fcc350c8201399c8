using EmbedSharp.Diagnostics;

namespace EmbedSharp.Stores;

/// <summary>
/// Where a snapshot's files go: a folder, a blob container, memory. Core writes only through the
/// streams a sink hands out; file IO lives in the implementations (<c>EmbedSharp.Formats</c>'s
/// <c>FolderSnapshotStore</c>; <see cref="MemorySnapshotStore"/> here).
/// </summary>
public interface ISnapshotSink
{
    /// <summary>
    /// Creates file <paramref name="name"/> (see <see cref="SnapshotNames.Check"/>) with what
    /// <paramref name="write"/> writes. The file appears whole or not at all: an implementation writes a
    /// temporary file and renames it when <paramref name="write"/> completes, and drops it when it throws.
    /// An existing file of that name is replaced.
    /// </summary>
    ValueTask WriteAsync(string name, Func<Stream, CancellationToken, ValueTask> write, CancellationToken cancellationToken = default);
}

/// <summary>Where a snapshot's files are read from (the counterpart of <see cref="ISnapshotSink"/>).</summary>
public interface ISnapshotSource
{
    /// <summary>Opens file <paramref name="name"/> for reading; the caller disposes the stream.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    ValueTask<Stream> OpenReadAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>The rules for snapshot file names, which sinks and sources check so no name can leave their folder.</summary>
public static class SnapshotNames
{
    /// <summary>The manifest's file name.</summary>
    public const string Manifest = "manifest.json";

    /// <summary>
    /// Throws unless <paramref name="name"/> is 1–128 characters of ASCII letters, digits, '.', '-' and '_',
    /// not starting with '.' (so never a path, never "..").
    /// </summary>
    /// <exception cref="ArgumentException">The name breaks the rule.</exception>
    public static void Check(string op, string name)
    {
        Guard.NotNull(op, name);
        bool ok = name.Length is >= 1 and <= 128 && name[0] != '.';
        foreach (char c in name)
            ok &= char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_';
        if (!ok)
            ThrowHelper.Argument(op, nameof(name), $"snapshot file name '{name}' is not valid; names are 1-128 characters of A-Z a-z 0-9 . - _ and do not start with '.'");
    }
}

/// <summary>An in-memory <see cref="ISnapshotSink"/> and <see cref="ISnapshotSource"/>: tests, and moving a snapshot between stores in one process.</summary>
public sealed class MemorySnapshotStore : ISnapshotSink, ISnapshotSource
{
    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);

    /// <summary>The names of the files written so far, ascending.</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_files)
                return [.. _files.Keys.Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>The bytes of file <paramref name="name"/> (a copy); tests corrupt snapshots through it and <see cref="Put"/>.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    public byte[] Get(string name)
    {
        lock (_files)
            return _files.TryGetValue(name, out byte[]? bytes) ? (byte[])bytes.Clone() : throw Missing(name);
    }

    /// <summary>Replaces file <paramref name="name"/> by <paramref name="bytes"/>.</summary>
    public void Put(string name, byte[] bytes)
    {
        SnapshotNames.Check("snapshot.write", name);
        Guard.NotNull("snapshot.write", bytes);
        lock (_files)
            _files[name] = (byte[])bytes.Clone();
    }

    /// <inheritdoc/>
    public async ValueTask WriteAsync(string name, Func<Stream, CancellationToken, ValueTask> write, CancellationToken cancellationToken = default)
    {
        SnapshotNames.Check("snapshot.write", name);
        Guard.NotNull("snapshot.write", write);
        using var buffer = new MemoryStream();
        await write(buffer, cancellationToken).ConfigureAwait(false);
        lock (_files)
            _files[name] = buffer.ToArray();
    }

    /// <inheritdoc/>
    public ValueTask<Stream> OpenReadAsync(string name, CancellationToken cancellationToken = default)
    {
        SnapshotNames.Check("snapshot.open", name);
        lock (_files)
            return _files.TryGetValue(name, out byte[]? bytes)
                ? ValueTask.FromResult<Stream>(new MemoryStream(bytes, writable: false))
                : throw Missing(name);
    }

    private static FileNotFoundException Missing(string name) =>
        new(ThrowHelper.Format("snapshot.open", $"the snapshot has no file '{name}'; was it written completely (its manifest is written last)?"), name);
}
