using System.Runtime.CompilerServices;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Training.Losses;

/// <summary>
/// Draws negative words from the smoothed unigram distribution <c>P(w) ∝ count(w)^power</c> (word2vec's
/// <c>power = 0.75</c>; fastText uses 0.5) with one table lookup per draw.
/// </summary>
/// <remarks>
/// The table holds word ids, each repeated in proportion to its probability (word2vec's
/// <c>InitUnigramTable</c>): a draw is <c>table[r mod size]</c> for a uniform random r. The table size
/// bounds the resolution: a word with probability p gets <c>round(p·size)</c> slots (at least one when
/// its count is positive). The size defaults to <c>clamp(100·V, 10⁶, 10⁷)</c> slots (fastText's 10⁷ at
/// most): a larger table resolves rare words no better in practice but turns every draw into a cache miss.
/// </remarks>
public sealed class NegativeSampler
{
    private readonly int[] _table;

    /// <summary>Builds the table from per-word counts.</summary>
    /// <exception cref="ArgumentException"><paramref name="counts"/> is empty, has a negative count, or sums to zero.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="power"/> is not finite and ≥ 0, or <paramref name="tableSize"/> is not positive.</exception>
    public NegativeSampler(ReadOnlySpan<long> counts, double power = 0.75, int? tableSize = null)
    {
        const string op = "negative_sampling.create";
        if (counts.IsEmpty)
            ThrowHelper.Argument(op, nameof(counts), "counts is empty; negative sampling needs at least one word");
        if (!(power >= 0) || double.IsInfinity(power))
            ThrowHelper.ArgumentOutOfRange(op, nameof(power), power, $"power must be a finite number ≥ 0 but was {power}");
        int size = tableSize ?? (int)Math.Clamp(100L * counts.Length, 1_000_000L, 10_000_000L);
        Guard.Positive(op, size, nameof(tableSize));
        double total = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            if (counts[i] < 0)
                ThrowHelper.Argument(op, nameof(counts), $"counts[{i}] = {counts[i]} is negative; counts must be ≥ 0");
            total += Math.Pow(counts[i], power);
        }
        if (!(total > 0))
            ThrowHelper.Argument(op, nameof(counts), "all counts are zero; at least one word must have a positive count");
        Power = power;
        _table = new int[size];
        // Fill slot s with the word whose cumulative probability interval contains (s + 0.5)/size.
        int w = 0;
        double cumulative = Math.Pow(counts[0], power) / total;
        for (int s = 0; s < size; s++)
        {
            double at = (s + 0.5) / size;
            while (at > cumulative && w < counts.Length - 1)
            {
                w++;
                cumulative += Math.Pow(counts[w], power) / total;
            }
            _table[s] = w;
        }
    }

    /// <summary>The exponent applied to the counts.</summary>
    public double Power { get; }

    /// <summary>Number of slots.</summary>
    public int TableSize => _table.Length;

    /// <summary>A word drawn from <c>P(w) ∝ count^power</c>.</summary>
    public int Sample(SeededRandom random) => Sample(random.NextUInt64());

    /// <summary>The word in the slot chosen by the 64 random bits <paramref name="bits"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Sample(ulong bits) => _table[(int)(((bits >> 32) * (ulong)_table.Length) >> 32)];

    /// <summary>The share of the table held by word <paramref name="word"/> (its sampling probability).</summary>
    public double Probability(int word)
    {
        long n = 0;
        foreach (int t in _table)
            if (t == word)
                n++;
        return (double)n / _table.Length;
    }

    internal int[] Table => _table;
}
