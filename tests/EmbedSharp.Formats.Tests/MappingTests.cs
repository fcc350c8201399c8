using EmbedSharp.Formats.FastText;
using EmbedSharp.Formats.Mapping;
using EmbedSharp.Formats.Npy;
using EmbedSharp.Tables;
using Xunit.Abstractions;

namespace EmbedSharp.Formats.Tests;

/// <summary>Runs alone: its resident-memory readings would count other tests' allocations otherwise.</summary>
[CollectionDefinition(nameof(MappingTests), DisableParallelization = true)]
public sealed class MappingTestsCollection
{
}

[Collection(nameof(MappingTests))]
public sealed class MappingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(MapAccess.ReadOnly)]
    [InlineData(MapAccess.CopyOnWrite)]
    public void Mapped_npy_reads_the_same_rows_and_words(MapAccess access)
    {
        using var dir = new TempDir();
        using var source = RoundTripTests.Sample(37, 13);
        string path = dir.File("m.npy");
        NpyFormat.Instance.Write(path, source);
        using var mapped = NpyFormat.Instance.Open(path, access);
        Assert.Equal(source.Words, mapped.Words);
        Assert.Equal(source.Table.ToArray(), mapped.Table.ToArray());
        using var kv = mapped.ToKeyedVectors();
        Assert.Equal(source.Table.GetRow<float>(5).ToArray(), kv[source.Words![5]]);
    }

    [Fact]
    public void Copy_on_write_changes_stay_private()
    {
        using var dir = new TempDir();
        using var source = RoundTripTests.Sample(8, 4);
        string path = dir.File("cow.npy");
        NpyFormat.Instance.Write(path, source);
        var before = File.ReadAllBytes(path);
        using (var mapped = NpyFormat.Instance.Open(path, MapAccess.CopyOnWrite))
        {
            mapped.Table.WriteRow(2, [9, 9, 9, 9]);
            Assert.Equal([9f, 9, 9, 9], mapped.Table.GetRow<float>(2).ToArray());
            using var other = NpyFormat.Instance.Open(path, MapAccess.ReadOnly);
            Assert.Equal(source.Table.GetRow<float>(2).ToArray(), other.Table.GetRow<float>(2).ToArray());
        }
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Disposed_mapped_tables_throw_instead_of_touching_unmapped_memory()
    {
        using var dir = new TempDir();
        using var source = RoundTripTests.Sample(3, 2);
        string path = dir.File("d.npy");
        NpyFormat.Instance.Write(path, source);
        var mapped = NpyFormat.Instance.Open(path);
        var table = mapped.Table;
        mapped.Dispose();
        Assert.True(table.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => table.GetRow<float>(0));
        table.Dispose(); // twice is harmless
        File.Delete(path); // the mapping and file handle are gone
    }

    [Fact]
    public void Layouts_that_need_conversion_are_refused_with_a_reason()
    {
        using var dir = new TempDir();
        string path = dir.File("f.npy");
        File.WriteAllBytes(path, RoundTripTests.HandMadeNpy("<f8", false, 1, [[1, 2]]));
        var e = Assert.Throws<NotSupportedException>(() => NpyFormat.Instance.Open(path));
        Assert.Contains("<f8", e.Message);
        File.WriteAllBytes(path, RoundTripTests.HandMadeNpy("<f4", false, 1, [[1, 2]], "(5, 2)"));
        Assert.Throws<EmbeddingFormatException>(() => NpyFormat.Instance.Open(path));
    }

    [Fact]
    public void Resident_memory_follows_what_is_touched()
    {
        if (!File.Exists("/proc/self/smaps"))
        {
            output.WriteLine("no /proc/self/smaps: residency is not measurable here; only correctness was checked");
            return;
        }
        using var dir = new TempDir();
        string path = dir.File("big.npy");
        const int Rows = 16384, Dims = 1024; // 64 MiB of float32
        using (var fs = File.Create(path))
        using (var writer = NpyFormat.Instance.OpenWriter(fs, Rows, Dims))
        {
            var row = new float[Dims];
            for (int r = 0; r < Rows; r++)
            {
                row[0] = r;
                writer.WriteRow(null, row);
            }
            writer.Complete();
        }
        // The file's own mapping, read from /proc/self/smaps: the process's total RSS also moves with whatever
        // the tests running beside this one allocate and free, which made this test fail once on a busy machine.
        string suffix = Path.Combine(Path.GetFileName(Path.GetDirectoryName(path))!, "big.npy");
        Assert.Equal(-1, MappedRss(suffix));
        using var mapped = NpyFormat.Instance.Open(path);
        Assert.Equal(12345f, mapped.Table.GetRow<float>(12345)[0]);
        long opened = MappedRss(suffix);
        float sum = 0;
        for (int r = 0; r < Rows; r++)
            sum += mapped.Table.GetRow<float>(r)[Dims - 1] + mapped.Table.GetRow<float>(r)[0] * 0;
        long touched = MappedRss(suffix);
        output.WriteLine($"the file's mapping: {opened >> 10} KiB resident after opening and reading one row, {touched >> 20} MiB after touching every row");
        Assert.True(opened >= 0, "opening a .npy table should map the file");
        Assert.True(opened < 16L << 20, "opening a 64 MiB table and reading one row made more than 16 MiB of it resident");
        Assert.True(touched > 32L << 20, "touching every row should bring the pages in");
        Assert.Equal(0, sum);
    }

    /// <summary>Resident bytes of the mappings of the file whose path ends with <paramref name="suffix"/>; −1 when it is not mapped.</summary>
    private static long MappedRss(string suffix)
    {
        long total = -1;
        bool ours = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            // A mapping's header starts with its address range ("7f12…-7f13… r--s …"); its fields follow, one per line.
            int dash = line.IndexOf('-');
            if (dash > 0 && line.AsSpan(0, dash).IndexOfAnyExcept("0123456789abcdef") < 0)
            {
                ours = line.EndsWith(suffix, StringComparison.Ordinal);
                continue;
            }
            if (ours && line.StartsWith("Rss:", StringComparison.Ordinal))
                total = Math.Max(total, 0) + long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        return total;
    }

    [Fact]
    public void Mapped_fasttext_models_give_the_same_vectors()
    {
        string path = TestFiles.Data("fasttext", "tiny-skipgram.bin");
        using var loaded = FastTextModel.Load(path);
        using var mapped = FastTextModel.Open(path);
        Assert.Null(mapped.Output);
        foreach (var w in File.ReadAllLines(TestFiles.Data("fasttext", "queries.txt")))
            Assert.Equal(loaded.GetWordVector(w), mapped.GetWordVector(w));
        Assert.Throws<InvalidOperationException>(() => mapped.Save(new MemoryStream()));
        Assert.Throws<NotSupportedException>(() => FastTextModel.Open(TestFiles.Data("fasttext", "tiny-supervised.ftz")));
    }

    [Fact]
    public void External_memory_factory_validates_its_arguments()
    {
        var owner = new MemoryStream();
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddingTable.FromExternalMemory(1, 7, 2, 1, DType.Float32, owner));
        Assert.Throws<ArgumentNullException>(() => EmbeddingTable.FromExternalMemory(0, 8, 2, 1, DType.Float32, owner));
        Assert.Throws<ArgumentNullException>(() => EmbeddingTable.FromExternalMemory(1, 8, 2, 1, DType.Float32, null!));
    }
}
