using EmbedSharp.Diagnostics;

namespace EmbedSharp.Vocabularies;

/// <summary>
/// Counts tokens from a stream (one pass, any size) and then builds a frequency-sorted
/// <see cref="Vocabulary"/>.
/// </summary>
public sealed class VocabularyBuilder
{
    private readonly Dictionary<string, int> _slot = new(StringComparer.Ordinal);
    private readonly List<string> _tokens = [];
    private readonly List<long> _counts = [];

    /// <summary>Number of distinct tokens seen.</summary>
    public int DistinctCount => _tokens.Count;

    /// <summary>Counts one occurrence of <paramref name="token"/> (or <paramref name="count"/> occurrences).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="token"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public void Add(string token, long count = 1)
    {
        const string op = "vocabulary.count";
        Guard.NotNull(op, token);
        Guard.NonNegative(op, count);
        if (_slot.TryGetValue(token, out int s))
        {
            _counts[s] = checked(_counts[s] + count);
            return;
        }
        _slot.Add(token, _tokens.Count);
        _tokens.Add(token);
        _counts.Add(count);
    }

    /// <summary>Counts every token of <paramref name="tokens"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="tokens"/> or one of its items is null.</exception>
    public void AddRange(IEnumerable<string> tokens)
    {
        Guard.NotNull("vocabulary.count", tokens);
        foreach (string t in tokens)
            Add(t);
    }

    /// <summary>
    /// Builds the vocabulary: special tokens first at ids <c>0 … k−1</c> (with their observed counts, possibly 0),
    /// then the ordinary tokens with <c>count ≥ MinCount</c> by decreasing count, ties per
    /// <see cref="VocabularyOptions.TieBreak"/>, cut to <see cref="VocabularyOptions.MaxSize"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The options are inconsistent (duplicate special tokens, an unknown or padding token that is not special, <c>MaxSize</c> smaller than the special tokens, <c>MinCount</c> negative).</exception>
    public Vocabulary Build(VocabularyOptions? options = null)
    {
        options ??= new VocabularyOptions();
        Vocabulary.ValidateOptions("vocabulary.build", options);
        var specials = new HashSet<string>(options.SpecialTokens, StringComparer.Ordinal);

        var order = new List<int>(_tokens.Count);
        for (int s = 0; s < _tokens.Count; s++)
            if (!specials.Contains(_tokens[s]) && _counts[s] >= options.MinCount)
                order.Add(s);
        // Slots are numbered by first occurrence, so comparing slots is the stable tie-break.
        Comparison<int> cmp = options.TieBreak == TieBreak.Ordinal
            ? (a, b) => _counts[b] != _counts[a] ? _counts[b].CompareTo(_counts[a]) : string.CompareOrdinal(_tokens[a], _tokens[b])
            : (a, b) => _counts[b] != _counts[a] ? _counts[b].CompareTo(_counts[a]) : a.CompareTo(b);
        order.Sort(cmp);

        int room = options.MaxSize is int max ? max - options.SpecialTokens.Count : int.MaxValue;
        int keep = Math.Min(order.Count, room);
        var tokens = new List<string>(options.SpecialTokens.Count + keep);
        var counts = new List<long>(options.SpecialTokens.Count + keep);
        foreach (string sp in options.SpecialTokens)
        {
            tokens.Add(sp);
            counts.Add(_slot.TryGetValue(sp, out int s) ? _counts[s] : 0);
        }
        for (int i = 0; i < keep; i++)
        {
            tokens.Add(_tokens[order[i]]);
            counts.Add(_counts[order[i]]);
        }
        return Vocabulary.CreateUnchecked(tokens, counts, options.SpecialTokens.Count,
            options.UnknownToken is null ? -1 : tokens.IndexOf(options.UnknownToken),
            options.PaddingToken is null ? -1 : tokens.IndexOf(options.PaddingToken));
    }
}
