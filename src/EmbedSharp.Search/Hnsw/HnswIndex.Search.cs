using System.Runtime.CompilerServices;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search.Hnsw;

public sealed unsafe partial class HnswIndex
{
    /// <inheritdoc/>
    public Neighbor[] Search(ReadOnlySpan<float> query, int k, SearchFilter? filter = null) => Search(query, k, filter, EfSearch);

    /// <summary>As <see cref="Search(ReadOnlySpan{float}, int, SearchFilter?)"/> with a candidate list of <paramref name="ef"/> (at least k is used).</summary>
    public Neighbor[] Search(ReadOnlySpan<float> query, int k, SearchFilter? filter, int ef)
    {
        const string op = "hnsw.search";
        ThrowIfDisposed(op);
        Guard.NonNegative(op, k);
        Guard.Positive(op, ef);
        var q = Prepare(op, query, nameof(query));
        return SearchPrepared(q, k, filter, ef);
    }

    /// <inheritdoc/>
    public Neighbor[][] SearchBatch(ReadOnlySpan<float> queries, int k, SearchFilter? filter = null, int threads = -1) =>
        SearchBatch(queries, k, filter, threads, EfSearch);

    /// <summary>Batch search with an explicit <paramref name="ef"/>; queries run in parallel, each on one thread.</summary>
    public Neighbor[][] SearchBatch(ReadOnlySpan<float> queries, int k, SearchFilter? filter, int threads, int ef)
    {
        const string op = "hnsw.search_batch";
        ThrowIfDisposed(op);
        Guard.NonNegative(op, k);
        Guard.Positive(op, ef);
        return BatchSearch.Run(op, queries, Dims, threads, q => Prepare(op, q, nameof(queries)), q => SearchPrepared(q, k, filter, ef));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Neighbor[] SearchPrepared(float[] q, int k, SearchFilter? filter, int ef)
    {
        if (k == 0 || _live == 0)
            return [];
        if (filter is not null)
        {
            double selectivity = filter.AllowedCount is int allowed ? Math.Min(1.0, (double)allowed / _live) : filter.Selectivity(_numEmbeddings);
            if (selectivity < Options.ExactScanBelowSelectivity || selectivity * _live <= Math.Max(ef, k))
                return ScanAllowed(q, k, filter);
        }
        fixed (float* qp = q)
        {
            int ep = _entry;
            float epDist = Distance(qp, ep);
            for (int lc = _maxLevel; lc > 0; lc--)
                (ep, epDist) = Greedy(qp, ep, epDist, lc);
            var scratch = SearchScratch.Rent();
            var top = scratch.Top;
            (float Distance, int Label)[] found;
            if (_codeScale is not null)
            {
                // Walk on the int8 codes, then re-score the ef nodes kept on float32 (exact scores, exact order).
                SearchLayerInt8(qp, ep, Math.Max(ef, k), filter, top, scratch.Candidates);
                found = new (float Distance, int Label)[top.Count];
                for (int i = 0; i < found.Length; i++)
                {
                    var (_, node) = top.Pop();
                    found[i] = (Distance(qp, node), _labels[node]);
                }
            }
            else
            {
                SearchLayer(qp, ep, Math.Max(ef, k), 0, filter, true, top, scratch.Candidates);
                found = new (float Distance, int Label)[top.Count];
                for (int i = found.Length - 1; i >= 0; i--)
                {
                    var (negD, node) = top.Pop();
                    found[i] = (-negD, _labels[node]);
                }
            }
            SearchScratch.Return(scratch);
            return Finish(found, k);
        }
    }

    private Neighbor[] Finish((float Distance, int Label)[] found, int k)
    {
        Array.Sort(found, static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Label.CompareTo(b.Label));
        int n = Math.Min(k, found.Length);
        var result = new Neighbor[n];
        for (int i = 0; i < n; i++)
            result[i] = new Neighbor(found[i].Label, Score(found[i].Distance));
        return result;
    }

    /// <summary>The exact answer over the vectors a selective filter allows: no graph walk.</summary>
    private Neighbor[] ScanAllowed(float[] q, int k, SearchFilter filter)
    {
        var heap = new MinHeap();
        fixed (float* qp = q)
        {
            if (filter.AllowedCount is not null)
            {
                foreach (int id in filter.AllowedIds(_numEmbeddings))
                {
                    int node = _internalOf[id];
                    if (node >= 0)
                        Consider(qp, node, k, heap);
                }
            }
            else
            {
                for (int node = 0; node < _count; node++)
                {
                    if (!IsDeleted(node) && filter.Allows(_labels[node]))
                        Consider(qp, node, k, heap);
                }
            }
        }
        var found = new (float, int)[heap.Count];
        for (int i = 0; i < found.Length; i++)
        {
            var (negD, label) = heap.Pop();
            found[i] = (-negD, label);
        }
        return Finish(found, k);
    }

    private void Consider(float* qp, int node, int k, MinHeap heap)
    {
        float d = Distance(qp, node);
        int label = _labels[node];
        if (heap.Count < k)
        {
            heap.Push(-d, label);
        }
        else if (d < -heap.TopDistance || (d == -heap.TopDistance && label < heap.TopId))
        {
            heap.Pop();
            heap.Push(-d, label);
        }
    }

    /// <inheritdoc/>
    /// <remarks>The node stays in the graph as a tombstone (walked through, never returned) until <see cref="Compact"/>.</remarks>
    public bool Remove(int id)
    {
        if (!Contains(id))
            return false;
        Materialize();
        int node = _internalOf[id];
        _deleted[node >> 6] |= 1UL << node;
        _internalOf[id] = -1;
        _live--;
        return true;
    }

    /// <summary>
    /// Drops tombstoned nodes and frees their memory: every live node that linked to a removed one
    /// re-selects its links (heuristic) among its surviving links and the removed nodes' live links,
    /// then nodes are renumbered densely. Ids do not change.
    /// </summary>
    public void Compact()
    {
        if (_live == _count)
            return;
        Materialize();
        // 1. Repair links around tombstones, per level.
        var selected = new List<(float, int)>(_m0 + 1);
        var candidates = new List<(float Distance, int Node)>();
        var seen = new HashSet<int>();
        for (int node = 0; node < _count; node++)
        {
            if (IsDeleted(node))
                continue;
            for (int lc = 0; lc <= _levels[node]; lc++)
            {
                int* links = Links(node, lc);
                int n = links[0];
                bool touched = false;
                for (int i = 1; i <= n; i++)
                    touched |= IsDeleted(links[i]);
                if (!touched)
                    continue;
                candidates.Clear();
                seen.Clear();
                seen.Add(node);
                float* v = Vector(node);
                for (int i = 1; i <= n; i++)
                {
                    int c = links[i];
                    if (!IsDeleted(c))
                    {
                        if (seen.Add(c))
                            candidates.Add((Distance(v, c), c));
                        continue;
                    }
                    int* second = Links(c, lc);
                    for (int j = 1; j <= second[0]; j++)
                    {
                        int c2 = second[j];
                        if (!IsDeleted(c2) && seen.Add(c2))
                            candidates.Add((Distance(v, c2), c2));
                    }
                }
                candidates.Sort(static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Node.CompareTo(b.Node));
                SelectNeighbors(candidates.ToArray(), lc == 0 ? _m0 : _m, selected);
                for (int i = 0; i < selected.Count; i++)
                    links[1 + i] = selected[i].Item2;
                links[0] = selected.Count;
            }
        }
        // 2. Renumber the live nodes densely into fresh memory.
        var map = new int[_count];
        int live = 0;
        for (int node = 0; node < _count; node++)
            map[node] = IsDeleted(node) ? -1 : live++;
        int capacity = Math.Max(live, 64);
        var vectors = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)capacity * (nuint)Dims * 4, 64);
        var links0 = (int*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)capacity * (nuint)(_m0 + 1) * 4, 64);
        var upper = new int[]?[capacity];
        var levels = new byte[capacity];
        var labels = new int[capacity];
        int newEntry = -1, newMax = -1;
        for (int node = 0; node < _count; node++)
        {
            int to = map[node];
            if (to < 0)
                continue;
            Buffer.MemoryCopy(Vector(node), vectors + (nint)to * Dims, Dims * 4L, Dims * 4L);
            levels[to] = _levels[node];
            labels[to] = _labels[node];
            _internalOf[_labels[node]] = to;
            upper[to] = _levels[node] > 0 ? NewUpper(_levels[node]) : null;
            for (int lc = 0; lc <= _levels[node]; lc++)
            {
                int* src = Links(node, lc);
                int* dst = lc == 0 ? links0 + (nint)to * (_m0 + 1) : (int*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref upper[to]![0]) + (lc - 1) * (_m + 1);
                int kept = 0;
                for (int i = 1; i <= src[0]; i++)
                {
                    int c = map[src[i]];
                    if (c >= 0)
                        dst[1 + kept++] = c;
                }
                dst[0] = kept;
            }
            if (_levels[node] > newMax)
            {
                newMax = _levels[node];
                newEntry = to;
            }
        }
        if (_entry >= 0 && map[_entry] >= 0)
        {
            newEntry = map[_entry];
            newMax = _maxLevel;
        }
        FreeNative();
        _vectors = vectors;
        _links0 = links0;
        _capacity = capacity;
        _upper = upper;
        _levels = levels;
        _labels = labels;
        _deleted = new ulong[(capacity + 63) / 64];
        _count = live;
        _entry = newEntry;
        _maxLevel = newMax;
        if (_codeScale is not null)
        {
            // Nodes were renumbered: code them again in their new places, with the same scales.
            FreeCodes();
            EnsureCodeCapacity(Math.Max(live, 64));
            for (int node = 0; node < live; node++)
                CodeNode(node);
        }
    }
}
