namespace EmbedSharp.Formats.IO;

/// <summary>Applies the duplicate-word and non-finite-value policies of <see cref="ReadOptions"/> to each row.</summary>
internal sealed class RowChecks
{
    private readonly ReadOptions _options;
    private readonly Dictionary<string, long> _seen = new(StringComparer.Ordinal);

    public RowChecks(ReadOptions options) => _options = options;

    /// <summary>Throws for a violation; returns false when the row must be skipped (a duplicate under KeepFirst).</summary>
    public bool Accept(string op, string? source, long offset, long rowIndex, string? word, ReadOnlySpan<float> row)
    {
        if (_options.NonFinite == NonFiniteValues.Throw)
        {
            for (int i = 0; i < row.Length; i++)
            {
                if (!float.IsFinite(row[i]))
                    throw new EmbeddingFormatException(op, source, offset,
                        $"row {rowIndex}{Describe(word)} has the non-finite value {row[i]} at column {i}; pass NonFiniteValues.Allow to keep it");
            }
        }
        if (word is not null)
        {
            if (_seen.TryGetValue(word, out long first))
            {
                if (_options.DuplicateWords == DuplicateWords.Throw)
                    throw new EmbeddingFormatException(op, source, offset,
                        $"row {rowIndex}: word '{word}' repeats row {first}; pass DuplicateWords.KeepFirst to keep the first (gensim's behaviour)");
                return false;
            }
            _seen.Add(word, rowIndex);
        }
        return true;
    }

    private static string Describe(string? word) => word is null ? "" : $" ('{word}')";
}
