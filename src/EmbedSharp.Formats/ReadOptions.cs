using EmbedSharp.Tables;

namespace EmbedSharp.Formats;

/// <summary>What to do with bytes that are not valid UTF-8 in a word (gensim's <c>unicode_errors</c>).</summary>
public enum UnicodeErrors
{
    /// <summary>Throw <see cref="EmbeddingFormatException"/> (gensim's default, <c>'strict'</c>).</summary>
    Strict,
    /// <summary>Replace each invalid sequence with U+FFFD (<c>'replace'</c>).</summary>
    Replace,
    /// <summary>Drop invalid bytes (<c>'ignore'</c>).</summary>
    Ignore,
}

/// <summary>What to do when a word appears twice in a file.</summary>
public enum DuplicateWords
{
    /// <summary>Throw <see cref="EmbeddingFormatException"/> naming the word and where it repeats.</summary>
    Throw,
    /// <summary>Keep the first row and skip the later ones, as gensim's <c>load_word2vec_format</c> does.</summary>
    KeepFirst,
}

/// <summary>What to do with NaN or ±∞ values in a file.</summary>
public enum NonFiniteValues
{
    /// <summary>Throw <see cref="EmbeddingFormatException"/> naming the row and value.</summary>
    Throw,
    /// <summary>Keep them (gensim and fastText keep them).</summary>
    Allow,
}

/// <summary>Options shared by every reader. The defaults are strict: anything suspicious throws.</summary>
public sealed record ReadOptions
{
    /// <summary>The defaults: no limit, strict UTF-8, duplicates and non-finite values throw, float32 storage.</summary>
    public static ReadOptions Default { get; } = new();

    /// <summary>Read at most this many rows (gensim's <c>limit</c>); null reads all.</summary>
    public long? Limit { get; init; }

    /// <summary>Policy for words that are not valid UTF-8.</summary>
    public UnicodeErrors UnicodeErrors { get; init; } = UnicodeErrors.Strict;

    /// <summary>Policy for repeated words.</summary>
    public DuplicateWords DuplicateWords { get; init; } = DuplicateWords.Throw;

    /// <summary>Policy for NaN and infinite values.</summary>
    public NonFiniteValues NonFinite { get; init; } = NonFiniteValues.Throw;

    /// <summary>Storage type of the table the reader fills (values are rounded to nearest even).</summary>
    public DType DType { get; init; } = DType.Float32;

    internal void Validate(string op)
    {
        if (Limit is < 0)
            Diagnostics.ThrowHelper.ArgumentOutOfRange(op, nameof(Limit), Limit, $"limit must be ≥ 0 or null (read all) but was {Limit}");
        if (!Enum.IsDefined(UnicodeErrors))
            Diagnostics.ThrowHelper.ArgumentOutOfRange(op, nameof(UnicodeErrors), UnicodeErrors, "valid values are Strict, Replace, Ignore");
        if (!Enum.IsDefined(DuplicateWords))
            Diagnostics.ThrowHelper.ArgumentOutOfRange(op, nameof(DuplicateWords), DuplicateWords, "valid values are Throw, KeepFirst");
        if (!Enum.IsDefined(NonFinite))
            Diagnostics.ThrowHelper.ArgumentOutOfRange(op, nameof(NonFinite), NonFinite, "valid values are Throw, Allow");
        if (!Enum.IsDefined(DType))
            Diagnostics.ThrowHelper.ArgumentOutOfRange(op, nameof(DType), DType, "valid values are Float32, Float16, BFloat16");
    }
}
