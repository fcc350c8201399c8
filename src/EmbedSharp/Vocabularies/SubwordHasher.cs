using System.Text;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Vocabularies;

/// <summary>
/// fastText's character n-grams: the word is wrapped as <c>&lt;word&gt;</c>, every n-gram of
/// <see cref="MinN"/>…<see cref="MaxN"/> characters (UTF-8 code points, not bytes) is hashed with
/// 32-bit FNV-1a and reduced modulo <see cref="Bucket"/>.
/// </summary>
/// <remarks>
/// A model's input matrix holds the <c>nwords</c> word rows first and the <c>bucket</c> n-gram rows after
/// them, so n-gram bucket <c>b</c> is table row <c>nwords + b</c> (<see cref="GetSubwordRows"/>). The
/// single-character n-grams <c>&lt;</c> and <c>&gt;</c> are skipped, as fastText does. Ids produced here equal
/// those of Debian's <c>fasttext</c> 0.9.2 (<c>get_subwords</c>), including its signed-char hashing.
/// </remarks>
public sealed class SubwordHasher
{
    /// <summary>fastText's begin-of-word marker.</summary>
    public const string BeginOfWord = "<";

    /// <summary>fastText's end-of-word marker.</summary>
    public const string EndOfWord = ">";

    /// <summary>Creates a hasher; the defaults are fastText's (minn 3, maxn 6, bucket 2 000 000).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minn"/> is not positive (unless <paramref name="maxn"/> is 0, which disables n-grams), <paramref name="maxn"/> &lt; <paramref name="minn"/>, or <paramref name="bucket"/> is not positive.</exception>
    public SubwordHasher(int minn = 3, int maxn = 6, int bucket = 2_000_000)
    {
        const string op = "subword.create";
        Guard.NonNegative(op, maxn);
        Guard.Positive(op, bucket);
        if (maxn > 0)
        {
            Guard.Positive(op, minn);
            if (maxn < minn)
                ThrowHelper.ArgumentOutOfRange(op, nameof(maxn), maxn, $"maxn {maxn} is smaller than minn {minn}; valid values are ≥ minn, or 0 to disable n-grams");
        }
        MinN = minn;
        MaxN = maxn;
        Bucket = bucket;
    }

    /// <summary>Shortest n-gram, in characters.</summary>
    public int MinN { get; }

    /// <summary>Longest n-gram, in characters (0: no n-grams).</summary>
    public int MaxN { get; }

    /// <summary>Number of n-gram rows.</summary>
    public int Bucket { get; }

    /// <summary>
    /// fastText's hash: 32-bit FNV-1a over the bytes, except that each byte is sign-extended first
    /// (<c>h ^= (uint)(sbyte)b; h *= 16777619</c>, starting from 2166136261).
    /// </summary>
    public static uint Hash(ReadOnlySpan<byte> utf8)
    {
        uint h = 2166136261u;
        foreach (byte b in utf8)
        {
            // fastText reads std::string chars, which are signed on x86: bytes ≥ 0x80 XOR in as
            // 0xFFFFFF80..0xFFFFFFFF, not 0x80..0xFF. Plain FNV-1a would give different ids for any non-ASCII n-gram.
            h ^= (uint)(sbyte)b;
            h *= 16777619u;
        }
        return h;
    }

    /// <summary>The hash of the UTF-8 encoding of <paramref name="text"/> (see <see cref="Hash(ReadOnlySpan{byte})"/>).</summary>
    public static uint Hash(string text)
    {
        Guard.NotNull("subword.hash", text);
        return Hash(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>
    /// Appends the n-gram buckets of <paramref name="word"/> (in <c>[0, Bucket)</c>, fastText's order:
    /// by start character, then by length) and, when <paramref name="ngrams"/> is given, the n-grams themselves.
    /// </summary>
    /// <returns>How many buckets were appended.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="word"/> or <paramref name="buckets"/> is null.</exception>
    public int GetNgramBuckets(string word, List<int> buckets, List<string>? ngrams = null)
    {
        const string op = "subword.ngrams";
        Guard.NotNull(op, word);
        Guard.NotNull(op, buckets);
        if (MaxN == 0)
            return 0;
        byte[] w = Encoding.UTF8.GetBytes(BeginOfWord + word + EndOfWord);
        int before = buckets.Count;
        for (int i = 0; i < w.Length; i++)
        {
            if (IsContinuation(w[i]))
                continue; // n-grams start on a character boundary
            int j = i;
            for (int n = 1; j < w.Length && n <= MaxN; n++)
            {
                j++; // take the lead byte, then its continuation bytes: one character
                while (j < w.Length && IsContinuation(w[j]))
                    j++;
                if (n >= MinN && !(n == 1 && (i == 0 || j == w.Length)))
                {
                    ReadOnlySpan<byte> gram = w.AsSpan(i, j - i);
                    buckets.Add((int)(Hash(gram) % (uint)Bucket));
                    ngrams?.Add(Encoding.UTF8.GetString(gram));
                }
            }
        }
        return buckets.Count - before;
    }

    /// <summary>The n-gram buckets of <paramref name="word"/> as a new array.</summary>
    public int[] GetNgramBuckets(string word)
    {
        var list = new List<int>();
        GetNgramBuckets(word, list);
        return [.. list];
    }

    /// <summary>
    /// The table rows fastText averages for <paramref name="word"/>: its own row <paramref name="wordId"/> when
    /// it is in the vocabulary (≥ 0), then <c>numWords + bucket</c> for each n-gram. fastText's
    /// end-of-sentence word <c>&lt;/s&gt;</c> gets no n-grams.
    /// </summary>
    /// <param name="word">The word.</param>
    /// <param name="numWords">Word rows before the n-gram rows (<c>nwords</c>).</param>
    /// <param name="wordId">The word's id, or −1 when it is out of vocabulary.</param>
    /// <param name="rows">Receives the rows.</param>
    /// <returns>How many rows were appended.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numWords"/> is negative, <paramref name="wordId"/> is not in <c>[−1, numWords)</c>, or <c>numWords + Bucket</c> overflows an int.</exception>
    public int GetSubwordRows(string word, int numWords, int wordId, List<int> rows)
    {
        const string op = "subword.rows";
        Guard.NotNull(op, word);
        Guard.NotNull(op, rows);
        Guard.NonNegative(op, numWords);
        Guard.InRange(op, wordId, -1, numWords);
        if ((long)numWords + Bucket > int.MaxValue)
            ThrowHelper.ArgumentOutOfRange(op, nameof(numWords), numWords, $"numWords {numWords} + bucket {Bucket} exceeds {int.MaxValue} rows");
        int before = rows.Count;
        if (wordId >= 0)
            rows.Add(wordId);
        if (word != SpecialTokens.Eos)
        {
            int start = rows.Count;
            GetNgramBuckets(word, rows);
            for (int k = start; k < rows.Count; k++)
                rows[k] += numWords;
        }
        return rows.Count - before;
    }

    private static bool IsContinuation(byte b) => (b & 0xC0) == 0x80;
}
