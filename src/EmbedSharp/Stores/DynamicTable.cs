using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

/// <summary>
/// A table over an unbounded int64 id space (user ids, hashed features): a collision-free open-addressing
/// hash map from id to a row slot, rows created after N sightings, evicted by LRU, LFU or time when the row
/// budget is full, optimizer state beside each row. It is an <see cref="IEmbeddingStore"/> on its own, and the
/// storage of one shard of a sharded store (<see cref="DynamicTableOptions.OwnedBuckets"/>).
/// </summary>
/// <remarks>
/// <para>Map: linear probing over a power-of-two array at most half full, keyed by the high bits of
/// <see cref="BucketRouter.Mix64"/> (the bucket uses the low bits, so a shard's ids still spread); each entry holds
/// the id itself, so ids never collide; deletion shifts later entries back (no tombstones). An entry is 16 bytes
/// (id, slot, a 32-bit logical clock), so a lookup reads a quarter of a cache line; the time of last use (TTL) and
/// the use count (LFU) are kept per slot, only under the policies that read them. Rows live in one
/// aligned table of <c>MaxRows + 1</c> slots; the last is the default row (zeros) that unseen ids read, so a
/// lookup resolves slots first and then runs the table's prefetching gather.</para>
/// <para>Admission: a lookup of an id without a row is a sighting; at the <see cref="DynamicTableOptions.AdmitAfter"/>-th
/// the row is created (from the initializer) and read. Gradients for ids without a row are dropped
/// (<see cref="DroppedGradientRows"/>): training only learns rows it admitted.</para>
/// <para>Eviction: when a row must be admitted and the budget is full, the policy picks
/// <c>max(1, MaxRows / 64)</c> victims among the rows not touched by the current call. A call touches every live
/// row it reads before it admits anything, so a batch never loses a row it reads, wherever in the batch; with no
/// other row to evict the id reads the default row and is not admitted. LFU counts one use per lookup of a
/// live row (the counts are kept only under LFU, the one policy that reads them).</para>
/// <para>All calls take one lock: concurrent callers are safe, one at a time.</para>
/// </remarks>
// Size: one type in three files (~840 lines) by concern — the id map, admission and eviction (this file), the
// store calls (gather, gradients, upsert, delete), and snapshots. They share the slot map and the row budget,
// which is why they are one type.
public sealed partial class DynamicTable : IEmbeddingStore, IDisposable
{
    // 16 bytes, four to a cache line: what every lookup reads and touches. The time of the last use (TTL) and the
    // use count (LFU) live in per-slot arrays, allocated and written only under the policies that read them.
    private struct Entry
    {
        public long Key;
        public int SlotPlusOne; // 0 = empty
        public uint Tick;       // logical clock of the last lookup or update (renumbered when it would wrap)
    }

    private readonly Lock _gate = new();
    private readonly DynamicTableOptions _options;
    private readonly int _defaultSlot;
    private readonly long[] _slotKey;
    private readonly int[] _free;
    private readonly long _ttlTicks;
    private readonly long[]? _slotTime; // clock ticks (UTC) of each slot's last lookup or update: TTL only
    private readonly uint[]? _slotFreq; // lookups of each slot's row (saturating): LFU only
    private readonly EntryMap _map;
    private int _mapBits;
    private int _freeCount;
    private long[] _candKey;
    private int[] _candCount;
    private int _candLive;
    private readonly int _candCapacity;
    private readonly int _candBits;
    private long _tick;
    private long _removals; // rows removed so far: a lookup's probe is stale once this moves
    private EmbeddingTable _rows;
    private StateRows? _state;
    private OptimizerStep? _optimizer;
    private long _step;
    private long _dropped;
    private bool _disposed;
    private readonly bool[]? _ownsBucket;

    /// <summary>Creates an empty table.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public DynamicTable(string name, int dims, DynamicTableOptions options)
    {
        const string op = "dynamic_table.create";
        Guard.NotNull(op, name);
        Guard.Positive(op, dims);
        Guard.NotNull(op, options);
        options.Validate(op);
        Name = name;
        _options = options;
        _rows = new EmbeddingTable(options.MaxRows + 1, dims);
        _defaultSlot = options.MaxRows;
        _slotKey = new long[options.MaxRows];
        _free = new int[options.MaxRows];
        for (int s = 0; s < options.MaxRows; s++)
            _free[s] = options.MaxRows - 1 - s; // pop gives slot 0 first
        _freeCount = options.MaxRows;
        _mapBits = Math.Max(4, BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)options.MaxRows * 2)));
        _map = new EntryMap(1 << _mapBits);
        _candCapacity = options.CandidateCapacity ?? Math.Max(1024, 2 * options.MaxRows);
        _candBits = Math.Max(4, BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)_candCapacity * 2)));
        _candKey = new long[options.AdmitAfter > 1 ? 1 << _candBits : 0];
        _candCount = new int[_candKey.Length];
        _ttlTicks = options.TimeToLive?.Ticks ?? 0;
        _slotTime = _ttlTicks != 0 || options.Eviction == EvictionPolicy.Ttl ? new long[options.MaxRows] : null;
        _slotFreq = options.Eviction == EvictionPolicy.Lfu ? new uint[options.MaxRows] : null;
        if (options.OwnedBuckets is { } owned)
        {
            _ownsBucket = new bool[BucketRouter.BucketCount];
            foreach (BucketRange r in owned)
                _ownsBucket.AsSpan(r.First, r.Count).Fill(true);
        }
    }

    /// <summary>The table's name.</summary>
    public string Name { get; }

    /// <summary>The options the table was created with.</summary>
    public DynamicTableOptions Options => _options;

    /// <summary>Live rows now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
                return _options.MaxRows - _freeCount;
        }
    }

    /// <summary>Gradient rows dropped because their id had no row (not admitted, evicted or expired).</summary>
    public long DroppedGradientRows => Interlocked.Read(ref _dropped);

    /// <summary>The largest step number applied so far.</summary>
    public long StepCount => Volatile.Read(ref _step);

    /// <inheritdoc/>
    public EmbeddingStoreInfo Info => new(Name, _options.NumEmbeddings, _rows.Dims, DType.Float32, _optimizer?.Kind ?? OptimizerKind.None, _state?.Width ?? 0);

    /// <summary>
    /// Bytes the table holds: rows (budget + the default row), optimizer state pages, the hash map (16 bytes an
    /// entry, at most half full), slot keys and the free list, the per-slot times (TTL) or use counts (LFU), and the
    /// sighting counters.
    /// </summary>
    public long MemoryBytes => _rows.ByteLength + (_state?.AllocatedBytes ?? 0) + (long)_map.Length * Marshal.SizeOf<Entry>()
        + _slotKey.Length * 8L + _free.Length * 4L + (_slotTime?.Length ?? 0) * 8L + (_slotFreq?.Length ?? 0) * 4L + _candKey.Length * 12L;

    /// <summary>True when <paramref name="id"/> has a live row now (an expired row counts as gone). Does not count as a lookup.</summary>
    public bool Contains(long id)
    {
        lock (_gate)
        {
            int pos = Find(id);
            return pos >= 0 && !Expired(_map[pos], _options.TimeProvider.GetUtcNow().UtcTicks);
        }
    }

    /// <summary>The ids with live rows, ascending (expired rows left out).</summary>
    public long[] LiveIds()
    {
        lock (_gate)
        {
            long now = _options.TimeProvider.GetUtcNow().UtcTicks;
            var ids = new List<long>(_options.MaxRows - _freeCount);
            foreach (ref Entry e in _map.AsSpan())
                if (e.SlotPlusOne != 0 && !Expired(e, now))
                    ids.Add(e.Key);
            ids.Sort();
            return [.. ids];
        }
    }

    /// <summary>Removes every expired row now (lookups also drop them as they meet them); returns how many.</summary>
    public int EvictExpired()
    {
        lock (_gate)
        {
            if (_ttlTicks == 0)
                return 0;
            long now = _options.TimeProvider.GetUtcNow().UtcTicks;
            var expired = new List<long>();
            foreach (ref Entry e in _map.AsSpan())
                if (e.SlotPlusOne != 0 && Expired(e, now))
                    expired.Add(e.Key);
            foreach (long id in expired)
                RemoveRow(Find(id));
            return expired.Count;
        }
    }

    /// <summary>The slot of <paramref name="id"/> for a lookup: touches a live row, or counts a sighting and maybe admits.</summary>
    private int Lookup(long id, uint tick, long now)
    {
        int pos = Find(id);
        if (pos >= 0)
        {
            ref Entry e = ref _map[pos];
            if (!Expired(e, now))
            {
                Touch(ref e, tick, now);
                CountUse(e.SlotPlusOne - 1);
                return e.SlotPlusOne - 1;
            }
            RemoveRow(pos);
        }
        int sightings = Sight(id);
        if (sightings < _options.AdmitAfter)
            return _defaultSlot;
        int slot = Admit(id, tick, now, (uint)sightings);
        if (slot < 0)
            return _defaultSlot;
        ForgetCandidate(id);
        InitializeRow(id, slot);
        return slot;
    }

    private bool Expired(in Entry e, long now) => _ttlTicks != 0 && now - _slotTime![e.SlotPlusOne - 1] >= _ttlTicks;

    /// <summary>Records a use of a live row now (recency for LRU, time for TTL).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Touch(ref Entry e, uint tick, long now)
    {
        e.Tick = tick;
        if (_slotTime is not null)
            _slotTime[e.SlotPlusOne - 1] = now;
    }

    /// <summary>Counts one more use of the row in <paramref name="slot"/> (LFU's order; saturating). Only LFU reads it, so only LFU counts.</summary>
    private void CountUse(int slot)
    {
        if (_slotFreq is not null && _slotFreq[slot] != uint.MaxValue)
            _slotFreq[slot]++;
    }

    /// <summary>
    /// The next value of the logical clock (one per call that uses rows). The clock is 32 bits in each map entry, so
    /// that an entry is 16 bytes; when it would wrap, the live rows' stamps are renumbered by rank first (their order,
    /// which is all eviction reads, is kept), once every 2<sup>32</sup> − 1 calls.
    /// </summary>
    private uint NextTick()
    {
        if (_tick >= uint.MaxValue)
            RenumberTicks();
        return (uint)++_tick;
    }

    /// <summary>Replaces every live row's clock stamp by its rank among the distinct stamps (1 = oldest).</summary>
    private void RenumberTicks()
    {
        var stamps = new List<uint>();
        foreach (ref Entry e in _map.AsSpan())
            if (e.SlotPlusOne != 0)
                stamps.Add(e.Tick);
        uint[] distinct = [.. stamps.Distinct().Order()];
        foreach (ref Entry e in _map.AsSpan())
            if (e.SlotPlusOne != 0)
                e.Tick = (uint)Array.BinarySearch(distinct, e.Tick) + 1;
        _tick = distinct.Length;
    }

    /// <summary>The logical clock, settable so tests can start it next to the wrap.</summary>
    internal long Clock
    {
        get => _tick;
        set => _tick = value;
    }

    private void CheckIds(string op, ReadOnlySpan<long> ids)
    {
        if (_disposed)
            ThrowHelper.Disposed(op, nameof(DynamicTable));
        if (_options.NumEmbeddings is long n)
        {
            for (int i = 0; i < ids.Length; i++)
                if ((ulong)ids[i] >= (ulong)n)
                    ThrowHelper.IndexOutOfRange(op, nameof(ids), ids[i], i, n);
        }
        if (_ownsBucket is not null)
        {
            for (int i = 0; i < ids.Length; i++)
            {
                int b = BucketRouter.BucketOf(ids[i]);
                if (!_ownsBucket[b])
                    ThrowHelper.Argument(op, nameof(ids), $"ids[{i}] = {ids[i]} is in bucket {b}, which this shard does not own ({string.Join(", ", _options.OwnedBuckets!)}); route ids with the table's ShardingPlan");
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(long id) => (int)(BucketRouter.Mix64(id) >> (64 - _mapBits));

    private int CandidateHome(long id) => (int)(BucketRouter.Mix64(id) >> (64 - _candBits));

    /// <summary>The map position of <paramref name="id"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Find(long id)
    {
        int mask = _map.Length - 1;
        for (int i = Home(id); ; i = (i + 1) & mask)
        {
            ref Entry e = ref _map[i];
            if (e.SlotPlusOne == 0)
                return -1;
            if (e.Key == id)
                return i;
        }
    }

    /// <summary>Creates the row of <paramref name="id"/> (which has none), evicting if the budget is full; returns the slot or -1.</summary>
    private int Admit(long id, uint tick, long now, uint freq)
    {
        if (_freeCount == 0 && !EvictForRoom(tick, now))
            return -1;
        int slot = _free[--_freeCount];
        _slotKey[slot] = id;
        int mask = _map.Length - 1;
        int i = Home(id);
        while (_map[i].SlotPlusOne != 0)
            i = (i + 1) & mask;
        _map[i] = new Entry { Key = id, Tick = tick, SlotPlusOne = slot + 1 };
        if (_slotTime is not null)
            _slotTime[slot] = now;
        if (_slotFreq is not null)
            _slotFreq[slot] = freq;
        _state?.Reset(slot);
        return slot;
    }

    private void InitializeRow(long id, int slot)
    {
        Span<float> row = _rows.RowUnchecked<float>(slot);
        if (_options.Initializer is null)
            row.Clear();
        else
            _options.Initializer.Fill(row, 1, row.Length, new SeededRandom(BucketRouter.Mix64(id) ^ _options.Seed));
    }

    /// <summary>Removes the row at map position <paramref name="pos"/> (backward-shift deletion) and frees its slot.</summary>
    private void RemoveRow(int pos)
    {
        _removals++;
        int slot = _map[pos].SlotPlusOne - 1;
        _free[_freeCount++] = slot;
        _rows.RowUnchecked<float>(slot).Clear();
        int mask = _map.Length - 1;
        int i = pos;
        for (int j = (i + 1) & mask; _map[j].SlotPlusOne != 0; j = (j + 1) & mask)
        {
            int k = Home(_map[j].Key);
            bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
            if (stays)
                continue;
            _map[i] = _map[j];
            i = j;
        }
        _map[i] = default;
    }

    /// <summary>Evicts up to max(1, MaxRows/64) rows not touched at <paramref name="tick"/>, chosen by the policy; false if none could go.</summary>
    private bool EvictForRoom(uint tick, long now)
    {
        int want = Math.Max(1, _options.MaxRows / 64);
        // Max-heap of the best victims so far (the root is the worst of them), keyed by the policy's order.
        var heap = new PriorityQueue<long, (long, long, long)>(want + 1, Comparer<(long, long, long)>.Create((a, b) => b.CompareTo(a)));
        foreach (ref Entry e in _map.AsSpan())
        {
            if (e.SlotPlusOne == 0 || e.Tick == tick)
                continue;
            // Ties (rows touched in the same call) go to the smaller id, so eviction is deterministic.
            (long, long, long) key = _options.Eviction switch
            {
                EvictionPolicy.Lfu => (_slotFreq![e.SlotPlusOne - 1], e.Tick, e.Key),
                EvictionPolicy.Ttl => (Expired(e, now) ? long.MinValue : _slotTime![e.SlotPlusOne - 1], e.Tick, e.Key),
                _ => (e.Tick, e.Key, 0),
            };
            if (heap.Count < want)
                heap.Enqueue(e.Key, key);
            else if (heap.TryPeek(out _, out var worst) && key.CompareTo(worst) < 0)
                heap.EnqueueDequeue(e.Key, key);
        }
        if (heap.Count == 0)
            return false;
        while (heap.TryDequeue(out long victim, out _))
        {
            RemoveRow(Find(victim));
            ForgetCandidate(victim);
        }
        return true;
    }

    /// <summary>Counts a sighting of an id without a row; returns its sightings so far.</summary>
    private int Sight(long id)
    {
        if (_options.AdmitAfter == 1)
            return 1;
        if (_candLive >= _candCapacity)
        {
            Array.Clear(_candKey);
            Array.Clear(_candCount);
            _candLive = 0;
        }
        int mask = _candKey.Length - 1;
        for (int i = CandidateHome(id); ; i = (i + 1) & mask)
        {
            if (_candCount[i] == 0)
            {
                _candKey[i] = id;
                _candCount[i] = 1;
                _candLive++;
                return 1;
            }
            if (_candKey[i] == id)
                return ++_candCount[i] < 0 ? _candCount[i] = int.MaxValue : _candCount[i];
        }
    }

    /// <summary>Drops the pending sightings of <paramref name="id"/> (admitted or deleted).</summary>
    private void ForgetCandidate(long id)
    {
        if (_candKey.Length == 0)
            return;
        int mask = _candKey.Length - 1;
        for (int i = CandidateHome(id); _candCount[i] != 0; i = (i + 1) & mask)
        {
            if (_candKey[i] != id)
                continue;
            // Backward-shift deletion, as for rows.
            for (int j = (i + 1) & mask; _candCount[j] != 0; j = (j + 1) & mask)
            {
                int k = CandidateHome(_candKey[j]);
                bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
                if (stays)
                    continue;
                _candKey[i] = _candKey[j];
                _candCount[i] = _candCount[j];
                i = j;
            }
            _candKey[i] = 0;
            _candCount[i] = 0;
            _candLive--;
            return;
        }
    }
}
