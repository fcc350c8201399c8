using EmbedSharp.Diagnostics;

namespace EmbedSharp.Positional;

/// <summary>
/// ALiBi (Press et al. 2022, "Train Short, Test Long"): a per-head linear penalty on query–key
/// distance added to the attention logits instead of a position embedding.
/// </summary>
public static class Alibi
{
    /// <summary>
    /// Writes the head slopes <c>m_h</c>.
    /// </summary>
    /// <remarks>
    /// For <c>n</c> a power of two, <c>m_h = 2^(−8(h+1)/n)</c>, a geometric sequence starting and stepping by
    /// <c>2^(−8/n)</c>. Otherwise, with <c>c</c> the largest power of two below <c>n</c>, the first <c>c</c>
    /// slopes are those of <c>c</c> heads and the remaining <c>n − c</c> are every other slope of <c>2c</c>
    /// heads (<c>2^(−4(2j+1)/c)</c>, <c>j = 0, 1, …</c>), as in the authors' code.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numHeads"/> is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="numHeads"/>.</exception>
    public static void Slopes(int numHeads, Span<float> destination)
    {
        const string op = "alibi.slopes";
        Guard.Positive(op, numHeads);
        Guard.MinLength(op, destination.Length, numHeads, "one slope per head");
        int c = 1 << (31 - System.Numerics.BitOperations.LeadingZeroCount((uint)numHeads)); // largest power of two ≤ n
        for (int h = 0; h < c; h++)
            destination[h] = (float)Math.Pow(2.0, -8.0 * (h + 1) / c);
        for (int j = 0; j < numHeads - c; j++)
            destination[c + j] = (float)Math.Pow(2.0, -8.0 * (2 * j + 1) / (2.0 * c));
    }

    /// <summary>
    /// Writes the bias block <c>[slopes.Length, queryLength, keyLength]</c>, row-major:
    /// <c>bias[h, i, j] = −m_h · |(keyLength − queryLength + i) − j|</c>.
    /// </summary>
    /// <remarks>
    /// Query <c>i</c> sits at absolute position <c>keyLength − queryLength + i</c>, so a decoding step with a
    /// KV cache (one query, many keys) gets the right distances. For causal attention the values at
    /// visible keys (<c>j ≤</c> the query's position) equal the paper's <c>m·(j − i)</c>; future keys get the
    /// mirrored penalty and are expected to be masked by the caller.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">A length is negative, or <paramref name="queryLength"/> exceeds <paramref name="keyLength"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static void Bias(ReadOnlySpan<float> slopes, int queryLength, int keyLength, Span<float> destination)
    {
        const string op = "alibi.bias";
        Guard.NonNegative(op, queryLength);
        Guard.NonNegative(op, keyLength);
        if (queryLength > keyLength)
            ThrowHelper.ArgumentOutOfRange(op, nameof(queryLength), queryLength, $"queryLength {queryLength} exceeds keyLength {keyLength}; queries attend to keys that include themselves, so valid values are 0..{keyLength}");
        Guard.MinLength(op, destination.Length, (long)slopes.Length * queryLength * keyLength, "slopes.Length × queryLength × keyLength");
        int shift = keyLength - queryLength;
        int k = 0;
        for (int h = 0; h < slopes.Length; h++)
        {
            float m = slopes[h];
            for (int i = 0; i < queryLength; i++)
            {
                int q = shift + i;
                for (int j = 0; j < keyLength; j++)
                    destination[k++] = -m * Math.Abs(q - j);
            }
        }
    }
}
