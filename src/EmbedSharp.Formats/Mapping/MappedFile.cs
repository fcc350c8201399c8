using System.IO.MemoryMappedFiles;
using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.Mapping;

/// <summary>
/// A view of a file region mapped into memory, held as the owner of an <see cref="EmbeddingTable"/>
/// that wraps it: disposing the table unmaps the view. Only the pages that are touched become
/// resident, so opening is independent of the file size.
/// </summary>
internal sealed unsafe partial class MappedFile : IDisposable
{
    private const int MadvRandom = 1, MadvSequential = 2, MadvNoHugePage = 15;

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

    /// <summary>
    /// Tells Linux how the rows will be read. Random lookups get <c>MADV_RANDOM</c> (no read-ahead)
    /// and <c>MADV_NOHUGEPAGE</c>: recent kernels keep file pages in large folios and map a whole
    /// 2 MiB folio on one fault, so without it 1,000 lookups made a 1 GiB table fully resident
    /// (measured: 979 MiB, FilePmdMapped 813 MiB). Sequential scans (conversion) get
    /// <c>MADV_SEQUENTIAL</c>. Best effort: failures are ignored.
    /// </summary>
    private void Advise(bool randomAccess)
    {
        if (!OperatingSystem.IsLinux() || _view is null)
            return;
        byte* start = _base - _view.PointerOffset;
        nuint length = (nuint)(_view.Capacity + _view.PointerOffset);
        try
        {
            _ = Madvise(start, length, randomAccess ? MadvRandom : MadvSequential);
            if (randomAccess)
                _ = Madvise(start, length, MadvNoHugePage);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);

    /// <summary>Maps <c>numEmbeddings × dims</c> elements of <paramref name="dtype"/> starting at byte <paramref name="offset"/>.</summary>
    public static EmbeddingTable MapTable(string path, long offset, int numEmbeddings, int dims, DType dtype, MapAccess access, bool randomAccess = true)
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
            owner.Advise(randomAccess);
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
