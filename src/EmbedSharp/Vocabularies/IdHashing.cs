using EmbedSharp.Diagnostics;

namespace EmbedSharp.Vocabularies;

/// <summary>
/// Seeded hashing of integer ids into buckets, for the hashing trick and hash embeddings. Each seed
/// gives an independent-looking function; the same (id, seed) always gives the same bucket.
/// </summary>
/// <remarks>
/// <c>bucket(id, seed, B) = ⌊mix(id ⊕ mix(seed)) · B / 2⁶⁴⌋</c>, where <c>mix</c> is the SplitMix64 finalizer
/// (a bijection on 64-bit words with full avalanche) and the multiply-shift maps the 64-bit value to
/// <c>[0, B)</c> without a division. For distinct ids the buckets behave as uniform draws: two ids
/// share a bucket with probability ≈ <c>1/B</c>, and under <c>k</c> seeds share all <c>k</c> with ≈ <c>1/B^k</c>.
/// </remarks>
public static class IdHashing
{
    /// <summary>The SplitMix64 finalizer.</summary>
    public static ulong Mix(ulong x)
    {
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return x;
    }

    /// <summary>The bucket in <c>[0, buckets)</c> of <paramref name="id"/> under <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="buckets"/> is not positive.</exception>
    public static int Bucket(long id, ulong seed, int buckets)
    {
        Guard.Positive("hash.bucket", buckets);
        return BucketUnchecked(id, Mix(seed), buckets);
    }

    /// <summary>Writes the bucket of each id under <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="buckets"/> is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="ids"/>.</exception>
    public static void Buckets(ReadOnlySpan<long> ids, ulong seed, int buckets, Span<int> destination)
    {
        const string op = "hash.buckets";
        Guard.Positive(op, buckets);
        Guard.MinLength(op, destination.Length, ids.Length, "one bucket per id");
        ulong key = Mix(seed);
        for (int i = 0; i < ids.Length; i++)
            destination[i] = BucketUnchecked(ids[i], key, buckets);
    }

    /// <summary>
    /// A 64-bit id for a string token (FNV-1a over its UTF-8 bytes, then <see cref="Mix"/>), for feeding
    /// tokens without a vocabulary to id-based hash layers.
    /// </summary>
    public static long TokenId(string token)
    {
        Guard.NotNull("hash.token", token);
        ulong h = 14695981039346656037UL;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(token))
        {
            h ^= b;
            h *= 1099511628211UL;
        }
        return (long)Mix(h);
    }

    internal static int BucketUnchecked(long id, ulong mixedSeed, int buckets) =>
        (int)Math.BigMul(Mix((ulong)id ^ mixedSeed), (ulong)buckets, out _);
}

/// <summary>
/// The quotient–remainder split of DLRM's compositional embeddings (Shi et al. 2020): id
/// <c>x</c> becomes <c>(x / m, x mod m)</c>, rows of two small tables of <c>⌈N/m⌉</c> and <c>m</c> rows whose
/// pair is unique for every <c>x &lt; N</c>.
/// </summary>
public static class QuotientRemainder
{
    /// <summary>Rows of the quotient table: <c>⌈numEmbeddings / collisions⌉</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numEmbeddings"/> is negative, <paramref name="collisions"/> is not positive, or the result exceeds <see cref="int.MaxValue"/>.</exception>
    public static int QuotientRows(long numEmbeddings, int collisions)
    {
        const string op = "qr.rows";
        Guard.NonNegative(op, numEmbeddings);
        Guard.Positive(op, collisions);
        long rows = numEmbeddings / collisions + (numEmbeddings % collisions != 0 ? 1 : 0); // no overflow near long.MaxValue
        if (rows > int.MaxValue)
            ThrowHelper.ArgumentOutOfRange(op, nameof(collisions), collisions, $"{numEmbeddings} ids with collisions {collisions} need {rows} quotient rows, more than {int.MaxValue}; use collisions ≥ {numEmbeddings / int.MaxValue + 1}");
        return (int)rows;
    }

    /// <summary>Writes <c>quotients[i] = ids[i] / collisions</c> and <c>remainders[i] = ids[i] mod collisions</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside <c>[0, numEmbeddings)</c> (nothing is written), or a size is invalid.</exception>
    /// <exception cref="ArgumentException">A destination is shorter than <paramref name="ids"/>.</exception>
    public static void Split(ReadOnlySpan<long> ids, long numEmbeddings, int collisions, Span<int> quotients, Span<int> remainders)
    {
        const string op = "qr.split";
        QuotientRows(numEmbeddings, collisions);
        Guard.MinLength(op, quotients.Length, ids.Length, "one quotient per id");
        Guard.MinLength(op, remainders.Length, ids.Length, "one remainder per id");
        for (int i = 0; i < ids.Length; i++)
            if ((ulong)ids[i] >= (ulong)numEmbeddings)
                ThrowHelper.IndexOutOfRange(op, nameof(ids), ids[i], i, numEmbeddings);
        for (int i = 0; i < ids.Length; i++)
        {
            long q = Math.DivRem(ids[i], collisions, out long r);
            quotients[i] = (int)q;
            remainders[i] = (int)r;
        }
    }
}
