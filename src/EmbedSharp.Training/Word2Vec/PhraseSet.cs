using EmbedSharp.Diagnostics;
using EmbedSharp.Training.Common;

namespace EmbedSharp.Training.Word2Vec;

/// <summary>
/// Word pairs that word2phrase judged to be phrases, stored as the joined token <c>a_b</c> with the score
/// that selected them. Apply them to a corpus with <see cref="TextCorpus.WithPhrases"/>.
/// </summary>
public sealed class PhraseSet
{
    /// <summary>The character that joins the two words of a phrase.</summary>
    public const char Joiner = '_';

    private readonly Dictionary<string, double> _scores;
    private readonly Dictionary<string, double>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    /// <summary>A phrase set from joined tokens and their scores.</summary>
    /// <exception cref="ArgumentException">A phrase is null or has no joiner.</exception>
    public PhraseSet(IEnumerable<KeyValuePair<string, double>> phrases)
    {
        const string op = "phrases.create";
        Guard.NotNull(op, phrases);
        _scores = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (phrase, score) in phrases)
        {
            if (phrase is null || phrase.IndexOf(Joiner) <= 0)
                ThrowHelper.Argument(op, nameof(phrases), $"phrase '{phrase}' is not two words joined by '{Joiner}'");
            _scores[phrase] = score;
        }
        _lookup = _scores.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Number of phrases.</summary>
    public int Count => _scores.Count;

    /// <summary>The phrases with their scores.</summary>
    public IReadOnlyDictionary<string, double> Scores => _scores;

    /// <summary>True when <paramref name="joined"/> (<c>a_b</c>) is a phrase.</summary>
    public bool Contains(ReadOnlySpan<char> joined) => _lookup.ContainsKey(joined);

    /// <summary>True when the pair (<paramref name="first"/>, <paramref name="second"/>) is a phrase.</summary>
    public bool Contains(string first, string second) =>
        first is not null && second is not null && _scores.ContainsKey(first + Joiner + second);
}
