using System.Text.Json;
using EmbedSharp.Formats;
using EmbedSharp.Formats.Npy;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Cli.Tests;

public sealed class IndexCommandTests(CliFixture fx) : IClassFixture<CliFixture>
{
    private string WriteNpy(string name, int n, int dims, ulong seed)
    {
        var rng = new SeededRandom(seed);
        var table = new EmbeddingTable(n, dims);
        var v = new float[n * dims];
        for (int i = 0; i < v.Length; i++)
            v[i] = (float)rng.NextNormal();
        table.CopyFrom(v);
        string path = fx.PathOf(name);
        using var embeddings = new WordEmbeddings(null, table);
        using (var f = File.Create(path))
            NpyFormat.Instance.Write(f, embeddings);
        return path;
    }

    private static int[] ReadIds(string path, out int rows, out int cols)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int headerLength = BitConverter.ToUInt16(bytes, 8);
        string header = System.Text.Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Contains("'descr': '<i4'", header);
        var shape = header[(header.IndexOf("(", StringComparison.Ordinal) + 1)..header.IndexOf(")", StringComparison.Ordinal)].Split(',');
        rows = int.Parse(shape[0]);
        cols = int.Parse(shape[1]);
        var ids = new int[rows * cols];
        Buffer.BlockCopy(bytes, 10 + headerLength, ids, 0, ids.Length * 4);
        return ids;
    }

    [Fact]
    public void Hnsw_over_a_word_file_answers_word_queries()
    {
        string index = fx.PathOf("words.hnsw");
        var (code, output, error) = CliFixture.Run("index", "build", fx.Word2VecText, "--type", "hnsw", "--m", "4", "--out", index);
        Assert.True(code == 0, error);
        Assert.Contains("hnsw index over 6 × 64", output);
        (code, output, error) = CliFixture.Run("index", "search", index, "--word", "king", "--k", "2");
        Assert.True(code == 0, error);
        Assert.Contains("queen", output);
        Assert.Contains("prince", output);
        Assert.DoesNotContain("apple", output);
    }

    [Theory]
    [InlineData("exact")]
    [InlineData("hnsw")]
    [InlineData("ivfflat")]
    [InlineData("ivfpq")]
    public void Every_type_builds_from_npy_and_writes_ids_and_a_json_line(string type)
    {
        string vectors = WriteNpy($"base-{type}.npy", 300, 8, 1);
        string queries = WriteNpy($"q-{type}.npy", 7, 8, 2);
        string index = fx.PathOf($"base.{type}");
        string ids = fx.PathOf($"ids-{type}.npy");
        var (code, _, error) = CliFixture.Run("index", "build", vectors, "--type", type, "--metric", "l2", "--nlist", "8", "--pq", "4", "--out", index, "--json");
        Assert.True(code == 0, error);
        (code, var output, error) = CliFixture.Run("index", "search", index, "--queries", queries, "--k", "5", "--out", ids, "--json", "--threads", "1");
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(output.Trim());
        Assert.Equal(7, doc.RootElement.GetProperty("queries").GetInt32());
        Assert.True(doc.RootElement.GetProperty("qps").GetDouble() > 0);
        Assert.True(doc.RootElement.GetProperty("seconds").GetDouble() >= 0);
        var got = ReadIds(ids, out int rows, out int cols);
        Assert.Equal((7, 5), (rows, cols));
        Assert.All(got, id => Assert.InRange(id, 0, 299));
        if (type is "exact" or "ivfflat")
        {
            // Against the exact answer computed here.
            var table = NpyFormat.Instance.Read(vectors).Table;
            var q = NpyFormat.Instance.Read(queries).Table;
            var exact = new EmbedSharp.Search.ExactIndex(table, EmbedSharp.Search.SimilarityMetric.L2).SearchBatch(q.ToArray(), 5);
            if (type == "exact")
                Assert.Equal(exact.SelectMany(r => r.Select(h => h.Index)), got);
        }
        // --warmup answers once untimed, then times a second pass: the same ids, flagged in the JSON line.
        string warmIds = fx.PathOf($"ids-warm-{type}.npy");
        (code, output, error) = CliFixture.Run("index", "search", index, "--queries", queries, "--k", "5", "--out", warmIds, "--json", "--threads", "1", "--warmup");
        Assert.True(code == 0, error);
        using (var warm = JsonDocument.Parse(output.Trim()))
            Assert.True(warm.RootElement.GetProperty("warmup").GetBoolean());
        Assert.Equal(got, ReadIds(warmIds, out _, out _));
        (code, _, error) = CliFixture.Run("index", "search", index, "--queries", queries, "--k", "3", "--single");
        Assert.True(code == 0, error);
        (code, _, error) = CliFixture.Run("index", "search", index, "--queries", queries, "--k", "3", "--quantize", "4");
        Assert.Equal(1, code);
        Assert.StartsWith("error: [", error);
        if (type == "hnsw")
        {
            // HNSW walks layer 0 on int8 codes with --quantize 8 (float32 re-rank): ids of the index, best first.
            string q8 = fx.PathOf("ids-hnsw-q8.npy");
            (code, _, error) = CliFixture.Run("index", "search", index, "--queries", queries, "--k", "5", "--quantize", "8", "--out", q8, "--threads", "1");
            Assert.True(code == 0, error);
            Assert.All(ReadIds(q8, out _, out _), id => Assert.InRange(id, 0, 299));
        }
    }

    [Fact]
    public void Exact_indexes_search_packed_codes_with_rerank()
    {
        string vectors = WriteNpy("base-q.npy", 300, 64, 5);
        string queries = WriteNpy("q-q.npy", 6, 64, 6);
        string index = fx.PathOf("base-q.exact");
        string ids = fx.PathOf("ids-q.npy");
        Assert.Equal(0, CliFixture.Run("index", "build", vectors, "--type", "exact", "--metric", "dot", "--out", index).Code);
        var (code, _, error) = CliFixture.Run("index", "search", index, "--queries", queries, "--k", "5", "--quantize", "4", "--single", "--out", ids);
        Assert.True(code == 0, error);
        Assert.All(ReadIds(ids, out _, out _), id => Assert.InRange(id, 0, 299));
        // A re-rank over every row (k × 60 ≥ 300) is the float32 answer whatever the codes ranked.
        string exactIds = fx.PathOf("ids-q-exact.npy");
        Assert.Equal(0, CliFixture.Run("index", "search", index, "--queries", queries, "--k", "5", "--single", "--out", exactIds).Code);
        (code, _, error) = CliFixture.Run("index", "search", index, "--queries", queries, "--k", "5", "--quantize", "4", "--rerank-factor", "60", "--single", "--out", ids);
        Assert.True(code == 0, error);
        Assert.Equal(ReadIds(exactIds, out _, out _), ReadIds(ids, out _, out _));
        (code, _, error) = CliFixture.Run("index", "search", index, "--queries", queries, "--quantize", "4", "--rerank-factor", "0");
        Assert.Equal(EmbedSharpCli.UsageError, code);
        Assert.StartsWith("error: [index search] --rerank-factor", error);
    }

    [Fact]
    public void Filtered_search_returns_only_allowed_ids_and_plot_draws_curves()
    {
        string vectors = WriteNpy("base-f.npy", 400, 8, 3);
        string queries = WriteNpy("q-f.npy", 5, 8, 4);
        string index = fx.PathOf("base-f.hnsw");
        string ids = fx.PathOf("ids-f.npy");
        Assert.Equal(0, CliFixture.Run("index", "build", vectors, "--type", "hnsw", "--out", index).Code);
        var (code, _, error) = CliFixture.Run("index", "search", index, "--queries", queries, "--k", "4", "--filter-modulo", "100", "--out", ids);
        Assert.True(code == 0, error);
        var got = ReadIds(ids, out _, out _);
        Assert.All(got, id => Assert.Equal(0, id % 100));
        string points = fx.PathOf("points.jsonl");
        File.WriteAllLines(points, ["{\"series\": \"a\", \"recall\": 0.9, \"qps\": 1000}", "{\"series\": \"a\", \"recall\": 0.95, \"qps\": 600}", "{\"series\": \"b\", \"recall\": 1.0, \"qps\": 100}"]);
        (code, var output, error) = CliFixture.Run("index", "plot", points, "--out", fx.PathOf("curves.png"));
        Assert.True(code == 0, error);
        Assert.Contains("2 series", output);
        Assert.True(new FileInfo(fx.PathOf("curves.png")).Length > 1000);
        File.WriteAllLines(points, ["{\"series\": 1}"]);
        (code, _, error) = CliFixture.Run("index", "plot", points);
        Assert.Equal(1, code);
        Assert.Contains("line 1", error);
    }

    [Fact]
    public void Errors_are_one_line_and_say_what_to_do()
    {
        var (code, _, error) = CliFixture.Run("index", "build", fx.Word2VecText, "--type", "annoy", "--out", fx.PathOf("x.idx"));
        Assert.Equal(1, code);
        Assert.Equal("error: [index build] --type annoy is unknown; valid values are exact, hnsw, ivfflat, ivfpq", error.Trim());
        File.WriteAllText(fx.PathOf("junk.idx"), "not an index at all");
        (code, _, error) = CliFixture.Run("index", "search", fx.PathOf("junk.idx"), "--word", "king");
        Assert.Equal(1, code);
        Assert.StartsWith("error: [index.open]", error);
        Assert.Single(error.Trim().Split('\n'));
        (code, _, error) = CliFixture.Run("index", "search", fx.PathOf("junk.idx"));
        Assert.Equal(1, code);
        Assert.Contains("give exactly one of --queries", error);
    }
}
