using System.Buffers;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

/// <remarks>
/// Lookups (this file): a gather runs in two passes under the lock. The probe pass finds each id's live row
/// without changing anything (so it runs on several threads, as a dense table's gather does) and copies it,
/// map entries and rows a few ids ahead prefetched. The commit pass then goes through the ids in batch order
/// and does what a lookup does: touches the row (clock, frequency), or counts a sighting, admits, evicts. A
/// probe stays valid until a row is removed (insertions never move map entries, and a live row's floats only
/// change when it is removed), so after the first removal in a call every later id is looked up again and its
/// row copied again; until then the commit pass only updates the entries the probe pass brought into cache.
/// The result equals running the lookups one by one (tests compare with that reference).
/// </remarks>
public sealed partial class DynamicTable
{
    /// <summary>One locked lookup call: its clock values and the removal count its probes were made at.</summary>
    internal readonly record struct LookupCall(long Tick, long Now, long Removals);

    /// <summary>The synchronous form of <see cref="GatherAsync"/>: lookups count as sightings and may admit or evict rows.</summary>
    public unsafe void Gather(ReadOnlySpan<long> ids, Span<float> destination)
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
                    ProbeAndCopy([this], null, idp, n, [call], probed, dst, dims);
                    for (int k = 0; k < n; k++)
                    {
                        int slot = CommitLookup(idp[k], probed[k], call, out bool copy);
                        if (copy)
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

    /// <summary>The plain reference for <see cref="Gather"/>: one lookup at a time in batch order, each row copied at once.</summary>
    internal unsafe void GatherReference(ReadOnlySpan<long> ids, Span<float> destination)
    {
        lock (_gate)
        {
            LookupCall call = BeginLookup("dynamic_table.gather", ids);
            for (int k = 0; k < ids.Length; k++)
                _rows.RowUnchecked<float>(Lookup(ids[k], call.Tick, call.Now)).CopyTo(destination.Slice(k * _rows.Dims, _rows.Dims));
        }
    }

    /// <summary>The table's lock; a sharded store holds it across a lookup call on this shard.</summary>
    internal Lock Gate => _gate;

    /// <summary>Starts a lookup call over <paramref name="ids"/> (the caller holds <see cref="Gate"/>): checks the ids and the table first.</summary>
    internal LookupCall BeginLookup(string op, ReadOnlySpan<long> ids)
    {
        CheckIds(op, ids);
        long now = _ttlTicks != 0 || _options.Eviction == EvictionPolicy.Ttl ? _options.TimeProvider.GetUtcNow().UtcTicks : 0;
        return new LookupCall(++_tick, now, _removals);
    }

    /// <summary>
    /// Completes the lookup of <paramref name="id"/> in batch order and returns its slot; <paramref name="copy"/> is
    /// true when the probe's copy is not the answer (no live row then, or a row was removed since) and the caller
    /// must copy the slot's row.
    /// </summary>
    internal int CommitLookup(long id, int probed, in LookupCall call, out bool copy)
    {
        if (probed >= 0 && _removals == call.Removals)
        {
            ref Entry e = ref _map[probed];
            e.Tick = call.Tick;
            e.Time = call.Now;
            if (e.Freq != uint.MaxValue)
                e.Freq++;
            copy = false;
            return e.SlotPlusOne - 1;
        }
        copy = true;
        return Lookup(id, call.Tick, call.Now);
    }

    /// <summary>Copies the row of <paramref name="slot"/> to <paramref name="destination"/>.</summary>
    internal unsafe void CopySlot(int slot, float* destination) =>
        _rows.RowUnchecked<float>(slot).CopyTo(new Span<float>(destination, _rows.Dims));

    /// <summary>
    /// The probe pass over <paramref name="n"/> ids, id i in table <c>tables[tableOf[i]]</c> (table 0 when
    /// <paramref name="tableOf"/> is null), each table locked by the caller with its call in <paramref name="calls"/>:
    /// <c>probed[i]</c> is the map position of id i's live row (its row copied to output row i), or −1 (nothing
    /// copied). Read-only, so batches of more than 2<sup>18</sup> output floats are split across threads.
    /// </summary>
    internal static unsafe void ProbeAndCopy(DynamicTable[] tables, int* tableOf, long* ids, int n, LookupCall[] calls, int[] probed, float* destination, int dims)
    {
        if (n == 0)
            return;
        int threads = ParallelWork.DefaultThreads;
        if (threads <= 1 || (long)n * dims < EmbeddingTable.ParallelThreshold)
        {
            ProbeRange(tables, tableOf, ids, calls, probed, destination, dims, 0, n);
            return;
        }
        int grain = (int)Math.Clamp(EmbeddingTable.ParallelThreshold / 4 / dims, 64, EmbeddingTable.ParallelGrain);
        nint tableOfAddress = (nint)tableOf, idsAddress = (nint)ids, dstAddress = (nint)destination;
        ParallelWork.For(n, grain, threads, (start, end) =>
            ProbeRange(tables, (int*)tableOfAddress, (long*)idsAddress, calls, probed, (float*)dstAddress, dims, start, end));
    }

    /// <summary>Entries ahead whose map line is prefetched; rows are prefetched half as far ahead, once probed.</summary>
    private const int ProbeDistance = 16;

    private static unsafe void ProbeRange(DynamicTable[] tables, int* tableOf, long* ids, LookupCall[] calls, int[] probed, float* destination, int dims, int start, int end)
    {
        const int rowDistance = ProbeDistance / 2;
        nint rowBytes = (nint)dims * sizeof(float);
        for (int i = start; i < Math.Min(end, start + ProbeDistance); i++)
            tables[tableOf == null ? 0 : tableOf[i]].PrefetchEntry(ids[i]);
        for (int i = start; i < Math.Min(end, start + rowDistance); i++)
            probed[i] = tables[tableOf == null ? 0 : tableOf[i]].Probe(ids[i], calls[tableOf == null ? 0 : tableOf[i]].Now);
        for (int k = start; k < end; k++)
        {
            int ahead = k + ProbeDistance;
            if (ahead < end)
                tables[tableOf == null ? 0 : tableOf[ahead]].PrefetchEntry(ids[ahead]);
            ahead = k + rowDistance;
            if (ahead < end)
            {
                int t = tableOf == null ? 0 : tableOf[ahead];
                int p = probed[ahead] = tables[t].Probe(ids[ahead], calls[t].Now);
                if (p >= 0)
                    Optimizers.RowPrefetch.Lines(tables[t]._rows.Pointer + (nint)(tables[t]._map[p].SlotPlusOne - 1) * rowBytes, rowBytes);
            }
            int pos = probed[k];
            if (pos >= 0)
            {
                DynamicTable table = tables[tableOf == null ? 0 : tableOf[k]];
                table.CopySlot(table._map[pos].SlotPlusOne - 1, destination + (nint)k * dims);
            }
        }
    }

    /// <summary>The map position of <paramref name="id"/>'s live (unexpired) row, or −1; changes nothing.</summary>
    private int Probe(long id, long now)
    {
        int pos = Find(id);
        return pos >= 0 && !Expired(_map[pos], now) ? pos : -1;
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
    /// The id map's entries in native memory: zeroed, aligned so no 32-byte entry straddles two cache lines (one
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
