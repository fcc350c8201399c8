using EmbedSharp.Diagnostics;
using EmbedSharp.Training.Common;

namespace EmbedSharp.Training.Word2Vec;

/// <summary>Settings for <see cref="PhraseDetector"/> (word2phrase's defaults).</summary>
public sealed record PhraseOptions
{
    /// <summary>Words and pairs seen fewer times are ignored (default 5); also the discount δ of the score.</summary>
    public long MinCount { get; init; } = 5;

    /// <summary>A pair is a phrase when its score exceeds this (default 100).</summary>
    public double Threshold { get; init; } = 100;

    /// <summary>Most distinct pairs counted at once; above it the rarest pairs are pruned, as word2phrase does (default 20 000 000).</summary>
    public int MaxPairs { get; init; } = 20_000_000;
}

/// <summary>
/// word2phrase (Mikolov et al. 2013, §4): finds word pairs that occur together more than chance, so that
/// they can be trained as single tokens (<c>new_york</c>). Two streaming passes over the corpus.
/// </summary>
/// <remarks>
/// A pair <c>(a, b)</c> of adjacent tokens on a line scores
/// <c>(count(ab) − δ) / (count(a)·count(b)) · N</c>, with δ = <c>MinCount</c> and N the number of tokens;
/// it is a phrase when both words and the pair occur at least <c>MinCount</c> times and the score exceeds
/// <c>Threshold</c>. Run it again on <c>corpus.WithPhrases(…)</c>'s output to get longer phrases is not
/// supported: one level of joining is applied.
/// </remarks>
public static class PhraseDetector
{
    /// <summary>Scores every adjacent pair of <paramref name="corpus"/> and returns the phrases.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (nothing usable exists yet).</exception>
    public static PhraseSet Detect(TextCorpus corpus, PhraseOptions? options = null, CancellationToken cancellationToken = default)
    {
        const string op = "phrases.detect";
        Guard.NotNull(op, corpus);
        options ??= new PhraseOptions();
        Guard.Positive(op, options.MinCount, nameof(options.MinCount));
        Guard.Finite(op, options.Threshold, nameof(options.Threshold));
        Guard.Positive(op, options.MaxPairs, nameof(options.MaxPairs));
        if (corpus.Phrases is not null)
            ThrowHelper.Argument(op, nameof(corpus), "the corpus already joins phrases; detect on the plain corpus");

        var unigrams = CorpusVocabulary.Count(corpus, null, cancellationToken);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var words = new List<string>();
        var counts = new List<long>();
        long total = 0;
        foreach (var (token, count) in unigrams)
        {
            total += count;
            if (count >= options.MinCount)
            {
                ids.Add(token, words.Count);
                words.Add(token);
                counts.Add(count);
            }
        }
        var lookup = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        var pairs = new Dictionary<long, int>();
        int pruneBelow = 1;
        using (var cursor = corpus.Open())
        {
            long lines = 0;
            while (cursor.NextLine())
            {
                if ((++lines & 0x3FF) == 0)
                    cancellationToken.ThrowIfCancellationRequested();
                int prev = -1;
                while (cursor.NextToken(out ReadOnlySpan<char> token))
                {
                    int id = lookup.TryGetValue(token, out int x) ? x : -1;
                    if (prev >= 0 && id >= 0)
                    {
                        long key = ((long)prev << 32) | (uint)id;
                        pairs[key] = pairs.TryGetValue(key, out int c) ? c + 1 : 1;
                        if (pairs.Count > options.MaxPairs)
                        {
                            // word2phrase's ReduceVocab: drop the rarest pairs, raising the bar each time.
                            foreach (var kv in pairs)
                                if (kv.Value <= pruneBelow)
                                    pairs.Remove(kv.Key);
                            pruneBelow++;
                        }
                    }
                    prev = id;
                }
            }
        }
        var result = new List<KeyValuePair<string, double>>();
        foreach (var (key, c) in pairs)
        {
            if (c < options.MinCount)
                continue;
            int a = (int)(key >> 32), b = (int)(key & 0xFFFFFFFF);
            double score = (c - (double)options.MinCount) / ((double)counts[a] * counts[b]) * total;
            if (score > options.Threshold)
                result.Add(new(words[a] + PhraseSet.Joiner + words[b], score));
        }
        return new PhraseSet(result);
    }
}
