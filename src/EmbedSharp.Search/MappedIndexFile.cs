using System.IO.MemoryMappedFiles;

namespace EmbedSharp.Search;

/// <summary>A read-only memory mapping of a whole index file and the pointer to its first byte.</summary>
internal sealed unsafe class MappedIndexFile : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private bool _released;

    public MappedIndexFile(string path)
    {
        Length = new FileInfo(path).Length;
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            Pointer = p + _view.PointerOffset;
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    public byte* Pointer { get; }

    public long Length { get; }

    public ReadOnlySpan<byte> Span(long offset, int length) => new(Pointer + offset, length);

    public void Dispose()
    {
        if (_released)
            return;
        _released = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}

/// <summary>Writes a file through a temporary file in the same folder, renamed over the target at the end.</summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
                File.Delete(temp);
        }
    }
}
