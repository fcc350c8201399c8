using EmbedSharp.Formats;
using EmbedSharp.Formats.Safetensors;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.Tests.Safetensors;

public sealed class SafetensorsFormatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("es-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static WordEmbeddings Sample(DType dtype = DType.Float32)
    {
        var table = new EmbeddingTable(3, 4, dtype);
        table.CopyFrom(Enumerable.Range(0, 12).Select(i => i * 0.25f - 1).ToArray());
        return new WordEmbeddings(["the", "naïve", "cat"], table, [10, 5, 1]);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    [InlineData(DType.BFloat16)]
    public void RoundTrip_WithVocabularySidecar_IsDetectedAndExact(DType dtype)
    {
        string path = Path.Combine(_dir, "v.safetensors");
        using var original = Sample(dtype);
        SafetensorsFormat.Instance.Write(path, original);
        Assert.True(File.Exists(path + ".vocab"));
        Assert.Same(SafetensorsFormat.Instance, FormatDetector.Detect(path));
        using var back = SafetensorsFormat.Instance.Read(path, new ReadOptions { DType = dtype });
        Assert.Equal(original.Words, back.Words);
        Assert.Equal(original.Counts, back.Counts);
        Assert.Equal(original.Table.ToArray(), back.Table.ToArray());
        Assert.Equal(dtype, back.Table.DType);
    }

    [Fact]
    public void ConvertsFromWord2Vec_ThroughTheRegistry()
    {
        string w2v = Path.Combine(_dir, "v.txt");
        File.WriteAllText(w2v, "2 3\nhello 1 2 3\nworld -1 0.5 0\n");
        string st = Path.Combine(_dir, "v.safetensors");
        var result = FormatConverter.Convert(w2v, st, SafetensorsFormat.Instance);
        Assert.Equal(2, result.NumEmbeddings);
        using var back = SafetensorsFormat.Instance.Read(st);
        Assert.Equal(new[] { "hello", "world" }, back.Words);
        Assert.Equal(new float[] { 1, 2, 3, -1, 0.5f, 0 }, back.Table.ToArray());

        // And back to word2vec, words from the sidecar.
        string again = Path.Combine(_dir, "again.txt");
        FormatConverter.Convert(st, again, FormatRegistry.Default.ForWriting(again));
        Assert.Equal("2 3\nhello 1 2 3\nworld -1 0.5 0\n", File.ReadAllText(again));
    }

    [Fact]
    public void SeveralCandidateTensors_IsAClearError()
    {
        string path = Path.Combine(_dir, "two.safetensors");
        using (var a = new EmbeddingTable(2, 2))
        using (var b = new EmbeddingTable(3, 2))
            new SafetensorsWriter().Add("encoder", a).Add("decoder", b).Save(path);
        var ex = Assert.Throws<EmbeddingFormatException>(() => SafetensorsFormat.Instance.Read(path));
        Assert.Contains("several 2-D float tensors (encoder, decoder)", ex.Message);
    }

    [Fact]
    public void TheOnlyMatrix_IsReadWhateverItsName()
    {
        string path = Path.Combine(_dir, "one.safetensors");
        using (var a = new EmbeddingTable(2, 3))
        {
            a.CopyFrom([1, 2, 3, 4, 5, 6]);
            new SafetensorsWriter().Add<int>("step", [1], [7]).Add("model.embed_tokens.weight", a).Save(path);
        }
        using var back = SafetensorsFormat.Instance.Read(path);
        Assert.Null(back.Words);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, back.Table.ToArray());
    }
}
