using System.Diagnostics;
using EmbedSharp.Training.Common;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Training.Glove;

/// <summary>
/// One streaming pass that counts weighted co-occurrences within a bounded memory budget, GloVe's
/// <c>cooccur</c>: pairs of the most frequent words go to a dense block, the rest to a hash map that is
/// sorted and spilled as a shard whenever it outgrows its share of the budget; <see cref="Merge"/> then
/// streams all sources in (i, j) order, summing equal pairs.
/// </summary>
internal sealed class CooccurrenceCounter : IDisposable
{
    private const int EntryBytes = 32; // a Dictionary<long, float> entry plus its bucket, roughly
    private readonly GloveOptions _o;
    private readonly int _vocab;
    private readonly int _dense;          // words 0 … _dense−1 use the dense block
    private readonly float[] _block;
    private readonly Dictionary<long, float> _sparse = new(PairKeyComparer.Instance);
    private readonly int _maxSparse;
    private readonly Func<int, Stream> _create, _open;
    private readonly List<int> _shards = [];
    private readonly Dictionary<int, MemoryStream>? _memoryShards;

    public CooccurrenceCounter(int vocab, GloveOptions o, int firstShard = 0)
    {
        _o = o;
        _vocab = vocab;
        long denseBytes = o.MemoryBudgetBytes / 4;
        _dense = (int)Math.Min(vocab, Math.Sqrt(denseBytes / sizeof(float)));
        _block = new float[(long)_dense * _dense];
        _maxSparse = (int)Math.Min(int.MaxValue / 2, Math.Max(1024, o.MemoryBudgetBytes / 2 / EntryBytes));
        NextShard = firstShard;
        if (o.CreateShard is null)
        {
            _memoryShards = [];
            _create = i => _memoryShards[i] = new MemoryStream();
            _open = i => new MemoryStream(_memoryShards[i].GetBuffer(), 0, (int)_memoryShards[i].Length, writable: false);
        }
        else
        {
            _create = o.CreateShard;
            _open = o.OpenShard!;
        }
    }

    public int ShardsSpilled => _shards.Count;
    public int NextShard { get; private set; }
    public long TokensCounted { get; private set; }

    public void Count(TextCorpus corpus, Vocabulary vocabulary, CancellationToken cancellation)
    {
        int window = _o.Window;
        var history = new int[window];
        // Sub-sampling: keep when the top 32 bits of a draw are below keep[w] (uint.MaxValue: always). Its own
        // generator, so the fit's initial vectors and shuffles do not depend on it.
        uint[]? keep = _o.Sample > 0 ? Subsampling.Thresholds<Word2VecKeep>(vocabulary.Counts, vocabulary.TotalCount, _o.Sample) : null;
        var random = new EmbedSharp.Numerics.SeededRandom(_o.Seed ^ 0x5EED_C0C0_0000_0001UL);
        var clock = Stopwatch.StartNew();
        long nextReport = 1_000_000;
        using var cursor = corpus.Open();
        while (cursor.NextLine())
        {
            int n = 0; // in-vocabulary tokens of this line so far (out-of-vocabulary words are dropped, not counted as distance)
            while (cursor.NextToken(out ReadOnlySpan<char> token))
            {
                if (!vocabulary.TryGetId(token, out int w2))
                    continue;
                if (keep is not null && keep[w2] != uint.MaxValue && (uint)(random.NextUInt64() >> 32) >= keep[w2])
                    continue;
                int back = Math.Min(n, window);
                for (int k = 1; k <= back; k++)
                {
                    int w1 = history[(n - k) % window];
                    float x = _o.DistanceWeighting ? 1f / k : 1f;
                    Add(w1, w2, x);
                    if (_o.Symmetric)
                        Add(w2, w1, x);
                }
                history[n % window] = w2;
                n++;
                TokensCounted++;
            }
            if (TokensCounted >= nextReport)
            {
                nextReport += 1_000_000;
                cancellation.ThrowIfCancellationRequested();
                _o.Progress?.Report(new TrainingProgress("glove", "cooccur", 0, double.NaN, 0, double.NaN, TokensCounted, clock.Elapsed));
            }
        }
    }

    private void Add(int i, int j, float x)
    {
        if (i < _dense && j < _dense)
        {
            _block[(long)i * _dense + j] += x;
            return;
        }
        long key = ((long)i << 32) | (uint)j;
        System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_sparse, key, out _) += x;
        if (_sparse.Count >= _maxSparse)
            Spill();
    }

    private void Spill()
    {
        var records = SortedSparse();
        int id = NextShard++;
        using (Stream s = _create(id))
            ShardIO.Write(s, records);
        _shards.Add(id);
        _sparse.Clear();
        _sparse.TrimExcess();
    }

    private CooccurrenceRecord[] SortedSparse()
    {
        var records = new CooccurrenceRecord[_sparse.Count];
        int at = 0;
        foreach (var (key, x) in _sparse)
            records[at++] = new CooccurrenceRecord((int)(key >> 32), (int)(key & 0xFFFFFFFF), x);
        Array.Sort(records, static (a, b) => a.Key.CompareTo(b.Key));
        return records;
    }

    /// <summary>All records in (i, j) order, equal pairs summed: the dense block, the in-memory tail and every shard merged.</summary>
    public IEnumerable<CooccurrenceRecord> Merge()
    {
        var tail = SortedSparse();
        _sparse.Clear();
        var sources = new List<IEnumerator<CooccurrenceRecord>> { DenseRecords().GetEnumerator(), ((IEnumerable<CooccurrenceRecord>)tail).GetEnumerator() };
        var readers = new List<ShardIO.Reader>();
        try
        {
            foreach (int id in _shards)
            {
                var reader = new ShardIO.Reader(_open(id), _vocab);
                readers.Add(reader);
                sources.Add(ReadAll(reader).GetEnumerator());
            }
            var queue = new PriorityQueue<int, long>();
            for (int s = 0; s < sources.Count; s++)
                if (sources[s].MoveNext())
                    queue.Enqueue(s, sources[s].Current.Key);
            bool have = false;
            CooccurrenceRecord current = default;
            while (queue.TryDequeue(out int s, out long key))
            {
                var r = sources[s].Current;
                if (sources[s].MoveNext())
                {
                    long next = sources[s].Current.Key;
                    if (next <= key)
                        throw new InvalidDataException(Diagnostics.ThrowHelper.Format("glove.merge", $"shard records are not in (i, j) order ({r.I}, {r.J}) then ({sources[s].Current.I}, {sources[s].Current.J}); the shard stream was changed"));
                    queue.Enqueue(s, next);
                }
                if (have && current.Key == key)
                {
                    current = current with { X = current.X + r.X };
                    continue;
                }
                if (have)
                    yield return current;
                current = r;
                have = true;
            }
            if (have)
                yield return current;
        }
        finally
        {
            foreach (var r in readers)
                r.Dispose();
            foreach (int id in _shards)
                _o.DeleteShard?.Invoke(id);
        }
    }

    private static IEnumerable<CooccurrenceRecord> ReadAll(ShardIO.Reader reader)
    {
        while (reader.TryRead(out var r))
            yield return r;
    }

    private IEnumerable<CooccurrenceRecord> DenseRecords()
    {
        for (int i = 0; i < _dense; i++)
            for (int j = 0; j < _dense; j++)
            {
                float x = _block[(long)i * _dense + j];
                if (x > 0)
                    yield return new CooccurrenceRecord(i, j, x);
            }
    }

    public void Dispose() => _memoryShards?.Clear();

    /// <summary>
    /// Hashes a pair key <c>(i &lt;&lt; 32) | j</c> by Fibonacci hashing. <c>long.GetHashCode</c> is
    /// <c>i ^ j</c>, which folds every pair of word ids below 2¹⁶ into 2¹⁶ hash codes, so the map's chains grew
    /// with its size and counting slowed down many times over.
    /// </summary>
    internal sealed class PairKeyComparer : IEqualityComparer<long>
    {
        public static readonly PairKeyComparer Instance = new();

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
    }
}
