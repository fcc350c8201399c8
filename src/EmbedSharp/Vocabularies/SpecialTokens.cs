namespace EmbedSharp.Vocabularies;

/// <summary>The usual reserved tokens. Any string can be a special token; these are conventions.</summary>
public static class SpecialTokens
{
    /// <summary>Padding, <c>&lt;pad&gt;</c>.</summary>
    public const string Pad = "<pad>";

    /// <summary>Unknown word, <c>&lt;unk&gt;</c>.</summary>
    public const string Unknown = "<unk>";

    /// <summary>Beginning of sequence, <c>&lt;s&gt;</c>.</summary>
    public const string Bos = "<s>";

    /// <summary>End of sequence, <c>&lt;/s&gt;</c> (also fastText's end-of-line word).</summary>
    public const string Eos = "</s>";

    /// <summary>BERT's classification token, <c>[CLS]</c>.</summary>
    public const string Cls = "[CLS]";

    /// <summary>BERT's separator, <c>[SEP]</c>.</summary>
    public const string Sep = "[SEP]";

    /// <summary>BERT's mask token, <c>[MASK]</c>.</summary>
    public const string Mask = "[MASK]";
}

/// <summary>How tokens of equal count are ordered when a vocabulary is sorted by frequency.</summary>
public enum TieBreak
{
    /// <summary>First occurrence in the stream comes first (stable; gensim's order).</summary>
    FirstOccurrence = 0,

    /// <summary>Ordinal string order (torchtext's <c>build_vocab_from_iterator</c>).</summary>
    Ordinal = 1,
}

/// <summary>Options for building a <see cref="Vocabulary"/>.</summary>
public sealed record VocabularyOptions
{
    /// <summary>Reserved tokens; they take ids <c>0 … k−1</c> in this order whatever their counts, and are never pruned.</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = [];

    /// <summary>The token out-of-vocabulary lookups map to; must be one of <see cref="SpecialTokens"/>. Null: lookups of unknown tokens throw.</summary>
    public string? UnknownToken { get; init; }

    /// <summary>The padding token; must be one of <see cref="SpecialTokens"/>. Its id is what an <c>Embedding</c>'s <c>PaddingIdx</c> should be.</summary>
    public string? PaddingToken { get; init; }

    /// <summary>Ordinary tokens seen fewer times than this are dropped (default 1 keeps everything).</summary>
    public long MinCount { get; init; } = 1;

    /// <summary>Largest vocabulary, special tokens included; null means no limit. The least frequent tokens go first.</summary>
    public int? MaxSize { get; init; }

    /// <summary>Order of tokens with equal counts.</summary>
    public TieBreak TieBreak { get; init; } = TieBreak.FirstOccurrence;

    /// <summary>
    /// The common layout for sequence models: <c>&lt;pad&gt;</c> = 0 (so Keras <c>mask_zero</c> and
    /// <c>PaddingIdx = 0</c> agree) and <c>&lt;unk&gt;</c> = 1.
    /// </summary>
    public static VocabularyOptions PadUnk { get; } = new()
    {
        SpecialTokens = [global::EmbedSharp.Vocabularies.SpecialTokens.Pad, global::EmbedSharp.Vocabularies.SpecialTokens.Unknown],
        PaddingToken = global::EmbedSharp.Vocabularies.SpecialTokens.Pad,
        UnknownToken = global::EmbedSharp.Vocabularies.SpecialTokens.Unknown,
    };
}
