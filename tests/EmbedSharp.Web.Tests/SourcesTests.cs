using System.Net;
using System.Text.Json;
using EmbedSharp.Formats;
using EmbedSharp.Formats.Mlx;
using EmbedSharp.Quantization;
using EmbedSharp.Search;
using EmbedSharp.Search.Hnsw;
using EmbedSharp.Tables;

namespace EmbedSharp.Web.Tests;

/// <summary>The explorer over a root that also holds an HNSW index file, MLX checkpoints and damaged ones.</summary>
public sealed class SourcesFixture : IDisposable
{
    public SourcesFixture()
    {
        var root = Factory.Tables.Root;
        using var file = VectorFile.Open("test", Factory.Tables.Table);
        var words = file.Embeddings.Words!;
        var table = file.Embeddings.Table;
        Words = [.. words];

        // An HNSW index built from the planted table, with its words sidecar (as `embedsharp index build` writes).
        using (var hnsw = new HnswIndex(table.Dims, SimilarityMetric.Cosine))
        {
            var all = new float[table.NumEmbeddings * table.Dims];
            for (int r = 0; r < table.NumEmbeddings; r++)
                table.ReadRow(r, all.AsSpan(r * table.Dims, table.Dims));
            hnsw.AddBatch(all, threads: 1);
            IndexFile.Save(hnsw, Path.Combine(root, "words.hnsw"));
        }
        File.WriteAllLines(IndexFile.WordsPath(Path.Combine(root, "words.hnsw")), Words);
        // The same index without words, and a truncated copy.
        File.Copy(Path.Combine(root, "words.hnsw"), Path.Combine(root, "nowords.hnsw"));
        var bytes = File.ReadAllBytes(Path.Combine(root, "words.hnsw"));
        File.WriteAllBytes(Path.Combine(root, "broken.hnsw"), bytes[..(bytes.Length / 2)]);
        File.WriteAllLines(IndexFile.WordsPath(Path.Combine(root, "broken.hnsw")), Words);

        // MLX checkpoints: 4-bit with a vocabulary, 8-bit without one, one whose vocabulary is short, one with two embeddings.
        var q4 = QuantizedTable.Quantize(table, 64, 4);
        new MlxCheckpointWriter().AddQuantized("model.embed_tokens", q4).Save(Path.Combine(root, "mlx4"));
        File.WriteAllLines(Path.Combine(root, "mlx4", "vocab.txt"), Words);
        var q8 = QuantizedTable.Quantize(table, 32, 8);
        new MlxCheckpointWriter().AddQuantized("embed_tokens", q8).Save(Path.Combine(root, "mlx8-ids"));
        new MlxCheckpointWriter().AddQuantized("embed_tokens", q4).Save(Path.Combine(root, "mlx-short-vocab"));
        File.WriteAllLines(Path.Combine(root, "mlx-short-vocab", "vocab.txt"), Words[..10]);
        new MlxCheckpointWriter().AddQuantized("embed_tokens", q4).AddQuantized("embed_positions", q8).Save(Path.Combine(root, "mlx-two"));
        Directory.CreateDirectory(Path.Combine(root, "mlx-garbage"));
        File.WriteAllText(Path.Combine(root, "mlx-garbage", "config.json"), "{}");
        File.WriteAllBytes(Path.Combine(root, "mlx-garbage", "model.safetensors"), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2]);
    }

    public ExplorerFactory Factory { get; } = new();

    public string[] Words { get; }

    public void Dispose() => Factory.Dispose();
}

public sealed class SourcesTests(SourcesFixture fixture) : IClassFixture<SourcesFixture>
{
    private readonly HttpClient _client = fixture.Factory.CreateClient();

    private async Task<JsonElement> Ok(string url)
    {
        var response = await _client.GetAsync(url);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private async Task<string> Bad(string url)
    {
        var response = await _client.GetAsync(url);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{url}: expected 400, got {(int)response.StatusCode}: {body}");
        string message = JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;
        Assert.StartsWith("[", message);
        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain("Exception", body);
        return message;
    }

    private static (string[] Words, double[] Scores) Neighbours(JsonElement json) =>
        ([.. json.GetProperty("neighbors").EnumerateArray().Select(n => n.GetProperty("word").GetString()!)],
         [.. json.GetProperty("neighbors").EnumerateArray().Select(n => n.GetProperty("score").GetDouble())]);

    [Fact]
    public async Task TheRootLists_IndexFilesAndCheckpointFolders_NotTheirSidecarsOrInnerFiles()
    {
        var available = (await Ok("/api/tables")).GetProperty("available").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Contains("words.hnsw", available);
        Assert.Contains("mlx4", available);
        Assert.Contains("mlx8-ids", available);
        Assert.DoesNotContain("words.hnsw.words", available);
        Assert.DoesNotContain(available, a => a.StartsWith("mlx4/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnIndexFile_AnswersThroughTheIndex_LabelledApproximate_WithTheExactAnswersOnPlantedClusters()
    {
        var facts = await Ok("/api/tables?table=words.hnsw");
        var summary = facts.GetProperty("table");
        Assert.Equal("hnsw index", summary.GetProperty("format").GetString());
        Assert.Equal(90, summary.GetProperty("numEmbeddings").GetInt32());
        Assert.StartsWith("approximate: HNSW", summary.GetProperty("search").GetString());

        foreach (var word in new[] { "cherry", "wolf", "azure", "king" })
        {
            var viaIndex = await Ok($"/api/neighbors?table=words.hnsw&word={word}&k=7");
            Assert.True(viaIndex.GetProperty("approximate").GetBoolean());
            Assert.Contains("re-ranked by exact cosine", viaIndex.GetProperty("search").GetString());
            var exact = await Ok($"/api/neighbors?table=planted.txt&word={word}&k=7");
            Assert.False(exact.GetProperty("approximate").GetBoolean());
            var (iw, isc) = Neighbours(viaIndex);
            var (ew, esc) = Neighbours(exact);
            Assert.DoesNotContain(word, iw);
            Assert.Equal(ew, iw);
            for (int i = 0; i < esc.Length; i++)
                Assert.True(Math.Abs(esc[i] - isc[i]) < 1e-5, $"{esc[i]} against {isc[i]}");
        }
    }

    [Fact]
    public async Task AnMlx4BitCheckpoint_IsServedDequantized_WithItsPackingShown_AndItsClustersIntact()
    {
        var summary = (await Ok("/api/tables?table=mlx4")).GetProperty("table");
        Assert.Equal("mlx checkpoint", summary.GetProperty("format").GetString());
        string stored = summary.GetProperty("stored").GetString()!;
        Assert.Contains("MLX affine 4-bit, group size 64", stored);
        Assert.Contains("model.embed_tokens", stored);
        var (words, scores) = Neighbours(await Ok("/api/neighbors?table=mlx4&word=cherry&k=7"));
        Assert.Equal([.. TestTables.Fruits.Where(f => f != "cherry").Order()], words.Order().ToArray());
        Assert.True(scores.Zip(scores.Skip(1)).All(p => p.First >= p.Second));
    }

    [Fact]
    public async Task AnMlx8BitCheckpoint_WithoutVocabulary_IsServedByRowId()
    {
        var summary = (await Ok("/api/tables?table=mlx8-ids")).GetProperty("table");
        Assert.Contains("8-bit, group size 32", summary.GetProperty("stored").GetString());
        int cherry = Array.IndexOf(fixture.Words, "cherry");
        var (ids, _) = Neighbours(await Ok($"/api/neighbors?table=mlx8-ids&word={cherry}&k=7"));
        var expected = TestTables.Fruits.Where(f => f != "cherry").Select(f => Array.IndexOf(fixture.Words, f).ToString(System.Globalization.CultureInfo.InvariantCulture)).Order();
        Assert.Equal(expected, ids.Order());
    }

    [Theory]
    [InlineData("nowords.hnsw", "no words file")]
    [InlineData("broken.hnsw", "broken.hnsw")]
    [InlineData("mlx-short-vocab", "10 words but the embedding layer has 90 rows")]
    [InlineData("mlx-two", "2 candidate embedding layers")]
    [InlineData("mlx-garbage", "")]
    public async Task DamagedIndexesAndCheckpoints_GetAOneLine400(string name, string expected)
    {
        string message = await Bad($"/api/neighbors?table={name}&word=cherry&k=3");
        Assert.Contains(expected, message);
        // Refused again on the next request (not cached as opened).
        Assert.Equal(message, await Bad($"/api/tables?table={name}"));
    }

    [Fact]
    public void ACheckpointOrIndex_NamedOnTheCommandLine_OpensUnderItsFolderOrFileName()
    {
        var root = fixture.Factory.Tables.Root;
        using var catalog = new Catalog.TableCatalog(new ExplorerOptions { Files = [Path.Combine(root, "mlx4") + "/", Path.Combine(root, "words.hnsw")] });
        Assert.Equal(["mlx4", "words.hnsw"], catalog.Loaded);
        Assert.Throws<InvalidDataException>(() => new Catalog.TableCatalog(new ExplorerOptions { Files = [Path.Combine(root, "nowords.hnsw")] }));
    }

    [Fact]
    public async Task ConcurrentNewWords_OverHttp_GetTheSameAnswersAsOneAtATime()
    {
        // Every word at once on one fresh server (distinct words: nothing comes from the answer cache),
        // one at a time on another.
        var words = fixture.Words;
        using var concurrent = new ExplorerFactory();
        using var sequential = new ExplorerFactory();
        var a = concurrent.CreateClient();
        var b = sequential.CreateClient();
        static async Task<string> Body(HttpClient c, string w)
        {
            var response = await c.GetAsync($"/api/neighbors?table=planted.txt&word={w}&k=6");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.Content.ReadAsStringAsync();
        }
        var together = await Task.WhenAll(words.Select(w => Task.Run(() => Body(a, w))));
        for (int i = 0; i < words.Length; i++)
            Assert.Equal(await Body(b, words[i]), together[i]);
    }
}
