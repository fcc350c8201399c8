using System.Buffers.Binary;
using System.Text;
using EmbedSharp.Formats.FastText;
using EmbedSharp.Formats.Glove;
using EmbedSharp.Formats.Npy;
using EmbedSharp.Formats.Word2Vec;

namespace EmbedSharp.Formats.Tests;

/// <summary>Malformed, truncated and lying files give a clear <see cref="EmbeddingFormatException"/>, fast, without large allocations.</summary>
public sealed class HostileFileTests
{
    private static EmbeddingFormatException Fails(EmbeddingFormat format, byte[] bytes, ReadOptions? options = null, bool forwardOnly = false)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        Stream s = new MemoryStream(bytes);
        if (forwardOnly)
            s = new ForwardOnlyStream(s);
        var e = Assert.Throws<EmbeddingFormatException>(() => format.Read(s, options, "hostile.file").Dispose());
        Assert.Contains("hostile.file at byte", e.Message);
        Assert.StartsWith("[", e.Message);
        // Nothing sized by a lying header: well under the sizes the headers claim.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20, "allocated more than 64 MiB");
        return e;
    }

    private static byte[] Ascii(string s) => Encoding.UTF8.GetBytes(s);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_2_pow_40_row_header_fails_without_allocating(bool forwardOnly)
    {
        var e = Fails(Word2VecFormat.Text, Ascii("1099511627776 300\nthe " + string.Join(' ', Enumerable.Repeat("0.5", 300)) + "\n"), forwardOnly: forwardOnly);
        Assert.Contains(forwardOnly ? "file ends after 1 rows" : "header declares 1099511627776 rows", e.Message);
        var bin = new MemoryStream();
        bin.Write(Ascii("1099511627776 4\nw "));
        bin.Write(new byte[16]);
        Fails(Word2VecFormat.Binary, bin.ToArray(), forwardOnly: forwardOnly);
    }

    [Theory]
    [InlineData("3 -5\n", "dims -5 must be in 1..")]
    [InlineData("3 0\n", "dims 0 must be in 1..")]
    [InlineData("3 99999999\n", "dims 99999999 must be in 1..")]
    [InlineData("-1 4\n", "numEmbeddings -1 must be ≥ 0")]
    [InlineData("three 4\n", "is not two integers")]
    [InlineData("\n", "is not 'numEmbeddings dims'")]
    public void Bad_word2vec_headers_name_the_problem(string header, string problem)
    {
        foreach (var format in new[] { Word2VecFormat.Text, Word2VecFormat.Binary })
        {
            var e = Fails(format, Ascii(header + "a 1 2 3 4\n"));
            Assert.Contains(problem, e.Message);
            Assert.Equal(0, e.Offset);
        }
    }

    [Fact]
    public void Truncated_and_ragged_rows_name_row_and_offset()
    {
        var e = Fails(Word2VecFormat.Text, Ascii("3 2\na 1 2\nb 3\nc 4 5\n"));
        Assert.Contains("row 1: the row has 1 values but 2 are expected", e.Message);
        Assert.Equal(10, e.Offset);
        e = Fails(Word2VecFormat.Text, Ascii("3 2\na 1.5 2.5\nb 3.5 4.5\n"));
        Assert.Contains("file ends after 2 rows but the header declares 3", e.Message);
        e = Fails(Word2VecFormat.Text, Ascii("1 2\na 1 2 3\n"));
        Assert.Contains("the row has 3 values but 2 are expected", e.Message);
        e = Fails(Word2VecFormat.Text, Ascii("1 2\na 1 x2\n"));
        Assert.Contains("value 1 ('x2') is not a number", e.Message);
        e = Fails(GloveFormat.Instance, Ascii("a 1 2\nb 3\n"));
        Assert.Contains("row 1", e.Message);
        var bin = new MemoryStream();
        bin.Write(Ascii("2 3\nw "));
        bin.Write(new byte[12]);
        bin.Write(Ascii("\nvvvvvvvvvv "));
        bin.Write(new byte[5]);
        e = Fails(Word2VecFormat.Binary, bin.ToArray());
        Assert.Contains("the 3 values of row 1 ('vvvvvvvvvv')", e.Message);
    }

    [Fact]
    public void A_word_without_end_stops_at_the_cap()
    {
        var bytes = new byte[200_000];
        Array.Fill(bytes, (byte)'z');
        Ascii("5 2\n").CopyTo(bytes, 0);
        var e = Fails(Word2VecFormat.Binary, bytes);
        Assert.Contains("longer than 65536 bytes", e.Message);
    }

    [Fact]
    public void Invalid_utf8_words_follow_the_unicode_policy()
    {
        var text = new MemoryStream();
        text.Write(Ascii("2 1\nok 1\nbad"));
        text.Write([0xC3, 0x28, 0xFF]);
        text.Write(Ascii(" 2\n"));
        var bytes = text.ToArray();
        var e = Fails(Word2VecFormat.Text, bytes);
        Assert.Contains("not valid UTF-8 (invalid byte 0xC3 at position 3", e.Message);
        Assert.Equal(9, e.Offset);
        using var replaced = Word2VecFormat.Text.Read(new MemoryStream(bytes), new ReadOptions { UnicodeErrors = UnicodeErrors.Replace });
        Assert.Equal("bad\uFFFD(\uFFFD", replaced.Words![1]);
        using var ignored = Word2VecFormat.Text.Read(new MemoryStream(bytes), new ReadOptions { UnicodeErrors = UnicodeErrors.Ignore });
        Assert.Equal("bad(", ignored.Words![1]);
    }

    [Fact]
    public void Duplicate_words_throw_or_keep_the_first()
    {
        var bytes = Ascii("3 1\nx 1\ny 2\nx 3\n");
        var e = Fails(Word2VecFormat.Text, bytes);
        Assert.Contains("row 2: word 'x' repeats row 0", e.Message);
        using var kept = Word2VecFormat.Text.Read(new MemoryStream(bytes), new ReadOptions { DuplicateWords = DuplicateWords.KeepFirst });
        Assert.Equal(["x", "y"], kept.Words);
        Assert.Equal([1f, 2], kept.Table.ToArray());
    }

    [Fact]
    public void Non_finite_values_throw_unless_allowed()
    {
        var bytes = Ascii("2 2\na 1 nan\nb inf -Infinity\n");
        var e = Fails(Word2VecFormat.Text, bytes);
        Assert.Contains("row 0 ('a') has the non-finite value NaN at column 1", e.Message);
        using var allowed = Word2VecFormat.Text.Read(new MemoryStream(bytes), new ReadOptions { NonFinite = NonFiniteValues.Allow });
        Assert.Equal([1f, float.NaN, float.PositiveInfinity, float.NegativeInfinity], allowed.Table.ToArray());
        Fails(Word2VecFormat.Text, Ascii("1 1\nbig 1e39\n")); // overflows float32 to +inf
    }

    [Fact]
    public void Lying_npy_headers_fail()
    {
        double[][] one = [[1, 2]];
        Assert.Contains("shape (1099511627776, 2) is out of range", Fails(NpyFormat.Instance, RoundTripTests.HandMadeNpy("<f4", false, 1, one, "(1099511627776, 2)")).Message);
        Assert.Contains("needs 8000000 bytes of data but only 8 follow", Fails(NpyFormat.Instance, RoundTripTests.HandMadeNpy("<f4", false, 1, one, "(1000000, 2)")).Message);
        Assert.Contains("3 dimensions", Fails(NpyFormat.Instance, RoundTripTests.HandMadeNpy("<f4", false, 1, one, "(1, 1, 2)")).Message);
        Assert.Contains("dtype '<i4' is not supported", Fails(NpyFormat.Instance, RoundTripTests.HandMadeNpy("<i4", false, 1, one)).Message);
        Fails(NpyFormat.Instance, RoundTripTests.HandMadeNpy("<f4", true, 1, one, "(1099511627776, 2)"), forwardOnly: true);
        var longHeader = RoundTripTests.HandMadeNpy("<f4", false, 2, one);
        BinaryPrimitives.WriteUInt32LittleEndian(longHeader.AsSpan(8), 0xFFFFFFF0);
        Assert.Contains("header length 4294967280", Fails(NpyFormat.Instance, longHeader).Message);
        Assert.Contains("not a .npy file", Fails(NpyFormat.Instance, Ascii("NUMPY\0\0\0\0\0")).Message);
    }

    [Fact]
    public void Lying_fasttext_fields_fail()
    {
        var good = File.ReadAllBytes(TestFiles.Shared("embeddings", "fasttext", "toy-model.bin"));
        byte[] With(int offset, long value, int size)
        {
            var b = (byte[])good.Clone();
            if (size == 4)
                BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(offset), (int)value);
            else
                BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(offset), value);
            return b;
        }
        Assert.Contains("magic number", Fails(FastTextFormat.Bin, With(0, 1234, 4)).Message);
        Assert.Contains("version 99 is not supported", Fails(FastTextFormat.Bin, With(4, 99, 4)).Message);
        Assert.Contains("args.dim 0 must be in", Fails(FastTextFormat.Bin, With(8, 0, 4)).Message);
        Assert.Contains("args.dim -7 must be in", Fails(FastTextFormat.Bin, With(8, -7, 4)).Message);
        Assert.Contains("args.model 9 is unknown", Fails(FastTextFormat.Bin, With(8 + 28, 9, 4)).Message);
        int dict = 8 + FastTextConstants.ArgsBytes;
        Assert.Contains("dictionary sizes are inconsistent", Fails(FastTextFormat.Bin, With(dict, 1 << 30, 4)).Message);
        var huge = With(dict, int.MaxValue, 4);
        BinaryPrimitives.WriteInt32LittleEndian(huge.AsSpan(dict + 4), int.MaxValue);
        BinaryPrimitives.WriteInt32LittleEndian(huge.AsSpan(dict + 8), 0);
        Assert.Contains("dictionary declares 2147483647 entries", Fails(FastTextFormat.Bin, huge).Message);
        Assert.Contains("pruneidx_size -5", Fails(FastTextFormat.Bin, With(dict + 20, -5, 8)).Message);
        // The input matrix shape sits after the dictionary; find it from the end of the file.
        int outputBytes = 16 + 22 * 5 * 4;
        int inputShape = good.Length - outputBytes - 1 - (16 + (22 + 100) * 5 * 4);
        Assert.Contains("input matrix has 123 rows but the dictionary and args imply 122", Fails(FastTextFormat.Bin, With(inputShape, 123, 8)).Message);
        Assert.Contains("input matrix shape", Fails(FastTextFormat.Bin, With(inputShape + 8, 6, 8)).Message);
        var tail = (byte[])good.Clone();
        Array.Resize(ref tail, good.Length + 1);
        Assert.Contains("unexpected bytes after the output matrix", Fails(FastTextFormat.Bin, tail).Message);
    }

    [Fact]
    public void A_huge_dim_in_a_forward_only_quantized_model_runs_out_of_data_first()
    {
        // Make args.dim, the matrix width and the quantizer agree on 2^20 columns, so the reader
        // reaches the 2^28-float centroid table: it must fail on the missing data, not allocate 1 GiB.
        var b = File.ReadAllBytes(TestFiles.Data("fasttext", "tiny-supervised.ftz"));
        int at = 8 + FastTextConstants.ArgsBytes;
        int size = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(at));
        long prune = BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(at + 20));
        at += 28;
        for (int i = 0; i < size; i++)
            at = Array.IndexOf(b, (byte)0, at) + 1 + 9;
        at += (int)Math.Max(prune, 0) * 8;
        Assert.Equal(1, b[at]); // quant_input
        int shape = at + 2;
        int codes = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(shape + 16));
        int pq = shape + 20 + codes;
        const int Dims = FastTextConstants.MaxDims;
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), Dims);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(shape + 8), Dims);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(pq), Dims);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(pq + 4), 4);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(pq + 8), Dims / 4);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(pq + 12), Dims / 4);
        var e = Fails(FastTextFormat.Bin, b, forwardOnly: true);
        Assert.Contains("input matrix quantizer centroids", e.Message);
        e = Fails(FastTextFormat.Bin, b);
        Assert.Contains("needs 1073741824 bytes of centroids", e.Message);
    }

    public static TheoryData<string, string> SmallFiles() => new()
    {
        { "fasttext-bin", "shared:embeddings/fasttext/toy-model.bin" },
        { "fasttext-bin", "data:fasttext/tiny-supervised.ftz" },
        { "word2vec", "sample" },
        { "word2vec-binary", "sample" },
        { "glove", "sample" },
        { "fasttext-vec", "sample" },
        { "npy", "sample" },
    };

    internal static byte[] SeedBytes(string format, string source)
    {
        if (source.StartsWith("shared:"))
            return File.ReadAllBytes(TestFiles.Shared(source[7..].Split('/')));
        if (source.StartsWith("data:"))
            return File.ReadAllBytes(TestFiles.Data(source[5..].Split('/')));
        using var emb = RoundTripTests.Sample(6, 5);
        using var ms = new MemoryStream();
        FormatRegistry.Default.Get(format).Write(ms, emb);
        return ms.ToArray();
    }

    [Theory]
    [MemberData(nameof(SmallFiles))]
    public void Every_truncation_of_a_valid_file_fails_cleanly_or_reads_a_prefix(string format, string source)
    {
        var f = FormatRegistry.Default.Get(format);
        var bytes = SeedBytes(format, source);
        using var full = f.Read(new MemoryStream(bytes));
        int step = Math.Max(1, bytes.Length / 1500);
        for (int cut = 0; cut < bytes.Length; cut += step)
        {
            try
            {
                using var part = f.Read(new MemoryStream(bytes, 0, cut), null, "cut");
                // Text formats may end cleanly on a row boundary or inside a number; never with more rows.
                Assert.True(part.NumEmbeddings <= full.NumEmbeddings);
            }
            catch (EmbeddingFormatException e)
            {
                Assert.Contains("cut at byte", e.Message);
            }
        }
    }
}
