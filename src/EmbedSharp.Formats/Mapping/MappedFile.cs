using System.IO.MemoryMappedFiles;
using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.Mapping;

/// <summary>
/// A view of a file region mapped into memory, held as the owner of an <see cref="EmbeddingTable"/>
/// that wraps it: disposing the table unmaps the view. Only the pages that are touched become
/// resident, so opening is independent of the file size.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private MemoryMappedFile? _file;
    private MemoryMappedViewAccessor? _view;
    private byte* _base;

    private MappedFile(MemoryMappedFile file, MemoryMappedViewAccessor view)
    {
        _file = file;
        _view = view;
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + view.PointerOffset;
    }

    /// <summary>Maps <c>numEmbeddings × dims</c> elements of <paramref name="dtype"/> starting at byte <paramref name="offset"/>.</summary>
    public static EmbeddingTable MapTable(string path, long offset, int numEmbeddings, int dims, DType dtype, MapAccess access)
    {
        const string op = "mmap.open";
        if (!Enum.IsDefined(access))
            ThrowHelper.ArgumentOutOfRange(op, nameof(access), access, "valid values are ReadOnly, CopyOnWrite");
        long bytes = (long)numEmbeddings * dims * dtype.SizeInBytes();
        long length = new FileInfo(path).Length;
        if (offset < 0 || offset + bytes > length)
            throw new EmbeddingFormatException(op, path, offset, $"the table needs {bytes} bytes from offset {offset} but the file has {length}");
        if (bytes == 0)
            return new EmbeddingTable(numEmbeddings, dims, dtype);
        var mmAccess = access == MapAccess.ReadOnly ? MemoryMappedFileAccess.Read : MemoryMappedFileAccess.CopyOnWrite;
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        MemoryMappedFile? file = null;
        try
        {
            file = MemoryMappedFile.CreateFromFile(fs, null, 0, access == MapAccess.ReadOnly ? MemoryMappedFileAccess.Read : MemoryMappedFileAccess.CopyOnWrite, HandleInheritability.None, leaveOpen: false);
            var view = file.CreateViewAccessor(offset, bytes, mmAccess);
            var owner = new MappedFile(file, view);
            return EmbeddingTable.FromExternalMemory((nint)owner._base, bytes, numEmbeddings, dims, dtype, owner);
        }
        catch
        {
            if (file is null)
                fs.Dispose();
            else
                file.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        var view = Interlocked.Exchange(ref _view, null);
        if (view is null)
            return;
        _base = null;
        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        _file?.Dispose();
        _file = null;
    }
}
