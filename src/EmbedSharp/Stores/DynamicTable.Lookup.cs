using System.Buffers;
using System.Runtime.CompilerServices;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

/// <remarks>
/// <para>Lookups (this file): a gather runs in two passes under the lock. The probe pass resolves, touches and copies
/// the rows that are live when the call starts, range by range (several threads for large batches): every id of
/// a range is looked up first (map entries prefetched 32 ids ahead, clock fields written while the line is in
/// cache), then its rows are copied by the dense table's own gather kernel over the resolved row slots (one table) or
/// row addresses (the shards of a sharded store; the same prefetch distance, streaming stores for large outputs). The commit pass then goes through the ids in batch order and
/// does the rest of what a lookup does for the ids without a live row: counts a sighting, admits, evicts, and
/// copies the admitted row. Under <see cref="EvictionPolicy.Lfu"/> it also counts each live row's use (frequency
/// counts must not race between threads), its entries prefetched ahead.</para>
/// <para>Because a call touches every live row it reads before it admits anything, eviction within the call never
/// picks a row the call reads (it skips rows touched by the current call), so rows copied by the probe pass stay
/// the answer. The result equals <see cref="GatherReference"/>, which does the same one id at a time (tests
/// compare the two).</para>
/// </remarks>
public sealed partial class DynamicTable
{
    /// <summary>One locked lookup call: its clock values.</summary>
    internal readonly record struct LookupCall(uint Tick, long Now, long Removals);

    /// <summary>The synchronous form of <see cref="GatherAsync"/>: lookups count as sightings and may admit or evict rows.</summary>
    public void Gather(ReadOnlySpan<long> ids, Span<float> destination) => GatherCore(ids, destination, -1);

    /// <summary><see cref="Gather"/> on at most <paramref name="maxThreads"/> threads (−1: the machine's).</summary>
    private unsafe void GatherCore(ReadOnlySpan<long> ids, Span<float> destination, int maxThreads)
    {
        const string op = "dynamic_table.gather";
        int dims = _rows.Dims;
        Guard.MinLength(op, destination.Length, (long)ids.Length * dims, $"ids.Length × Dims = {ids.Length} × {dims}");
        int n = ids.Length;
        int[] probed = ArrayPool<int>.Shared.Rent(n);
        try
        {
            lock (_gate)
            {
                LookupCall call = BeginLookup(op, ids);
                fixed (long* idp = ids)
                fixed (float* dst = destination)
                {
                    ProbeAndCopy([this], null, idp, n, [call], probed, dst, dims, maxThreads);
                    bool countUses = _options.Eviction == EvictionPolicy.Lfu;
                    for (int k = 0; k < n; k++)
                    {
                        if (countUses && k + CommitDistance < n)
                            PrefetchProbed(probed[k + CommitDistance]);
                        if (CommitLookup(idp[k], probed[k], call, out int slot))
                            CopySlot(slot, dst + (nint)k * dims);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(probed);
        }
    }

    /// <summary>
    /// The plain reference for <see cref="Gather"/>: every id with a live row is touched first, then each id without
    /// one is looked up in batch order (sighting, admission, eviction), then every row is copied.
    /// </summary>
    internal unsafe void GatherReference(ReadOnlySpan<long> ids, Span<float> destination)
    {
        lock (_gate)
        {
            LookupCall call = BeginLookup("dynamic_table.gather", ids);
            var slots = new int[ids.Length];
            for (int k = 0; k < ids.Length; k++)
            {
                int pos = Find(ids[k]);
                slots[k] = -1;
                if (pos >= 0 && !Expired(_map[pos], call.Now))
                {
                    Touch(ref _map[pos], call);
                    CountUse(_map[pos].SlotPlusOne - 1);
                    slots[k] = _map[pos].SlotPlusOne - 1;
                }
            }
            for (int k = 0; k < ids.Length; k++)
                if (slots[k] < 0)
                    slots[k] = Lookup(ids[k], call.Tick, call.Now);
            for (int k = 0; k < ids.Length; k++)
                _rows.RowUnchecked<float>(slots[k]).CopyTo(destination.Slice(k * _rows.Dims, _rows.Dims));
        }
    }

    /// <summary>The table's lock; a sharded store holds it across a lookup call on this shard.</summary>
    internal Lock Gate => _gate;

    /// <summary>Starts a lookup call over <paramref name="ids"/> (the caller holds <see cref="Gate"/>): checks the ids and the table first.</summary>
    internal LookupCall BeginLookup(string op, ReadOnlySpan<long> ids)
    {
        CheckIds(op, ids);
        return BeginRoutedLookup(op);
    }

    /// <summary>
    /// Starts a lookup call (the caller holds <see cref="Gate"/>) over ids the caller has checked and routed to
    /// this shard itself (a sharded store), so the per-id bucket check is not repeated.
    /// </summary>
    internal LookupCall BeginRoutedLookup(string op)
    {
        if (_disposed)
            ThrowHelper.Disposed(op, nameof(DynamicTable));
        long now = _ttlTicks != 0 || _options.Eviction == EvictionPolicy.Ttl ? _options.TimeProvider.GetUtcNow().UtcTicks : 0;
        return new LookupCall(NextTick(), now, _removals);
    }

    /// <summary>
    /// Completes the lookup of <paramref name="id"/> in batch order. With a live row found by the probe pass
    /// (<paramref name="probed"/> ≥ 0) the row is already copied and touched: only its use is counted (LFU), and
    /// false is returned. Otherwise the id is looked up (sighting, admission, eviction), <paramref name="slot"/> is
    /// what it reads, and true says the caller must copy that slot's row.
    /// </summary>
    internal bool CommitLookup(long id, int probed, in LookupCall call, out int slot)
    {
        if (probed >= 0)
        {
            if (_slotFreq is not null)
                CountUse(_map[_removals == call.Removals ? probed : Find(id)].SlotPlusOne - 1);
            slot = -1;
            return false;
        }
        slot = Lookup(id, call.Tick, call.Now);
        return true;
    }

    /// <summary>Records a lookup of a live row in the current call (recency for LRU, time for TTL).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Touch(ref Entry e, in LookupCall call) => Touch(ref e, call.Tick, call.Now);

    /// <summary>Copies the row of <paramref name="slot"/> to <paramref name="destination"/>.</summary>
    internal unsafe void CopySlot(int slot, float* destination) =>
        _rows.RowUnchecked<float>(slot).CopyTo(new Span<float>(destination, _rows.Dims));

    /// <summary>
    /// The probe pass over <paramref name="n"/> ids, id i in table <c>tables[tableOf[i]]</c> (table 0 when
    /// <paramref name="tableOf"/> is null), each table locked by the caller with its call in <paramref name="calls"/>:
    /// <c>probed[i]</c> is the map position of id i's live row (touched, its row copied to output row i), or −1
    /// (the default row's zeros copied). Touches write only the call's clock values, the same from every thread, so
    /// batches of more than 2<sup>18</sup> output floats are split across threads as a dense gather is.
    /// </summary>
    /// <remarks>
    /// Each range (the parallel grain) runs in two steps: every id of the range is looked up first (entries
    /// prefetched <see cref="ResolveDistance"/> ids ahead, live entries touched, the row recorded), then the rows are
    /// copied by core's gather kernel. One table resolves to row slots and copies with the dense table's own row
    /// source (<see cref="ProbeAndCopyOneTable"/>); several (a sharded store) resolve to row addresses. Measured with
    /// StoreBench's split (one thread, CPU time per id, uniform and Zipf ids over a 1M-row table): the lookups alone
    /// cost a third to a half of the copy alone; interleaving them with the copy (looking up 8, 16, 32, 64 or 128
    /// ids ahead of it in one pipeline) cost 1.2–1.6× the two steps one after the other, and shorter ranges (256
    /// ids) cost more too.
    /// </remarks>
    internal static unsafe void ProbeAndCopy(DynamicTable[] tables, int* tableOf, long* ids, int n, LookupCall[] calls, int[] probed, float* destination, int dims, int maxThreads = -1)
    {
        if (n == 0)
            return;
        // The dense gather's choices: streaming stores for large outputs, threads only for large batches.
        bool streaming = Kernels.StreamingFits(destination, dims) && (long)n * dims * sizeof(float) >= Hardware.StreamingStoreThresholdBytes;
        int threads = maxThreads > 0 ? maxThreads : ParallelWork.DefaultThreads;
        if ((long)n * dims < EmbeddingTable.ParallelThreshold)
            threads = 1;
        if (tableOf == null)
        {
            tables[0].ProbeAndCopyOneTable(ids, n, calls[0], probed, destination, streaming, threads);
            return;
        }
        var bases = new nint[tables.Length];
        for (int t = 0; t < tables.Length; t++)
            bases[t] = (nint)tables[t]._rows.Pointer;
        int[] positions = ArrayPool<int>.Shared.Rent(n);
        nint[] rowAddresses = ArrayPool<nint>.Shared.Rent(n);
        try
        {
            for (int i = 0; i < n; i++)
                positions[i] = i;
            fixed (int* pos = positions)
            fixed (int* pr = probed)
            fixed (nint* addresses = rowAddresses)
            {
                var rows = new ProbingRows(tables, bases, tableOf, ids, calls, pr, dims);
                if (threads <= 1)
                {
                    ProbeRange(rows, pos, addresses, n, destination, dims, streaming);
                    return;
                }
                int grain = EmbeddingTable.GatherGrain(dims);
                nint posAddress = (nint)pos, dstAddress = (nint)destination, rowAddress = (nint)addresses;
                ParallelWork.For(n, grain, threads, (start, end) =>
                    ProbeRange(rows, (int*)posAddress + start, (nint*)rowAddress, end - start, (float*)dstAddress + (nint)start * dims, dims, streaming));
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(positions);
            ArrayPool<nint>.Shared.Return(rowAddresses);
        }
    }

    /// <summary>
    /// <see cref="ProbeAndCopy"/> over this table alone: each range's ids are resolved to row slots (the default
    /// row's for ids without a live row), then copied by the dense table's gather kernel over those slots, exactly
    /// as <see cref="EmbeddingTable.Gather"/> copies; no per-id table or address indirection.
    /// </summary>
    private unsafe void ProbeAndCopyOneTable(long* ids, int n, in LookupCall call, int[] probed, float* destination, bool streaming, int threads)
    {
        int dims = _rows.Dims;
        int[] slots = ArrayPool<int>.Shared.Rent(n);
        try
        {
            fixed (int* slotPointer = slots)
            fixed (int* pr = probed)
            {
                if (threads <= 1)
                {
                    ResolveAndCopy(ids, pr, slotPointer, n, call, destination, streaming);
                    return;
                }
                int grain = EmbeddingTable.GatherGrain(dims);
                nint idAddress = (nint)ids, probedAddress = (nint)pr, slotAddress = (nint)slotPointer, dstAddress = (nint)destination;
                LookupCall callCopy = call;
                ParallelWork.For(n, grain, threads, (start, end) =>
                    ResolveAndCopy((long*)idAddress + start, (int*)probedAddress + start, (int*)slotAddress + start, end - start, callCopy,
                        (float*)dstAddress + (nint)start * dims, streaming));
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(slots);
        }
    }

    /// <summary>One range of <see cref="ProbeAndCopyOneTable"/>: look every id up, then copy the rows.</summary>
    private unsafe void ResolveAndCopy(long* ids, int* probed, int* slots, int count, in LookupCall call, float* destination, bool streaming)
    {
        for (int k = 0; k < Math.Min(count, ResolveDistance); k++)
            PrefetchEntry(ids[k]);
        for (int k = 0; k < count; k++)
        {
            if (k + ResolveDistance < count)
                PrefetchEntry(ids[k + ResolveDistance]);
            int pos = Find(ids[k]);
            int slot = _defaultSlot;
            if (pos >= 0)
            {
                ref Entry e = ref _map[pos];
                if (Expired(e, call.Now))
                {
                    pos = -1;
                }
                else
                {
                    Touch(ref e, call);
                    slot = e.SlotPlusOne - 1;
                }
            }
            probed[k] = pos;
            slots[k] = slot;
        }
        var rows = _rows.Rows<float>(GatherPrefetchLines);
        if (streaming)
            Kernels.GatherStreaming(ref rows, slots, count, destination, _rows.Dims, null, EmbeddingTable.PrefetchDistance);
        else
            Kernels.GatherRows(ref rows, slots, count, destination, 1f, EmbeddingTable.PrefetchDistance);
    }

    /// <summary>Lines of a row the copy prefetches (the dense gather's choice; the hardware streams the rest).</summary>
    private const int GatherPrefetchLines = 16;

    /// <summary>Ids ahead of the resolve loop whose map entry is prefetched (the loop runs alone, so every miss buffer serves the map).</summary>
    private const int ResolveDistance = 32;

    /// <summary>One range of the several-table probe pass: every id is looked up first, then the rows are copied over the resolved addresses.</summary>
    private static unsafe void ProbeRange(ProbingRows rows, int* positions, nint* addresses, int count, float* destination, int dims, bool streaming)
    {
        for (int k = 0; k < Math.Min(count, ResolveDistance); k++)
            rows.PrefetchEntry(positions[k]);
        for (int k = 0; k < count; k++)
        {
            if (k + ResolveDistance < count)
                rows.PrefetchEntry(positions[k + ResolveDistance]);
            addresses[positions[k]] = rows.ResolveAddress(positions[k]);
        }
        var resolved = new ResolvedRows(addresses, dims);
        if (streaming)
            Kernels.GatherStreaming(ref resolved, positions, count, destination, dims, null, EmbeddingTable.PrefetchDistance);
        else
            Kernels.GatherRows(ref resolved, positions, count, destination, 1f, EmbeddingTable.PrefetchDistance);
    }

    /// <summary>Rows by batch position at addresses the probe pass resolved (a live row, or the default row).</summary>
    private readonly unsafe struct ResolvedRows(nint* addresses, int dims) : IRowSource
    {
        private readonly nint _prefetchBytes = Math.Min((nint)dims * sizeof(float), GatherPrefetchLines * 64);

        public int Dims => dims;

        public static bool Prefetches => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float* Row(int row, float* scratch) => (float*)addresses[row];

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(int row) => Kernels.PrefetchRow((void*)addresses[row], _prefetchBytes);
    }

    /// <summary>The several-table lookup of one batch position: finds its id in its table, touches the live entry, records the position.</summary>
    private readonly unsafe struct ProbingRows(DynamicTable[] tables, nint[] bases, int* tableOf, long* ids, LookupCall[] calls, int* probed, int dims)
    {
        private readonly nint _rowBytes = (nint)dims * sizeof(float);

        /// <summary>Looks up position <paramref name="row"/> and returns its row's address (the default row's without a live row).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public nint ResolveAddress(int row)
        {
            int t = tableOf[row];
            DynamicTable table = tables[t];
            int pos = table.Find(ids[row]);
            int slot = table._defaultSlot;
            if (pos >= 0)
            {
                ref Entry e = ref table._map[pos];
                if (table.Expired(e, calls[t].Now))
                {
                    pos = -1;
                }
                else
                {
                    table.Touch(ref e, calls[t]);
                    slot = e.SlotPlusOne - 1;
                }
            }
            probed[row] = pos;
            return bases[t] + slot * _rowBytes;
        }

        public void PrefetchEntry(int row) => tables[tableOf[row]].PrefetchEntry(ids[row]);
    }

    /// <summary>
    /// Ids ahead whose probed map entry the LFU commit pass prefetches: the probe pass's row copies (a batch's rows
    /// are megabytes) have pushed the entries out of cache again by the time the commit pass counts their use.
    /// </summary>
    internal const int CommitDistance = 16;

    /// <summary>Starts loading the map entry at probed position <paramref name="pos"/> (nothing for −1).</summary>
    internal unsafe void PrefetchProbed(int pos)
    {
        if (pos >= 0 && System.Runtime.Intrinsics.X86.Sse.IsSupported)
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(_map.Pointer + pos);
    }

    private unsafe void PrefetchEntry(long id)
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(_map.Pointer + Home(id));
    }
}

public sealed partial class DynamicTable
{
    /// <summary>
    /// The id map's entries in native memory: zeroed, aligned so no 16-byte entry straddles two cache lines (one
    /// prefetch brings a whole entry), and for maps of 2 MiB or more on huge pages, as the rows are. A lookup touches
    /// one random entry of a map twice the row budget; from a managed array half the entries spanned two lines and
    /// nearly every probe also missed the TLB. Freed by the finalizer, once the table is unreachable (the table's
    /// own Dispose leaves it, since some calls still read the map then).
    /// </summary>
    private sealed unsafe class EntryMap
    {
        private Entry* _entries;

        public EntryMap(int length)
        {
            nuint bytes = (nuint)length * (nuint)sizeof(Entry);
            _entries = (Entry*)NativeAllocation.AllocateZeroed(bytes, out nuint reserved);
            Length = length;
            Reserved = (long)reserved;
            GC.AddMemoryPressure(Reserved);
        }

        ~EntryMap() => Free();

        public int Length { get; }

        private long Reserved { get; }

        public Entry* Pointer => _entries;

        public ref Entry this[int index]
        {
            get
            {
                System.Diagnostics.Debug.Assert((uint)index < (uint)Length && _entries != null);
                return ref _entries[index];
            }
        }

        public Span<Entry> AsSpan() => new(_entries, Length);

        public void Clear() => AsSpan().Clear();

        private void Free()
        {
            Entry* p = _entries;
            if (p == null)
                return;
            _entries = null;
            System.Runtime.InteropServices.NativeMemory.AlignedFree(p);
            GC.RemoveMemoryPressure(Reserved);
        }
    }
}
