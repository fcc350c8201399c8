using System.Runtime.InteropServices;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Training.Common;

/// <summary>
/// One streaming pass that counts a corpus's tokens and builds the trainers' vocabulary: tokens seen at
/// least <c>minCount</c> times, by decreasing count, ties by first occurrence (gensim's order).
/// </summary>
public static class CorpusVocabulary
{
    /// <summary>Counts the tokens of <paramref name="corpus"/> and keeps those with <c>count ≥ minCount</c>.</summary>
    /// <param name="corpus">The corpus.</param>
    /// <param name="minCount">Smallest count kept (≥ 1).</param>
    /// <param name="endOfLineToken">When set (fastText uses <c>&lt;/s&gt;</c>), this token is counted once at the end of every line.</param>
    /// <param name="cancellationToken">Stops the pass (throws <see cref="OperationCanceledException"/>: there is nothing usable yet).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minCount"/> is below 1.</exception>
    public static Vocabulary Build(TextCorpus corpus, long minCount, string? endOfLineToken = null, CancellationToken cancellationToken = default)
    {
        const string op = "corpus.vocabulary";
        Diagnostics.Guard.NotNull(op, corpus);
        Diagnostics.Guard.Positive(op, minCount);
        var counts = Count(corpus, endOfLineToken, cancellationToken);
        var builder = new VocabularyBuilder();
        foreach (var (token, count) in counts)
            builder.Add(token, count);
        return builder.Build(new VocabularyOptions { MinCount = minCount });
    }

    /// <summary>Every distinct token with its count, in order of first occurrence.</summary>
    internal static List<(string Token, long Count)> Count(TextCorpus corpus, string? endOfLineToken, CancellationToken cancellationToken)
    {
        var slots = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = slots.GetAlternateLookup<ReadOnlySpan<char>>();
        var tokens = new List<string>();
        var counts = new List<long>();
        using var cursor = corpus.Open();
        long lines = 0;
        while (cursor.NextLine())
        {
            if ((++lines & 0x3FF) == 0)
                cancellationToken.ThrowIfCancellationRequested();
            while (cursor.NextToken(out ReadOnlySpan<char> token))
                Add(token);
            if (endOfLineToken is not null)
                Add(endOfLineToken);
        }
        var result = new List<(string, long)>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
            result.Add((tokens[i], counts[i]));
        return result;

        void Add(ReadOnlySpan<char> token)
        {
            if (lookup.TryGetValue(token, out int slot))
            {
                CollectionsMarshal.AsSpan(counts)[slot]++;
                return;
            }
            string s = token.ToString();
            slots.Add(s, tokens.Count);
            tokens.Add(s);
            counts.Add(1);
        }
    }
}
