using System.Runtime.InteropServices;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Vocabularies;

/// <summary>
/// An immutable mapping between tokens and dense ids <c>0 … Count−1</c>, with a count per token and
/// reserved special tokens at fixed ids <c>0 … SpecialCount−1</c>.
/// </summary>
/// <remarks>
/// Build one from a token stream with <see cref="Build"/> (or <see cref="VocabularyBuilder"/> for
/// incremental counting), from an existing id order with <see cref="FromTokens"/>, or read one with
/// <see cref="Load"/>. Lookups are ordinal (byte-exact, culture-free). Out-of-vocabulary tokens map
/// to <see cref="UnknownId"/> when the vocabulary has an unknown token; otherwise
/// <see cref="GetId(string)"/> throws. Reads are safe from several threads.
/// </remarks>
public sealed partial class Vocabulary
{
    private readonly string[] _tokens;
    private readonly long[] _counts;
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanIds;

    private Vocabulary(string[] tokens, long[] counts, int specialCount, int unknownId, int paddingId, Dictionary<string, int> ids)
    {
        _tokens = tokens;
        _counts = counts;
        _ids = ids;
        _spanIds = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        SpecialCount = specialCount;
        UnknownId = unknownId < 0 ? null : unknownId;
        PaddingId = paddingId < 0 ? null : paddingId;
        long total = 0;
        foreach (long c in counts)
            total = checked(total + c);
        TotalCount = total;
    }

    /// <summary>Number of tokens (the <c>NumEmbeddings</c> a table for this vocabulary needs).</summary>
    public int Count => _tokens.Length;

    /// <summary>Number of special tokens; they hold ids <c>0 … SpecialCount−1</c>.</summary>
    public int SpecialCount { get; }

    /// <summary>Id of the unknown token, or null when out-of-vocabulary lookups throw.</summary>
    public int? UnknownId { get; }

    /// <summary>Id of the padding token, or null. Pass it as an <c>Embedding</c>'s <c>PaddingIdx</c>.</summary>
    public int? PaddingId { get; }

    /// <summary>Sum of all counts.</summary>
    public long TotalCount { get; }

    /// <summary>The tokens in id order.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>The counts in id order.</summary>
    public ReadOnlySpan<long> Counts => _counts;

    /// <summary>
    /// Counts <paramref name="tokens"/> and builds a vocabulary (see <see cref="VocabularyBuilder.Build"/>
    /// for the order and pruning rules).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="tokens"/> or one of its items is null.</exception>
    /// <exception cref="ArgumentException">The options are inconsistent.</exception>
    public static Vocabulary Build(IEnumerable<string> tokens, VocabularyOptions? options = null)
    {
        var builder = new VocabularyBuilder();
        builder.AddRange(tokens);
        return builder.Build(options);
    }

    /// <summary>
    /// Wraps tokens already in id order (a <c>vocab.txt</c>, a word2vec header order). The special tokens of
    /// <paramref name="options"/> must be the first tokens, in the same order; <c>MinCount</c>,
    /// <c>MaxSize</c> and <c>TieBreak</c> are ignored (nothing is reordered or dropped).
    /// </summary>
    /// <param name="tokens">Tokens, id <c>i</c> = position <c>i</c>; all distinct.</param>
    /// <param name="counts">One count ≥ 0 per token, or empty for all zeros.</param>
    /// <param name="options">Special, unknown and padding tokens.</param>
    /// <exception cref="ArgumentException">Duplicate or null tokens, a count list of the wrong length or with a negative count, or special tokens that are not the leading tokens.</exception>
    public static Vocabulary FromTokens(IEnumerable<string> tokens, ReadOnlySpan<long> counts = default, VocabularyOptions? options = null)
    {
        const string op = "vocabulary.from_tokens";
        Guard.NotNull(op, tokens);
        options ??= new VocabularyOptions();
        ValidateOptions(op, options);
        string[] list = tokens.ToArray();
        if (!counts.IsEmpty)
            Guard.Length(op, counts.Length, list.Length, "one count per token");
        for (int i = 0; i < counts.Length; i++)
            if (counts[i] < 0)
                ThrowHelper.Argument(op, nameof(counts), $"counts[{i}] = {counts[i]} is negative; counts must be ≥ 0");
        int k = options.SpecialTokens.Count;
        if (k > list.Length)
            ThrowHelper.Argument(op, nameof(options), $"there are {k} special tokens but only {list.Length} tokens");
        for (int i = 0; i < k; i++)
            if (!string.Equals(list[i], options.SpecialTokens[i], StringComparison.Ordinal))
                ThrowHelper.Argument(op, nameof(tokens), $"tokens[{i}] = '{list[i]}' but special token {i} is '{options.SpecialTokens[i]}'; special tokens must lead, in order");
        long[] c = counts.IsEmpty ? new long[list.Length] : counts.ToArray();
        return CreateChecked(op, list, c, k,
            options.UnknownToken is null ? -1 : Array.IndexOf(list, options.UnknownToken),
            options.PaddingToken is null ? -1 : Array.IndexOf(list, options.PaddingToken));
    }

    /// <summary>True when <paramref name="token"/> has an id.</summary>
    public bool Contains(string token) => token is not null && _ids.ContainsKey(token);

    /// <summary>Looks up <paramref name="token"/>; false (and <paramref name="id"/> = −1) when it has no id.</summary>
    public bool TryGetId(string token, out int id)
    {
        if (token is not null && _ids.TryGetValue(token, out id))
            return true;
        id = -1;
        return false;
    }

    /// <summary>Looks up a token given as characters, without allocating a string.</summary>
    public bool TryGetId(ReadOnlySpan<char> token, out int id)
    {
        if (_spanIds.TryGetValue(token, out id))
            return true;
        id = -1;
        return false;
    }

    /// <summary>The id of <paramref name="token"/>, or <see cref="UnknownId"/> when it is out of vocabulary.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="token"/> is null.</exception>
    /// <exception cref="KeyNotFoundException">The token is unknown and the vocabulary has no unknown token.</exception>
    public int GetId(string token)
    {
        Guard.NotNull("vocabulary.id", token);
        if (_ids.TryGetValue(token, out int id))
            return id;
        return UnknownId ?? throw new KeyNotFoundException(ThrowHelper.Format("vocabulary.id",
            $"token '{token}' is not in the vocabulary ({Count} tokens) and it has no unknown token; set VocabularyOptions.UnknownToken or use TryGetId"));
    }

    /// <summary>The token with id <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not in <c>[0, Count)</c>.</exception>
    public string GetToken(int id)
    {
        if ((uint)id >= (uint)_tokens.Length)
            ThrowHelper.IndexOutOfRange("vocabulary.token", nameof(id), id, 0, _tokens.Length);
        return _tokens[id];
    }

    /// <summary>The count of token <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not in <c>[0, Count)</c>.</exception>
    public long GetCount(int id)
    {
        if ((uint)id >= (uint)_counts.Length)
            ThrowHelper.IndexOutOfRange("vocabulary.count", nameof(id), id, 0, _counts.Length);
        return _counts[id];
    }

    /// <summary>True when <paramref name="id"/> is a special token's id.</summary>
    public bool IsSpecial(int id) => (uint)id < (uint)SpecialCount;

    /// <summary>
    /// Writes the id of each token (<see cref="GetId(string)"/> semantics) to <paramref name="destination"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="tokens"/>.</exception>
    /// <exception cref="KeyNotFoundException">A token is unknown and the vocabulary has no unknown token (nothing is written).</exception>
    public void Encode(ReadOnlySpan<string> tokens, Span<int> destination)
    {
        const string op = "vocabulary.encode";
        Guard.MinLength(op, destination.Length, tokens.Length, "one id per token");
        if (UnknownId is null)
        {
            for (int i = 0; i < tokens.Length; i++)
                if (tokens[i] is null || !_ids.ContainsKey(tokens[i]))
                    throw new KeyNotFoundException(ThrowHelper.Format(op,
                        $"tokens[{i}] = '{tokens[i]}' is not in the vocabulary and it has no unknown token; set VocabularyOptions.UnknownToken"));
        }
        for (int i = 0; i < tokens.Length; i++)
            destination[i] = tokens[i] is not null && _ids.TryGetValue(tokens[i], out int id) ? id : UnknownId!.Value;
    }

    /// <summary>The ids of <paramref name="tokens"/> as a new array (see <see cref="Encode(ReadOnlySpan{string}, Span{int})"/>).</summary>
    public int[] Encode(IEnumerable<string> tokens)
    {
        Guard.NotNull("vocabulary.encode", tokens);
        string[] t = tokens.ToArray();
        int[] ids = new int[t.Length];
        Encode(t, ids);
        return ids;
    }

    /// <summary>The tokens of <paramref name="ids"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in <c>[0, Count)</c>.</exception>
    public string[] Decode(ReadOnlySpan<int> ids)
    {
        int firstBad = EmbedSharp.Numerics.Kernels.FirstOutOfRange(ids, _tokens.Length);
        if (firstBad >= 0)
            ThrowHelper.IndexOutOfRange("vocabulary.decode", nameof(ids), ids[firstBad], firstBad, _tokens.Length);
        string[] result = new string[ids.Length];
        for (int i = 0; i < ids.Length; i++)
            result[i] = _tokens[ids[i]];
        return result;
    }

    internal static void ValidateOptions(string op, VocabularyOptions options)
    {
        Guard.NotNull(op, options.SpecialTokens);
        Guard.NonNegative(op, options.MinCount);
        if (!Enum.IsDefined(options.TieBreak))
            ThrowHelper.ArgumentOutOfRange(op, nameof(options.TieBreak), options.TieBreak, "TieBreak is unknown; valid values are FirstOccurrence, Ordinal");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < options.SpecialTokens.Count; i++)
        {
            string? s = options.SpecialTokens[i];
            if (s is null)
                ThrowHelper.Argument(op, nameof(options.SpecialTokens), $"SpecialTokens[{i}] is null");
            if (!seen.Add(s))
                ThrowHelper.Argument(op, nameof(options.SpecialTokens), $"special token '{s}' is listed twice");
        }
        if (options.UnknownToken is string unk && !seen.Contains(unk))
            ThrowHelper.Argument(op, nameof(options.UnknownToken), $"UnknownToken '{unk}' is not one of the special tokens ({string.Join(", ", options.SpecialTokens)}); list it there so it gets a fixed id");
        if (options.PaddingToken is string pad && !seen.Contains(pad))
            ThrowHelper.Argument(op, nameof(options.PaddingToken), $"PaddingToken '{pad}' is not one of the special tokens ({string.Join(", ", options.SpecialTokens)}); list it there so it gets a fixed id");
        if (options.MaxSize is int max && max < options.SpecialTokens.Count)
            ThrowHelper.ArgumentOutOfRange(op, nameof(options.MaxSize), max, $"MaxSize {max} is smaller than the {options.SpecialTokens.Count} special tokens; valid values are ≥ {options.SpecialTokens.Count}");
    }

    /// <summary>For builders whose input is distinct by construction.</summary>
    internal static Vocabulary CreateUnchecked(List<string> tokens, List<long> counts, int specialCount, int unknownId, int paddingId)
    {
        var ids = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        for (int i = 0; i < tokens.Count; i++)
            ids.Add(tokens[i], i);
        return new Vocabulary([.. tokens], [.. counts], specialCount, unknownId, paddingId, ids);
    }

    /// <summary>Checks distinctness and non-null tokens, then wraps the arrays (no copy).</summary>
    internal static Vocabulary CreateChecked(string op, string[] tokens, long[] counts, int specialCount, int unknownId, int paddingId)
    {
        var ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++)
        {
            if (tokens[i] is null)
                ThrowHelper.Argument(op, nameof(tokens), $"tokens[{i}] is null");
            ref int slot = ref CollectionsMarshal.GetValueRefOrAddDefault(ids, tokens[i], out bool exists);
            if (exists)
                ThrowHelper.Argument(op, nameof(tokens), $"token '{tokens[i]}' appears twice (ids {slot} and {i}); tokens must be distinct");
            slot = i;
        }
        return new Vocabulary(tokens, counts, specialCount, unknownId, paddingId, ids);
    }
}
