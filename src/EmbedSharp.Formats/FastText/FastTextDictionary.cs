using System.Text;
using EmbedSharp.Formats.IO;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Formats.FastText;

/// <summary>
/// A model's dictionary: words then labels with their counts, plus the n-gram bucket pruning map of
/// quantized models, and the character n-gram hashing that gives out-of-vocabulary words vectors.
/// </summary>
public sealed class FastTextDictionary
{
    private readonly string[] _entries;
    private readonly long[] _counts;
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<int, int>? _pruneIndex;
    private readonly SubwordHasher? _hasher;

    internal FastTextDictionary(FastTextArgs args, string[] entries, long[] counts, int numWords, long numTokens, Dictionary<int, int>? pruneIndex)
    {
        // No n-grams when maxn is 0 or below minn; minn 0 takes the same n-grams as minn 1.
        _hasher = args.Maxn > 0 && args.Minn <= args.Maxn ? new SubwordHasher(Math.Max(args.Minn, 1), args.Maxn, args.Bucket) : null;
        _entries = entries;
        _counts = counts;
        NumWords = numWords;
        NumTokens = numTokens;
        _pruneIndex = pruneIndex;
        _ids = new Dictionary<string, int>(entries.Length, StringComparer.Ordinal);
        for (int i = 0; i < entries.Length; i++)
            _ids.TryAdd(entries[i], i);
    }

    /// <summary>Number of words (labels excluded).</summary>
    public int NumWords { get; }

    /// <summary>Number of labels (supervised models).</summary>
    public int NumLabels => _entries.Length - NumWords;

    /// <summary>Tokens seen in training.</summary>
    public long NumTokens { get; }

    /// <summary>Words and then labels, in file order (most frequent first within each).</summary>
    public IReadOnlyList<string> Entries => _entries;

    /// <summary>The count of each entry.</summary>
    public IReadOnlyList<long> Counts => _counts;

    /// <summary>The words (the first <see cref="NumWords"/> entries).</summary>
    public IReadOnlyList<string> Words => new ArraySegment<string>(_entries, 0, NumWords);

    /// <summary>True when n-gram buckets were pruned (a quantized model made with <c>-cutoff</c>).</summary>
    public bool IsPruned => _pruneIndex is not null;

    /// <summary>Bucket → row map of a pruned model (fastText's <c>pruneidx</c>), or null.</summary>
    public IReadOnlyDictionary<int, int>? PruneIndex => _pruneIndex;

    /// <summary>The id of a word or label, or -1.</summary>
    public int GetId(string word) => _ids.TryGetValue(word, out int id) ? id : -1;

    /// <summary>
    /// fastText's 32-bit FNV-1a hash of a byte string, with each byte sign-extended first (fastText
    /// hashes <c>int8_t(c)</c>): core's <see cref="SubwordHasher.Hash(ReadOnlySpan{byte})"/>.
    /// </summary>
    public static uint Hash(ReadOnlySpan<byte> bytes) => SubwordHasher.Hash(bytes);

    /// <summary>
    /// Input-matrix rows whose mean is the vector of <paramref name="word"/>: its own row when it is
    /// in the dictionary, then one row per character n-gram of <c>&lt;word&gt;</c> (none for <c>&lt;/s&gt;</c>).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="word"/> is a label (fastText aborts on one).</exception>
    public List<int> GetSubwordIds(string word)
    {
        var ids = new List<int>();
        AppendSubwords(word, ids, null);
        return ids;
    }

    /// <summary>The same rows as <see cref="GetSubwordIds"/> together with the text of each n-gram.</summary>
    public List<(string Subword, int Id)> GetSubwords(string word)
    {
        var ids = new List<int>();
        var texts = new List<string>();
        AppendSubwords(word, ids, texts);
        var result = new List<(string, int)>(ids.Count);
        for (int i = 0; i < ids.Count; i++)
            result.Add((texts[i], ids[i]));
        return result;
    }

    internal void AppendSubwords(string word, List<int> ids, List<string>? texts)
    {
        int id = GetId(word);
        if (id >= NumWords)
        {
            // fastText asserts (and aborts) here: a label has no word vector.
            Diagnostics.ThrowHelper.Argument("fasttext.subwords", nameof(word), $"'{word}' is a label of this supervised model, not a word; labels have no word vectors");
        }
        if (id >= 0)
        {
            ids.Add(id);
            texts?.Add(word);
        }
        if (word == FastTextConstants.EndOfSentence || _hasher is null)
            return;
        // Core's SubwordHasher cuts and hashes the n-grams of <word> (fastText's computeSubwords); a
        // pruned model keeps only some buckets, mapped to its rows, and the others contribute nothing.
        var buckets = new List<int>();
        List<string>? grams = texts is null ? null : [];
        _hasher.GetNgramBuckets(word, buckets, grams);
        for (int k = 0; k < buckets.Count; k++)
        {
            int bucket = buckets[k];
            if (_pruneIndex is not null && !_pruneIndex.TryGetValue(bucket, out bucket))
                continue;
            ids.Add(NumWords + bucket);
            texts?.Add(grams![k]);
        }
    }

    internal static FastTextDictionary Read(ByteReader r, FastTextArgs args, ReadOptions options)
    {
        long at = r.Offset;
        int size = r.ReadInt32("dictionary size");
        int nwords = r.ReadInt32("dictionary nwords");
        int nlabels = r.ReadInt32("dictionary nlabels");
        long ntokens = r.ReadInt64("dictionary ntokens");
        long pruneSize = r.ReadInt64("dictionary pruneidx_size");
        if (size < 0 || nwords < 0 || nlabels < 0 || (long)nwords + nlabels != size)
            throw r.Error($"dictionary sizes are inconsistent: size {size}, nwords {nwords}, nlabels {nlabels} (need size = nwords + nlabels ≥ 0)", at);
        if (ntokens < 0)
            throw r.Error($"dictionary ntokens {ntokens} must be ≥ 0", at + 12);
        if (pruneSize < -1)
            throw r.Error($"dictionary pruneidx_size {pruneSize} must be -1 (not pruned) or ≥ 0", at + 20);
        // Each entry takes at least a NUL, an int64 count and a type byte.
        if (r.Remaining is long left && ((long)size * 10 > left || (pruneSize > 0 && pruneSize * 8 > left)))
            throw r.Error($"dictionary declares {size} entries and {Math.Max(pruneSize, 0)} prune pairs but only {left} bytes follow", at);
        int initial = r.Remaining is null ? Math.Min(size, 1 << 16) : size;
        var entries = new List<string>(initial);
        var counts = new List<long>(initial);
        var seen = new HashSet<string>(initial, StringComparer.Ordinal);
        for (int i = 0; i < size; i++)
        {
            long wordAt = r.Offset;
            var bytes = r.ReadUntil(0, FastTextConstants.MaxWordBytes, $"dictionary entry {i}", endTerminates: false, out _);
            string word = TextCodec.DecodeWord(bytes, options.UnicodeErrors, out string? problem)
                          ?? throw r.Error($"dictionary entry {i}: {problem}", wordAt);
            long count = r.ReadInt64($"the count of dictionary entry {i}");
            byte type = r.ReadByte($"the type of dictionary entry {i}");
            if (count < 0)
                throw r.Error($"dictionary entry {i} ('{word}') has a negative count {count}", wordAt);
            byte expected = i < nwords ? (byte)0 : (byte)1;
            if (type != expected)
                throw r.Error($"dictionary entry {i} ('{word}') has type {type} but entries 0..{nwords - 1} must be words (0) and the rest labels (1)", wordAt);
            // fastText itself would silently resolve a repeated word to its last copy; a model it
            // wrote never has one, so a repeat means a damaged file.
            if (!seen.Add(word))
                throw r.Error($"dictionary entry {i}: word '{word}' appears twice", wordAt);
            entries.Add(word);
            counts.Add(count);
        }
        Dictionary<int, int>? prune = null;
        if (pruneSize >= 0)
        {
            prune = new Dictionary<int, int>((int)Math.Min(pruneSize, 1 << 16));
            for (long i = 0; i < pruneSize; i++)
            {
                long pairAt = r.Offset;
                int bucketId = r.ReadInt32("a pruneidx key");
                int row = r.ReadInt32("a pruneidx value");
                if (bucketId < 0 || row < 0)
                    throw r.Error($"pruneidx pair {i} ({bucketId} → {row}) must be non-negative", pairAt);
                prune[bucketId] = row;
            }
        }
        return new FastTextDictionary(args, [.. entries], [.. counts], nwords, ntokens, prune);
    }

    internal void Write(BinaryWriter w)
    {
        w.Write(_entries.Length);
        w.Write(NumWords);
        w.Write(NumLabels);
        w.Write(NumTokens);
        w.Write(_pruneIndex is null ? -1L : _pruneIndex.Count);
        for (int i = 0; i < _entries.Length; i++)
        {
            w.Write(Encoding.UTF8.GetBytes(_entries[i]));
            w.Write((byte)0);
            w.Write(_counts[i]);
            w.Write(i < NumWords ? (byte)0 : (byte)1);
        }
        if (_pruneIndex is not null)
        {
            foreach (var (key, value) in _pruneIndex)
            {
                w.Write(key);
                w.Write(value);
            }
        }
    }
}
