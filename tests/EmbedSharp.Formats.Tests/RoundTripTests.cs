using System.Text;
using EmbedSharp.Formats.FastText;
using EmbedSharp.Formats.Glove;
using EmbedSharp.Formats.Npy;
using EmbedSharp.Formats.Word2Vec;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.Tests;

public sealed class RoundTripTests
{
    public static TheoryData<string> WordFormats() => ["word2vec", "word2vec-binary", "glove", "fasttext-vec", "fasttext-bin", "npy"];

    /// <summary>Awkward values (subnormals, extremes, negative zero, long decimals) and awkward words.</summary>
    internal static WordEmbeddings Sample(int rows, int dims, ulong seed = 1, DType dtype = DType.Float32)
    {
        var rng = new SeededRandom(seed);
        var table = new EmbeddingTable(rows, dims, dtype);
        var row = new float[dims];
        float[] special = [0f, -0f, float.Epsilon, -float.Epsilon, 1e-38f, float.MaxValue, float.MinValue, 1f / 3, 0.1f, 123456.79f];
        var words = new List<string>();
        string[] stems = ["the", "Paris", "naïve", "Привет", "日本語", "emoji😀", "x", "</s>", "a-b_c", "ÿ"];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < dims; j++)
                row[j] = (r * dims + j) % 7 == 3 ? special[(r + j) % special.Length] : (float)(rng.NextNormal() * Math.Pow(10, rng.NextInt(9) - 4));
            table.WriteRow(r, row);
            words.Add(r < stems.Length ? stems[r] : stems[r % stems.Length] + r);
        }
        return new WordEmbeddings(words, table);
    }

    [Theory]
    [MemberData(nameof(WordFormats))]
    public void Every_format_round_trips_words_and_values_exactly(string name)
    {
        var format = FormatRegistry.Default.Get(name);
        foreach (var (rows, dims) in new[] { (0, 1), (1, 1), (13, 7), (40, 33) })
        {
            if (rows == 0 && name == "glove")
                continue; // GloVe has no header: an empty file has no vector length.
            using var source = Sample(rows, dims);
            using var dir = new TempDir();
            string path = dir.File("v" + format.Extensions[0]);
            format.Write(path, source);
            Assert.Same(format, FormatDetector.Detect(path));
            using var back = format.Read(path);
            Assert.Equal(rows, back.NumEmbeddings);
            Assert.Equal(dims, back.Dims);
            Assert.Equal(source.Words, back.Words);
            if (name == "fasttext-bin")
                Assert.Equal(source.Table.ToArray(), back.Table.ToArray()); // fastText sums rows into +0, so -0 reads back as +0
            else
                Assert.Equal(Bits(source.Table.ToArray()), Bits(back.Table.ToArray()));
        }
    }

    private static int[] Bits(float[] v) => Array.ConvertAll(v, BitConverter.SingleToInt32Bits);

    [Theory]
    [MemberData(nameof(WordFormats))]
    public void Forward_only_streams_read_the_same(string name)
    {
        var format = FormatRegistry.Default.Get(name);
        using var source = Sample(25, 9);
        using var ms = new MemoryStream();
        format.Write(ms, source);
        ms.Position = 0;
        using var seekable = format.Read(ms);
        ms.Position = 0;
        using var forward = format.Read(new ForwardOnlyStream(ms));
        Assert.Equal(seekable.Table.ToArray(), forward.Table.ToArray());
        Assert.Equal(name == "npy" ? null : source.Words, forward.Words);
    }

    [Theory]
    [MemberData(nameof(WordFormats))]
    public void Limit_reads_the_first_rows(string name)
    {
        var format = FormatRegistry.Default.Get(name);
        using var source = Sample(20, 4);
        using var dir = new TempDir();
        string path = dir.File("v" + format.Extensions[0]);
        format.Write(path, source);
        using var first = format.Read(path, new ReadOptions { Limit = 6 });
        Assert.Equal(6, first.NumEmbeddings);
        Assert.Equal(source.Table.ToArray().Take(24), first.Table.ToArray());
        if (name != "npy")
            Assert.Equal(source.Words!.Take(6), first.Words);
    }

    [Fact]
    public void Half_precision_tables_stay_half_in_npy()
    {
        using var source = Sample(11, 5, dtype: DType.Float16);
        using var dir = new TempDir();
        string path = dir.File("h.npy");
        NpyFormat.Instance.Write(path, source);
        var bytes = File.ReadAllBytes(path);
        Assert.Contains("'descr': '<f2'", Encoding.ASCII.GetString(bytes, 0, 128));
        Assert.Equal(0, (bytes.Length - 11 * 5 * 2) % 64); // header padded to 64 bytes
        using var back = NpyFormat.Instance.Read(path, new ReadOptions { DType = DType.Float16, NonFinite = NonFiniteValues.Allow });
        Assert.Equal(source.Table.AsBytes().ToArray(), back.Table.AsBytes().ToArray());
        Assert.Equal(source.Words, back.Words);
    }

    [Fact]
    public void Npy_reads_what_numpy_writes_in_every_supported_layout()
    {
        // Row-major [[1, 2, 3], [4, 5, 6]] in the layouts numpy can produce.
        float[] expected = [1, 2, 3, 4, 5, 6];
        foreach (var (descr, fortran, version) in new[] { ("<f4", false, 1), (">f4", false, 1), ("<f8", false, 2), (">f8", true, 3), ("<f2", true, 1), ("<f4", true, 2) })
        {
            using var ms = new MemoryStream(HandMadeNpy(descr, fortran, version, [[1, 2, 3], [4, 5, 6]]));
            using var emb = NpyFormat.Instance.Read(ms);
            Assert.Equal(expected, emb.Table.ToArray());
            Assert.Null(emb.Words);
        }
    }

    /// <summary>Builds a .npy the way numpy lays it out, independently of our writer.</summary>
    internal static byte[] HandMadeNpy(string descr, bool fortran, int version, double[][] rows, string? shapeOverride = null)
    {
        int n = rows.Length, d = rows[0].Length;
        string dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shapeOverride ?? $"({n}, {d})"}, }}";
        int lenBytes = version == 1 ? 2 : 4;
        int pad = 64 - (6 + 2 + lenBytes + dict.Length + 1) % 64;
        string header = dict + new string(' ', pad % 64) + "\n";
        using var ms = new MemoryStream();
        ms.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)version, 0]);
        if (version == 1)
            ms.Write(BitConverter.GetBytes((ushort)header.Length));
        else
            ms.Write(BitConverter.GetBytes((uint)header.Length));
        ms.Write(Encoding.ASCII.GetBytes(header));
        int size = descr[1..] switch { "f2" => 2, "f4" => 4, _ => 8 };
        bool big = descr[0] == '>';
        for (int k = 0; k < n * d; k++)
        {
            int i = fortran ? k % n : k / d, j = fortran ? k / n : k % d;
            byte[] b = size switch
            {
                2 => BitConverter.GetBytes((Half)rows[i][j]),
                4 => BitConverter.GetBytes((float)rows[i][j]),
                _ => BitConverter.GetBytes(rows[i][j]),
            };
            if (big)
                Array.Reverse(b);
            ms.Write(b);
        }
        return ms.ToArray();
    }

    [Fact]
    public void Word2vec_text_reader_follows_gensim_line_rules()
    {
        // CRLF line ends, trailing spaces (fastText style), tabs, and blank lines after the rows.
        var text = "2 3\r\nhello 1 2 3 \r\nwörld\t-1.5e-3 0.25 7\r\n\r\n\n";
        using var emb = Word2VecFormat.Text.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)));
        Assert.Equal(["hello", "wörld"], emb.Words);
        Assert.Equal([1, 2, 3, -1.5e-3f, 0.25f, 7], emb.Table.ToArray());
    }

    [Fact]
    public void Word2vec_binary_reader_accepts_rows_without_line_feeds()
    {
        // Some writers omit the '\n' after each row; gensim reads both.
        using var ms = new MemoryStream();
        ms.Write("2 2\n"u8);
        ms.Write("a "u8);
        ms.Write(BitConverter.GetBytes(1f));
        ms.Write(BitConverter.GetBytes(2f));
        ms.Write("bb "u8);
        ms.Write(BitConverter.GetBytes(3f));
        ms.Write(BitConverter.GetBytes(4f));
        ms.Position = 0;
        using var emb = Word2VecFormat.Binary.Read(ms);
        Assert.Equal(["a", "bb"], emb.Words);
        Assert.Equal([1f, 2, 3, 4], emb.Table.ToArray());
    }

    [Fact]
    public void Glove_words_may_contain_spaces()
    {
        var text = "the 1 2\n. . . 3 4\nend 5 6";
        using var emb = GloveFormat.Instance.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)));
        Assert.Equal(["the", ". . .", "end"], emb.Words);
        Assert.Equal([1f, 2, 3, 4, 5, 6], emb.Table.ToArray());
    }

    [Fact]
    public void Fasttext_vec_has_fastTexts_trailing_space()
    {
        using var source = Sample(2, 2);
        using var ms = new MemoryStream();
        FastTextFormat.Vec.Write(ms, source);
        var lines = Encoding.UTF8.GetString(ms.ToArray()).Split('\n');
        Assert.Equal("2 2", lines[0]);
        Assert.EndsWith(" ", lines[1]);
    }

    [Fact]
    public void Writers_reject_words_the_format_cannot_store_and_leave_no_file()
    {
        using var dir = new TempDir();
        var table = new EmbeddingTable(2, 2);
        using var bad = new WordEmbeddings(["ok", "two words"], table);
        foreach (var format in FormatRegistry.Default.Formats.Where(f => f.Name != "npy"))
        {
            string path = dir.File("bad" + format.Extensions[0]);
            var e = Assert.Throws<ArgumentException>(() => format.Write(path, bad));
            Assert.Contains("two words", e.Message);
            Assert.False(File.Exists(path));
            Assert.Empty(Directory.GetFiles(dir.Path)); // no temporary file left behind
        }
    }

    [Fact]
    public void A_failed_write_keeps_the_previous_file()
    {
        using var dir = new TempDir();
        string path = dir.File("keep.txt");
        using var good = Sample(3, 2);
        Word2VecFormat.Text.Write(path, good);
        var before = File.ReadAllBytes(path);
        using var bad = new WordEmbeddings(["a", "b c", "d"], new EmbeddingTable(3, 2));
        Assert.Throws<ArgumentException>(() => Word2VecFormat.Text.Write(path, bad));
        Assert.Equal(before, File.ReadAllBytes(path));
    }
}
