using System.Text;
using EmbedSharp.Tokenizers;
using Microsoft.ML.Tokenizers;

namespace EmbedSharp.Tokenizers.Tests;

/// <summary>WordPiece (BERT) and byte-pair-encoding tokenizers built from tiny vocabularies written here.</summary>
public sealed class WordPieceAndBpeTests
{
    private static Stream Utf8(string text) => new MemoryStream(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void WordPiece_Bert_TokensFeedTheEmbedding()
    {
        string[] vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "emb", "##ed", "##ding", "##s", "map", "ids", "to", "vector", "##s"];
        var tokenizer = BertTokenizer.Create(Utf8(string.Join("\n", vocab.Distinct()) + "\n"));
        const string text = "The embeddings map ids to vectors";
        IReadOnlyList<int> ids = tokenizer.EncodeToIds(text);
        // [CLS] the emb ##ed ##ding ##s map ids to vector ##s [SEP] (lower-cased)
        Assert.Equal(new[] { 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 9, 3 }, ids);

        using var embedding = new Embedding(vocab.Distinct().Count(), 8, new EmbeddingOptions { PaddingIdx = 0, Seed = 3 });
        TokenizedEmbedding result = embedding.Embed(tokenizer, text);
        Assert.Equal(ids, result.Ids);
        var row = new float[8];
        embedding.Weight.ReadRow(9, row);
        Assert.Equal(row, result.Vectors.AsSpan(5 * 8, 8).ToArray());
        Assert.Equal(row, result.Vectors.AsSpan(10 * 8, 8).ToArray()); // "##s" twice, same row
        Assert.Equal(2, result.Ids[0]); // the adapter keeps BERT's [CLS] ... [SEP], as the model expects
    }

    [Fact]
    public void Bpe_MergesFeedTheEmbedding()
    {
        const string vocabJson = """{"l": 0, "o": 1, "w": 2, "e": 3, "r": 4, "lo": 5, "low": 6, "er": 7, "lower": 8}""";
        const string merges = "#version: 0.2\nl o\nlo w\ne r\nlow er\n";
        var tokenizer = BpeTokenizer.Create(Utf8(vocabJson), Utf8(merges));
        IReadOnlyList<int> ids = tokenizer.EncodeToIds("lower low lowe");
        Assert.Equal(new[] { 8, 6, 6, 3 }, ids);

        using var embedding = new Embedding(9, 4, new EmbeddingOptions { Seed = 5 });
        TokenizedEmbedding result = embedding.Embed(tokenizer, "lower low lowe");
        Assert.Equal(ids, result.Ids);
        var row = new float[4];
        embedding.Weight.ReadRow(6, row);
        Assert.Equal(row, result.Vectors.AsSpan(4, 4).ToArray());
    }
}
