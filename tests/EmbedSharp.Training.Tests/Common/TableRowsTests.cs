using System.IO.MemoryMappedFiles;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;

namespace EmbedSharp.Training.Tests.Common;

/// <summary>
/// Trainers address rows as <c>TableRows.Base(table) + (long)row · dims</c> (over
/// <c>EmbeddingTable.RowAddress</c>), never through <c>AsSpan</c>, so a 10M-word × 300-dim table —
/// 3·10⁹ elements, past 2³¹ — is addressable. Tested over memory the test does not fill: a sparse
/// memory-mapped file (only the touched pages take space).
/// </summary>
public sealed unsafe class TableRowsTests
{
    private const int Words = 10_000_000, Dims = 300;

    private sealed class NoOwner : IDisposable
    {
        public void Dispose()
        {
        }
    }

    [Fact]
    public void RowsPastTwoToThe31ElementsAreAddressedIn64Bits()
    {
        string path = Path.Combine(Path.GetTempPath(), $"embedsharp-rows-{Guid.NewGuid():N}.bin");
        long bytes = (long)Words * Dims * sizeof(float);
        Assert.True(bytes > int.MaxValue * 4L); // past 2³¹ elements, not only bytes
        try
        {
            using var file = MemoryMappedFile.CreateFromFile(path, FileMode.CreateNew, null, bytes, MemoryMappedFileAccess.ReadWrite);
            using var view = file.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.ReadWrite);
            byte* start = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            try
            {
                using var table = EmbeddingTable.FromExternalMemory((nint)start, bytes, Words, Dims, DType.Float32, new NoOwner());
                Assert.Equal(3_000_000_000L, table.ElementCount);
                // The old way of taking the base pointer cannot hold this table.
                Assert.ThrowsAny<Exception>(() => table.AsSpan<float>().Length);
                float* rows = TableRows.Base(table);
                Assert.Equal((nint)start, (nint)rows);
                int last = Words - 1;
                float* row = rows + (long)last * Dims;
                Assert.Equal(11_999_998_800L, (long)((byte*)row - start));
                for (int i = 0; i < Dims; i++)
                    row[i] = i + 0.5f;
                // The table's own (checked) row access finds the same bytes, and the row before is untouched.
                Span<float> viaTable = table.GetRow<float>(last);
                Assert.Equal(0.5f, viaTable[0]);
                Assert.Equal(Dims - 0.5f, viaTable[Dims - 1]);
                Assert.Equal(0f, table.GetRow<float>(last - 1)[Dims - 1]);
                // A row whose element offset alone passes 2³¹ (row 7,158,279 · 300 > 2,147,483,647).
                int past = (int)(int.MaxValue / Dims) + 1;
                rows[(long)past * Dims + 7] = 42f;
                Assert.Equal(42f, table.GetRow<float>(past)[7]);
            }
            finally
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
