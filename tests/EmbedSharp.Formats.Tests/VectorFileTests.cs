using EmbedSharp.Formats.FastText;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Formats.Tests;

/// <summary>The neighbour query with the fastText OOV fallback, as a library call the CLI and the web explorer share.</summary>
public sealed class VectorFileTests
{
    [Fact]
    public void MostSimilarUsesTheWordsRowOrItsSubwordVector()
    {
        string bin = TestFiles.Shared("embeddings", "fasttext", "toy-model.bin");
        using var file = VectorFile.Open("neighbors", bin);
        IWordVectorSource source = file;
        string known = file.Embeddings.Words![3];
        var near = file.MostSimilar("neighbors", known, 4, out bool viaSubwords);
        Assert.False(viaSubwords);
        Assert.Equal(file.Keyed("neighbors").MostSimilar(known, 4).Select(s => s.Word), near.Select(s => s.Word));

        const string unseen = "qqzzxyzzy";
        Assert.False(file.Keyed("neighbors").Contains(unseen));
        near = file.MostSimilar("neighbors", unseen, 4, out viaSubwords);
        Assert.True(viaSubwords);
        var v = new float[source.Dims];
        Assert.True(source.TryGetWordVector(unseen, v));
        Assert.Equal(file.Model!.GetWordVector(unseen), v);
        Assert.Equal(file.Keyed("neighbors").SimilarByVector(v, 4).Select(s => s.Word), near.Select(s => s.Word));
    }

    [Fact]
    public void AnUnknownWordOfAFormatWithoutSubwordsIsAClearError()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tiny.txt");
        File.WriteAllText(path, "3 2\na 1 0\nb 0 1\nc 1 1\n");
        using var file = VectorFile.Open("neighbors", path);
        Assert.Equal("c", file.MostSimilar("neighbors", "a", 1, out bool viaSubwords)[0].Word);
        Assert.False(viaSubwords);
        var e = Assert.Throws<ArgumentException>(() => file.MostSimilar("neighbors", "zebra", 1, out _));
        Assert.StartsWith("[neighbors] 'zebra' is not in the vocabulary", e.Message);
        Assert.False(((IWordVectorSource)file).TryGetWordVector("zebra", new float[2]));
    }
}
