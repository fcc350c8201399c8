using EmbedSharp.Tokenizers;
using Microsoft.ML.Tokenizers;

namespace EmbedSharp.Tokenizers.Tests;

public sealed class TokenizerEmbeddingTests
{
    // cl100k_base: 100 256 ranks + special tokens up to <|endofprompt|> = 100 276.
    private const int Cl100kRows = 100_277;
    private static readonly Lazy<TiktokenTokenizer> Tokenizer = new(TokenizerEmbedding.Cl100kBase);

    [Fact]
    public void Cl100k_tokenizes_offline_and_round_trips()
    {
        const string text = "Hello world! Embeddings map ids to vectors.";
        IReadOnlyList<int> ids = Tokenizer.Value.EncodeToIds(text);
        // "Hello" and " world" are single cl100k tokens with these well-known ranks.
        Assert.Equal(9906, ids[0]);
        Assert.Equal(1917, ids[1]);
        Assert.Equal(text, Tokenizer.Value.Decode(ids));
    }

    [Fact]
    public void Text_is_tokenized_and_embedded_end_to_end()
    {
        using var embedding = new Embedding(Cl100kRows, 16, new EmbeddingOptions { Seed = 7 });
        const string text = "The quick brown fox jumps over the lazy dog.";
        TokenizedEmbedding result = embedding.Embed(Tokenizer.Value, text);

        Assert.Equal(Tokenizer.Value.EncodeToIds(text), result.Ids);
        Assert.Equal(result.Ids.Count * 16, result.Vectors.Length);
        float[] row = new float[16];
        for (int t = 0; t < result.Ids.Count; t++)
        {
            embedding.Weight.ReadRow(result.Ids[t], row);
            Assert.Equal(row, result.Vectors.AsSpan(t * 16, 16).ToArray());
        }
    }

    [Fact]
    public void Ids_from_a_list_are_not_copied()
    {
        var ids = new List<int> { 1, 2, 3 };
        ReadOnlySpan<int> span = TokenizerEmbedding.AsSpan(ids);
        ids[1] = 42; // same storage: the span sees the write
        Assert.Equal(42, span[1]);
        int[] array = [5, 6];
        Assert.True(System.Runtime.CompilerServices.Unsafe.AreSame(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(TokenizerEmbedding.AsSpan(array)), ref array[0]));
    }

    [Fact]
    public void Batch_is_padded_masked_and_embedded()
    {
        using var embedding = new Embedding(Cl100kRows, 4, new EmbeddingOptions { PaddingIdx = 0, Seed = 1 });
        string[] texts = ["Hello world", "A much longer sentence that will be cut to the row length"];
        TokenizedBatch batch = embedding.EmbedBatch(Tokenizer.Value, texts, paddingId: 0, length: 6);

        Assert.Equal(12, batch.Ids.Length);
        int shortLen = Tokenizer.Value.EncodeToIds(texts[0]).Count;
        Assert.Equal(2, shortLen);
        Assert.Equal([true, true, false, false, false, false], batch.Mask[..6]);
        Assert.All(batch.Mask[6..], Assert.True);
        Assert.Equal(Tokenizer.Value.EncodeToIds(texts[1]).Take(6), batch.Ids[6..]);
        Assert.All(batch.Vectors.AsSpan(2 * 4, 4 * 4).ToArray(), v => Assert.Equal(0f, v)); // padding row is zero
    }

    [Fact]
    public void Token_embedding_stack_runs_on_tokenizer_output()
    {
        using var stack = new TokenEmbedding(Cl100kRows, 8, new TokenEmbeddingOptions { ScaleBySqrtDims = true });
        TokenizedEmbedding result = stack.Embed(Tokenizer.Value, "positional encodings");
        Assert.Equal(result.Ids.Count * 8, result.Vectors.Length);
        Assert.All(result.Vectors, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void A_table_too_small_for_the_tokenizer_is_rejected()
    {
        using var embedding = new Embedding(100, 4);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => embedding.Embed(Tokenizer.Value, "Hello world"));
        Assert.Contains("9906", ex.Message);
    }
}
