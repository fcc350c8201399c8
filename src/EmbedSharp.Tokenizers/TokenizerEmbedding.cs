using System.Runtime.InteropServices;
using EmbedSharp.Diagnostics;
using EmbedSharp.Vocabularies;
using Microsoft.ML.Tokenizers;

namespace EmbedSharp.Tokenizers;

/// <summary>Token ids of one text and their vectors, row-major <c>Ids.Count × Dims</c>.</summary>
/// <param name="Ids">The tokenizer's ids, in order.</param>
/// <param name="Vectors">The looked-up rows.</param>
public sealed record TokenizedEmbedding(IReadOnlyList<int> Ids, float[] Vectors);

/// <summary>A padded batch: ids and mask <c>[Count, Length]</c>, vectors <c>[Count, Length, Dims]</c>.</summary>
/// <param name="Ids">Ids, right-padded with the padding id and cut to <paramref name="Length"/>.</param>
/// <param name="Mask">True at real tokens, false at padding (Keras' mask convention).</param>
/// <param name="Vectors">The looked-up rows (padding positions read the padding row).</param>
/// <param name="Count">Number of texts.</param>
/// <param name="Length">Row length.</param>
public sealed record TokenizedBatch(int[] Ids, bool[] Mask, float[] Vectors, int Count, int Length);

/// <summary>
/// Feeds <see cref="Microsoft.ML.Tokenizers"/> output (tiktoken/BPE, WordPiece, SentencePiece, …)
/// into EmbedSharp layers. Token ids go to <see cref="Embedding.Forward(ReadOnlySpan{int}, Span{float})"/>
/// as a span over the tokenizer's own list, so they are not copied.
/// </summary>
/// <remarks>
/// The embedding must have at least as many rows as the tokenizer has ids (cl100k_base: 100 277 ranks
/// plus its special tokens up to id 100 276); an id past the table raises the lookup's usual
/// out-of-range error before anything is written.
/// </remarks>
public static class TokenizerEmbedding
{
    /// <summary>The cl100k_base tiktoken encoding (GPT-4, GPT-3.5-turbo), loaded from the bundled data package; no network.</summary>
    public static TiktokenTokenizer Cl100kBase() => TiktokenTokenizer.CreateForEncoding("cl100k_base");

    /// <summary>
    /// A span over <paramref name="ids"/> without copying when it is a <see cref="List{T}"/> or an array
    /// (what the tokenizers return); any other list is copied once.
    /// </summary>
    public static ReadOnlySpan<int> AsSpan(IReadOnlyList<int> ids)
    {
        Guard.NotNull("tokenizer.ids", ids);
        return ids switch
        {
            int[] array => array,
            List<int> list => CollectionsMarshal.AsSpan(list),
            _ => ids.ToArray(),
        };
    }

    /// <summary>Looks up <paramref name="ids"/> into <paramref name="destination"/> (<c>ids.Count × Dims</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the table.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static void Forward(this Embedding embedding, IReadOnlyList<int> ids, Span<float> destination)
    {
        Guard.NotNull("tokenizer.forward", embedding);
        embedding.Forward(AsSpan(ids), destination);
    }

    /// <summary>Tokenizes <paramref name="text"/> and looks every id up.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the table.</exception>
    public static TokenizedEmbedding Embed(this Embedding embedding, Tokenizer tokenizer, string text)
    {
        const string op = "tokenizer.embed";
        Guard.NotNull(op, embedding);
        Guard.NotNull(op, tokenizer);
        Guard.NotNull(op, text);
        IReadOnlyList<int> ids = Encode(tokenizer, text);
        float[] vectors = new float[(long)ids.Count * embedding.Dims];
        embedding.Forward(AsSpan(ids), vectors);
        return new TokenizedEmbedding(ids, vectors);
    }

    /// <summary>
    /// Tokenizes each text, pads or cuts it to <paramref name="length"/> with <paramref name="paddingId"/>
    /// (use the embedding's <c>PaddingIdx</c>), and looks the block up.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative, or an id (padding included) is outside the table.</exception>
    public static TokenizedBatch EmbedBatch(this Embedding embedding, Tokenizer tokenizer, IReadOnlyList<string> texts, int paddingId, int length)
    {
        const string op = "tokenizer.embed_batch";
        Guard.NotNull(op, embedding);
        Guard.NotNull(op, tokenizer);
        Guard.NotNull(op, texts);
        Guard.NonNegative(op, length);
        Guard.InRange(op, paddingId, 0, embedding.NumEmbeddings);
        var sequences = new int[texts.Count][];
        for (int b = 0; b < texts.Count; b++)
        {
            if (texts[b] is null)
                ThrowHelper.Argument(op, nameof(texts), $"texts[{b}] is null");
            sequences[b] = Encode(tokenizer, texts[b]).Take(length).ToArray();
        }
        int[] ids = new int[(long)texts.Count * length];
        bool[] mask = new bool[ids.Length];
        PaddingMask.Pad(sequences, paddingId, length, ids, mask);
        float[] vectors = new float[(long)ids.Length * embedding.Dims];
        embedding.Forward(ids, vectors);
        return new TokenizedBatch(ids, mask, vectors, texts.Count, length);
    }

    /// <summary>Tokenizes <paramref name="text"/> and runs a <see cref="TokenEmbedding"/> stack over it as one sequence.</summary>
    /// <returns>The ids and the <c>ids.Count × Dims</c> output.</returns>
    public static TokenizedEmbedding Embed(this TokenEmbedding stack, Tokenizer tokenizer, string text)
    {
        const string op = "tokenizer.embed";
        Guard.NotNull(op, stack);
        Guard.NotNull(op, tokenizer);
        Guard.NotNull(op, text);
        IReadOnlyList<int> ids = Encode(tokenizer, text);
        float[] output = new float[(long)ids.Count * stack.Dims];
        stack.Forward(AsSpan(ids), ids.Count, output);
        return new TokenizedEmbedding(ids, output);
    }

    /// <summary>
    /// The ids a model built for <paramref name="tokenizer"/> expects: a BERT WordPiece tokenizer adds
    /// its <c>[CLS]</c>/<c>[SEP]</c> tokens (its own default, which the base-class call would skip).
    /// </summary>
    private static IReadOnlyList<int> Encode(Tokenizer tokenizer, string text) =>
        tokenizer is BertTokenizer bert ? bert.EncodeToIds(text, addSpecialTokens: true) : tokenizer.EncodeToIds(text);
}
