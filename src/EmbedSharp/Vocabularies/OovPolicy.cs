using EmbedSharp.Diagnostics;

namespace EmbedSharp.Vocabularies;

/// <summary>
/// Turns a token into the table rows whose <b>mean</b> is its vector. Subclasses decide what happens to
/// out-of-vocabulary tokens: map them to <c>&lt;unk&gt;</c> (<see cref="UnknownTokenPolicy"/>), compose
/// them from character n-grams (<see cref="SubwordPolicy"/>) or hash them into buckets
/// (<see cref="HashBucketPolicy"/>).
/// </summary>
/// <remarks>
/// The rows form one mean-pooled bag per token, so a batch can go straight to a pooled lookup:
/// <see cref="AppendBags"/> writes FBGEMM-style <c>indices</c>/<c>offsets</c> for <c>PoolingMode.Mean</c>.
/// <see cref="Compose"/> computes one vector directly: <c>v = (1/n) Σ_k table[rows[k]]</c>, or zeros when
/// <c>n = 0</c> (fastText's behaviour for a word with no n-grams).
/// </remarks>
public abstract class OovPolicy
{
    /// <summary>Rows the table must have for every row this policy returns to be valid.</summary>
    public abstract int NumEmbeddings { get; }

    /// <summary>Appends the rows of <paramref name="token"/>; returns how many (0 means the zero vector).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="token"/> or <paramref name="rows"/> is null.</exception>
    public abstract int AppendRows(string token, List<int> rows);

    /// <summary>The rows of <paramref name="token"/> as a new array.</summary>
    public int[] GetRows(string token)
    {
        var rows = new List<int>();
        AppendRows(token, rows);
        return [.. rows];
    }

    /// <summary>
    /// Writes the vector of <paramref name="token"/>: the mean of its rows of the row-major float32 table
    /// <paramref name="weights"/> (<paramref name="dims"/> columns), summed in float32 in row order and then
    /// multiplied by <c>1/n</c> as fastText does, or zeros when the token has no rows.
    /// </summary>
    /// <remarks>For an <c>EmbeddingTable</c> of float32 pass <c>table.AsSpan&lt;float&gt;()</c> and <c>table.Dims</c>.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dims"/> is negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="weights"/> holds fewer than <see cref="NumEmbeddings"/> rows, or <paramref name="destination"/> is shorter than <paramref name="dims"/>.</exception>
    public void Compose(string token, ReadOnlySpan<float> weights, int dims, Span<float> destination)
    {
        const string op = "oov.compose";
        Guard.NonNegative(op, dims);
        Guard.MinLength(op, weights.Length, (long)NumEmbeddings * dims, "NumEmbeddings × dims");
        Guard.MinLength(op, destination.Length, dims, "one row");
        var rows = new List<int>();
        AppendRows(token, rows);
        Span<float> dst = destination[..dims];
        dst.Clear();
        if (rows.Count == 0)
            return;
        foreach (int r in rows)
            System.Numerics.Tensors.TensorPrimitives.Add(dst, weights.Slice(r * dims, dims), dst);
        System.Numerics.Tensors.TensorPrimitives.Multiply(dst, 1f / rows.Count, dst);
    }

    /// <summary>
    /// Appends one bag per token in CSR form: <c>offsets</c> gets the start of each bag in <c>indices</c>
    /// (no trailing offset), <c>indices</c> the rows. Feed them to a mean-pooled bag lookup.
    /// </summary>
    /// <example>
    /// Tokens <c>["cat", "xyz"]</c> with "cat" = id 4 and "xyz" unknown under <see cref="SubwordPolicy"/> might give
    /// <c>indices = [4, 1007, 2311, 1099, …]</c>, <c>offsets = [0, 1 + ngrams("cat")]</c>.
    /// </example>
    /// <exception cref="ArgumentNullException">An argument or a token is null.</exception>
    public void AppendBags(IEnumerable<string> tokens, List<int> indices, List<int> offsets)
    {
        const string op = "oov.bags";
        Guard.NotNull(op, tokens);
        Guard.NotNull(op, indices);
        Guard.NotNull(op, offsets);
        foreach (string t in tokens)
        {
            offsets.Add(indices.Count);
            AppendRows(t, indices);
        }
    }
}

/// <summary>Known tokens map to their id, unknown ones to the vocabulary's <see cref="Vocabulary.UnknownId"/>.</summary>
public sealed class UnknownTokenPolicy : OovPolicy
{
    private readonly Vocabulary _vocabulary;

    /// <summary>Creates the policy.</summary>
    /// <exception cref="ArgumentException">The vocabulary has no unknown token.</exception>
    public UnknownTokenPolicy(Vocabulary vocabulary)
    {
        Guard.NotNull("oov.unknown", vocabulary);
        if (vocabulary.UnknownId is null)
            ThrowHelper.Argument("oov.unknown", nameof(vocabulary), "the vocabulary has no unknown token; build it with VocabularyOptions.UnknownToken set");
        _vocabulary = vocabulary;
    }

    /// <inheritdoc/>
    public override int NumEmbeddings => _vocabulary.Count;

    /// <inheritdoc/>
    public override int AppendRows(string token, List<int> rows)
    {
        Guard.NotNull("oov.unknown", token);
        Guard.NotNull("oov.unknown", rows);
        rows.Add(_vocabulary.GetId(token));
        return 1;
    }
}

/// <summary>
/// fastText's composition: a token's vector is the mean of its own row (when in the vocabulary) and
/// its character n-gram rows, which follow the word rows (<c>row = vocabulary.Count + bucket</c>).
/// </summary>
/// <remarks>
/// Special tokens of the vocabulary (and fastText's <c>&lt;/s&gt;</c>) use only their own row. An
/// out-of-vocabulary token without any n-gram (shorter than <c>minn</c> with markers) gets the zero vector.
/// </remarks>
public sealed class SubwordPolicy : OovPolicy
{
    private readonly Vocabulary _vocabulary;

    /// <summary>Creates the policy.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The vocabulary plus the buckets exceed <see cref="int.MaxValue"/> rows.</exception>
    public SubwordPolicy(Vocabulary vocabulary, SubwordHasher hasher)
    {
        Guard.NotNull("oov.subword", vocabulary);
        Guard.NotNull("oov.subword", hasher);
        if ((long)vocabulary.Count + hasher.Bucket > int.MaxValue)
            ThrowHelper.ArgumentOutOfRange("oov.subword", nameof(hasher), hasher.Bucket, $"{vocabulary.Count} words + {hasher.Bucket} buckets exceed {int.MaxValue} rows");
        _vocabulary = vocabulary;
        Hasher = hasher;
    }

    /// <summary>The n-gram hasher.</summary>
    public SubwordHasher Hasher { get; }

    /// <inheritdoc/>
    public override int NumEmbeddings => _vocabulary.Count + Hasher.Bucket;

    /// <inheritdoc/>
    public override int AppendRows(string token, List<int> rows)
    {
        Guard.NotNull("oov.subword", token);
        Guard.NotNull("oov.subword", rows);
        bool known = _vocabulary.TryGetId(token, out int id);
        if (known && _vocabulary.IsSpecial(id))
        {
            rows.Add(id);
            return 1;
        }
        return Hasher.GetSubwordRows(token, _vocabulary.Count, known ? id : -1, rows);
    }
}

/// <summary>
/// The hashing trick: tokens outside the vocabulary (all tokens, when there is none) go to one of
/// <see cref="Buckets"/> rows chosen by fastText's FNV-1a hash, placed after the vocabulary rows.
/// </summary>
/// <remarks>
/// <c>row(t) = id(t)</c> for a known token, else <c>V + FNV1a(utf8(t)) mod B</c>. Distinct unknown tokens share
/// a row with probability about <c>1/B</c> per pair; with <c>n</c> of them, about <c>B·(1 − (1 − 1/B)^n)</c>
/// rows are in use.
/// </remarks>
public sealed class HashBucketPolicy : OovPolicy
{
    private readonly Vocabulary? _vocabulary;

    /// <summary>Creates the policy.</summary>
    /// <param name="buckets">Number of hash rows <c>B</c>.</param>
    /// <param name="vocabulary">Known tokens keep their own rows; null hashes every token.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="buckets"/> is not positive, or the rows exceed <see cref="int.MaxValue"/>.</exception>
    public HashBucketPolicy(int buckets, Vocabulary? vocabulary = null)
    {
        Guard.Positive("oov.hash", buckets);
        if ((long)(vocabulary?.Count ?? 0) + buckets > int.MaxValue)
            ThrowHelper.ArgumentOutOfRange("oov.hash", nameof(buckets), buckets, $"{vocabulary!.Count} words + {buckets} buckets exceed {int.MaxValue} rows");
        Buckets = buckets;
        _vocabulary = vocabulary;
    }

    /// <summary>Number of hash rows.</summary>
    public int Buckets { get; }

    /// <inheritdoc/>
    public override int NumEmbeddings => (_vocabulary?.Count ?? 0) + Buckets;

    /// <summary>The bucket (in <c>[0, Buckets)</c>) a token hashes to, ignoring the vocabulary.</summary>
    public int Bucket(string token)
    {
        Guard.NotNull("oov.hash", token);
        return (int)(SubwordHasher.Hash(token) % (uint)Buckets);
    }

    /// <inheritdoc/>
    public override int AppendRows(string token, List<int> rows)
    {
        Guard.NotNull("oov.hash", token);
        Guard.NotNull("oov.hash", rows);
        if (_vocabulary is not null && _vocabulary.TryGetId(token, out int id))
            rows.Add(id);
        else
            rows.Add((_vocabulary?.Count ?? 0) + Bucket(token));
        return 1;
    }
}
