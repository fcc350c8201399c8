using EmbedSharp.Formats.FastText;
using EmbedSharp.Formats.Glove;
using EmbedSharp.Formats.Npy;
using EmbedSharp.Formats.Word2Vec;

namespace EmbedSharp.Formats.Tests;

public sealed class DetectionAndConversionTests
{
    [Theory]
    [InlineData("word2vec/npm-word2vec-hamlet-vectors.txt", "word2vec")]
    [InlineData("word2vec/euclidean_vectors.bin", "word2vec-binary")]
    [InlineData("glove/test_glove.txt", "glove")]
    [InlineData("fasttext/wiki-news-300d-1M.top999.noheader.vec", "glove")]
    [InlineData("fasttext/toy-model.vec", "fasttext-vec")]
    [InlineData("fasttext/crime-and-punishment.bin", "fasttext-bin")]
    [InlineData("fasttext/lee_fasttext_new.bin", "fasttext-bin")]
    public void Shared_fixtures_are_recognised_by_content(string file, string expected)
    {
        string path = TestFiles.Shared(["embeddings", .. file.Split('/')]);
        Assert.Equal(expected, FormatDetector.Detect(path).Name);
        // Content alone (no extension hint) gives the same family.
        using var fs = File.OpenRead(path);
        var byContent = FormatDetector.Detect(fs);
        Assert.Equal(0, fs.Position);
        Assert.Equal(expected == "fasttext-vec" ? "word2vec" : expected, byContent.Name);
    }

    [Fact]
    public void Unknown_content_is_refused()
    {
        using var dir = new TempDir();
        foreach (var (name, bytes) in new[] { ("empty.bin", Array.Empty<byte>()), ("noise.bin", new byte[] { 1, 2, 3, 0, 250, 7 }), ("prose.txt", "hello world\nthis is text\n"u8.ToArray()) })
        {
            File.WriteAllBytes(dir.File(name), bytes);
            var e = Assert.Throws<EmbeddingFormatException>(() => FormatDetector.Detect(dir.File(name)));
            Assert.Contains("no known format recognises the content", e.Message);
        }
    }

    [Fact]
    public void Registry_lookups_and_registration()
    {
        Assert.Same(NpyFormat.Instance, FormatRegistry.Default.Get("NPY"));
        var e = Assert.Throws<ArgumentException>(() => FormatRegistry.Default.Get("safetensors-x"));
        Assert.Contains("valid values are fasttext-bin, npy", e.Message);
        Assert.Same(GloveFormat.Instance, new FormatRegistry().Also(GloveFormat.Instance).ForWriting("x.txt"));
        Assert.Same(FastTextFormat.Vec, FormatRegistry.Default.ForWriting("x.vec"));
        Assert.Throws<ArgumentException>(() => FormatRegistry.Default.ForWriting("x.parquet"));
    }

    [Fact]
    public void A_chain_of_conversions_through_every_format_returns_the_original()
    {
        using var dir = new TempDir();
        string start = TestFiles.Shared("embeddings", "word2vec", "euclidean_vectors.bin");
        string[] chain = ["a.npy", "b.glove.txt", "c.vec", "d.w2v", "e.bin", "f.txt"];
        EmbeddingFormat[] formats = [NpyFormat.Instance, GloveFormat.Instance, FastTextFormat.Vec, Word2VecFormat.Text, FastTextFormat.Bin, Word2VecFormat.Text];
        string current = start;
        for (int i = 0; i < chain.Length; i++)
        {
            var result = FormatConverter.Convert(current, dir.File(chain[i]), formats[i]);
            Assert.True(result.Streamed, $"{result.InputFormat} → {result.OutputFormat} should stream");
            Assert.Equal((2747L, 10), (result.NumEmbeddings, result.Dims));
            current = dir.File(chain[i]);
        }
        Assert.True(File.Exists(dir.File("a.npy.vocab")));
        using var original = Word2VecFormat.Binary.Read(start);
        using var final = Word2VecFormat.Text.Read(current);
        Assert.Equal(original.Words, final.Words);
        Assert.Equal(original.Table.ToArray(), final.Table.ToArray());
    }

    [Fact]
    public void Conversion_options_and_failures()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("dup.txt"), "3 1\nx 1\ny 2\nx 3\n");
        var e = Assert.Throws<EmbeddingFormatException>(() => FormatConverter.Convert(dir.File("dup.txt"), dir.File("out.npy")));
        Assert.Contains("repeats", e.Message);
        Assert.False(File.Exists(dir.File("out.npy")));
        var r = FormatConverter.Convert(dir.File("dup.txt"), dir.File("out.npy"), options: new ReadOptions { DuplicateWords = DuplicateWords.KeepFirst });
        Assert.False(r.Streamed);
        Assert.Equal(2, r.NumEmbeddings);
        // A bare .npy has no words: word formats refuse it, .npy copies it.
        File.Delete(dir.File("out.npy.vocab"));
        Assert.Throws<ArgumentException>(() => FormatConverter.Convert(dir.File("out.npy"), dir.File("words.txt"), Word2VecFormat.Text));
        Assert.Equal(2, FormatConverter.Convert(dir.File("out.npy"), dir.File("copy.npy")).NumEmbeddings);
        Assert.Throws<ArgumentException>(() => FormatConverter.Convert(dir.File("dup.txt"), dir.File("dup.txt")));
        var limited = FormatConverter.Convert(TestFiles.Shared("embeddings", "glove", "test_glove.txt"), dir.File("g.bin"), Word2VecFormat.Binary, options: new ReadOptions { Limit = 10 });
        Assert.Equal(10, limited.NumEmbeddings);
    }
}

internal static class RegistryTestExtensions
{
    public static FormatRegistry Also(this FormatRegistry registry, EmbeddingFormat format)
    {
        registry.Register(format);
        return registry;
    }
}
