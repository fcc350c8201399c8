namespace EmbedSharp.Redis;

/// <summary>
/// A bounded client-side cache of decoded rows for one table version, evicted by CLOCK (second chance): a hit sets
/// the row's reference bit; an insert into a full cache advances the hand, clearing set bits, to the first row whose
/// bit is clear. Thread-safe; callers take it once per batch, not once per row.
/// </summary>
internal sealed class HotRowCache
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, int> _slots;
    private readonly long[] _ids;
    private readonly float[] _rows;
    private readonly bool[] _referenced;
    private int _count;
    private int _hand;

    public HotRowCache(int capacity, int dims, long version)
    {
        Capacity = capacity;
        Dims = dims;
        Version = version;
        _slots = new Dictionary<long, int>(capacity);
        _ids = new long[capacity];
        _rows = new float[(long)capacity * dims];
        _referenced = new bool[capacity];
    }

    public int Capacity { get; }

    public int Dims { get; }

    /// <summary>The table version these rows belong to; a new version gets a new cache.</summary>
    public long Version { get; }

    public int Count
    {
        get
        {
            lock (_lock)
                return _count;
        }
    }

    /// <summary>
    /// For each <c>ids[i]</c> in the cache, copies its row to <c>destination[rowOf[i]·Dims..]</c> and sets
    /// <c>hit[i]</c>. Returns the number of hits.
    /// </summary>
    public int Lookup(ReadOnlySpan<long> ids, ReadOnlySpan<int> rowOf, Span<bool> hit, Span<float> destination)
    {
        int hits = 0, dims = Dims;
        lock (_lock)
        {
            for (int i = 0; i < ids.Length; i++)
            {
                if (_slots.TryGetValue(ids[i], out int slot))
                {
                    _rows.AsSpan(slot * dims, dims).CopyTo(destination.Slice(rowOf[i] * dims, dims));
                    _referenced[slot] = true;
                    hit[i] = true;
                    hits++;
                }
            }
        }
        return hits;
    }

    /// <summary>Adds rows (<c>rows[rowOf[i]·Dims..]</c> for <c>ids[i]</c>), evicting by CLOCK when full.</summary>
    public void Add(ReadOnlySpan<long> ids, ReadOnlySpan<int> rowOf, ReadOnlySpan<float> rows)
    {
        int dims = Dims;
        lock (_lock)
        {
            for (int i = 0; i < ids.Length; i++)
            {
                if (_slots.ContainsKey(ids[i]))
                    continue;
                int slot;
                if (_count < Capacity)
                {
                    slot = _count++;
                }
                else
                {
                    while (_referenced[_hand])
                    {
                        _referenced[_hand] = false;
                        _hand = _hand + 1 == Capacity ? 0 : _hand + 1;
                    }
                    slot = _hand;
                    _hand = _hand + 1 == Capacity ? 0 : _hand + 1;
                    _slots.Remove(_ids[slot]);
                }
                _ids[slot] = ids[i];
                _slots[ids[i]] = slot;
                _referenced[slot] = false;
                rows.Slice(rowOf[i] * dims, dims).CopyTo(_rows.AsSpan(slot * dims, dims));
            }
        }
    }
}
