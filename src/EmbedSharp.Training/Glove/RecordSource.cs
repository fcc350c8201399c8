using EmbedSharp.Numerics;

namespace EmbedSharp.Training.Glove;

/// <summary>
/// The merged co-occurrence records the least squares iterates over: in memory when they fit the budget,
/// otherwise in one more shard read back in budget-sized chunks. Each epoch every chunk is shuffled
/// (Fisher–Yates) before training.
/// </summary>
internal sealed class RecordSource : IDisposable
{
    private readonly CooccurrenceRecord[] _buffer;
    private readonly int _inMemory;        // records held in _buffer when there is no merged shard
    private readonly int _shard = -1;
    private readonly GloveOptions _o;
    private readonly int _vocab;

    private RecordSource(CooccurrenceRecord[] buffer, int inMemory, long count, int shard, GloveOptions o, int vocab)
    {
        _buffer = buffer;
        _inMemory = inMemory;
        Count = count;
        _shard = shard;
        _o = o;
        _vocab = vocab;
    }

    public long Count { get; }
    public bool Spilled => _shard >= 0;

    public static RecordSource Collect(CooccurrenceCounter counter, GloveOptions o, int vocab)
    {
        int capacity = (int)Math.Clamp(o.MemoryBudgetBytes / CooccurrenceRecord.Size, 1024, Array.MaxLength / 2);
        var list = new List<CooccurrenceRecord>();
        using var merged = counter.Merge().GetEnumerator();
        while (list.Count < capacity && merged.MoveNext())
            list.Add(merged.Current);
        if (list.Count < capacity || !merged.MoveNext())
            return new RecordSource([.. list], list.Count, list.Count, -1, o, vocab);
        // Too many to hold: write everything to one more shard and train from it chunk by chunk.
        int id = counter.NextShard;
        Func<int, Stream> create = o.CreateShard ?? throw new InvalidOperationException(Diagnostics.ThrowHelper.Format("glove.train",
            $"more than {capacity} co-occurrence records do not fit MemoryBudgetBytes = {o.MemoryBudgetBytes}; give CreateShard/OpenShard or a larger budget"));
        long count = 0;
        using (Stream s = create(id))
        {
            ShardIO.Write(s, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list));
            count = list.Count;
            var block = new CooccurrenceRecord[4096];
            int at = 0;
            do
            {
                block[at++] = merged.Current;
                count++;
                if (at == block.Length)
                {
                    ShardIO.Write(s, block);
                    at = 0;
                }
            } while (merged.MoveNext());
            ShardIO.Write(s, block.AsSpan(0, at));
        }
        return new RecordSource(new CooccurrenceRecord[capacity], 0, count, id, o, vocab);
    }

    /// <summary>The records of one epoch, as shuffled chunks (the same buffer is reused between chunks).</summary>
    public IEnumerable<CooccurrenceRecord[]> Chunks(SeededRandom random)
    {
        if (!Spilled)
        {
            var all = _inMemory == _buffer.Length ? _buffer : _buffer[.._inMemory];
            Shuffle(all, all.Length, random);
            yield return all;
            yield break;
        }
        using var reader = new ShardIO.Reader(_o.OpenShard!(_shard), _vocab);
        while (true)
        {
            int n = 0;
            while (n < _buffer.Length && reader.TryRead(out var r))
                _buffer[n++] = r;
            if (n == 0)
                yield break;
            Shuffle(_buffer, n, random);
            yield return n == _buffer.Length ? _buffer : _buffer[..n];
            if (n < _buffer.Length)
                yield break;
        }
    }

    private static void Shuffle(CooccurrenceRecord[] a, int n, SeededRandom random)
    {
        for (int i = n - 1; i > 0; i--)
        {
            int j = random.NextInt(i + 1);
            (a[i], a[j]) = (a[j], a[i]);
        }
    }

    public void Dispose()
    {
        if (Spilled)
            _o.DeleteShard?.Invoke(_shard);
    }
}
