using System.Runtime.CompilerServices;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search.Hnsw;

public sealed unsafe partial class HnswIndex
{
    /// <inheritdoc/>
    public int Add(ReadOnlySpan<float> vector)
    {
        const string op = "hnsw.add";
        var q = Prepare(op, vector, nameof(vector));
        int node = Append(q);
        Insert(node);
        return _labels[node];
    }

    /// <summary>
    /// Adds the row-major vectors of <paramref name="vectors"/> (a whole number of <see cref="Dims"/>-long rows)
    /// on up to <paramref name="threads"/> threads (−1: the machine's); returns the first new id (ids are consecutive).
    /// <paramref name="progress"/> hears the number of vectors inserted so far, now and then.
    /// </summary>
    /// <exception cref="ArgumentException">The length is not a whole number of rows, or a value is NaN/infinity (nothing is added).</exception>
    public int AddBatch(ReadOnlySpan<float> vectors, int threads = -1, IProgress<int>? progress = null)
    {
        const string op = "hnsw.add_batch";
        int n = VectorRows.Count(op, vectors, Dims);
        int firstId = _numEmbeddings;
        if (n == 0)
            return firstId;
        EnsureCapacity(_count + n);
        int first = _count;
        var row = new float[Dims];
        for (int i = 0; i < n; i++)
        {
            vectors.Slice(i * Dims, Dims).CopyTo(row);
            if (Metric == SimilarityMetric.Cosine)
                Distances.Normalize(row);
            Append(row);
        }
        int start = first;
        // The first node of an empty graph goes alone: every other insert needs an entry point.
        if (_entry < 0)
            Insert(start++);
        if (threads <= 0)
            threads = Environment.ProcessorCount;
        int next = start - 1, done = 0;
        Parallel.For(0, Math.Max(1, Math.Min(threads, first + n - start)), new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
        {
            int node;
            while ((node = Interlocked.Increment(ref next)) < first + n)
            {
                Insert(node);
                int d = Interlocked.Increment(ref done);
                if (progress is not null && (d & 1023) == 0)
                    progress.Report(d);
            }
        });
        progress?.Report(n);
        return firstId;
    }

    /// <summary>Stores a prepared vector as a new node with a drawn level; not yet linked.</summary>
    private int Append(float[] prepared)
    {
        EnsureCapacity(_count + 1);
        int node = _count;
        prepared.AsSpan().CopyTo(new Span<float>(Vector(node), Dims));
        int level = DrawLevel();
        _levels[node] = (byte)level;
        _upper[node] = level > 0 ? NewUpper(level) : null;
        *Links(node, 0) = 0;
        int label = _numEmbeddings++;
        if (_internalOf.Length < _numEmbeddings)
            Array.Resize(ref _internalOf, Math.Max(64, _internalOf.Length * 2));
        _internalOf[label] = node;
        _labels[node] = label;
        _deleted[node >> 6] &= ~(1UL << node);
        CodeNode(node);
        _count++;
        _live++;
        return node;
    }

    /// <summary>Links <paramref name="node"/> into the graph (safe to run on several nodes at once).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Insert(int node)
    {
        int level = _levels[node];
        float* q = Vector(node);
        int entry, maxLevel;
        lock (_entryLock)
        {
            entry = _entry;
            maxLevel = _maxLevel;
            if (entry < 0)
            {
                _entry = node;
                _maxLevel = level;
                return;
            }
        }
        int ep = entry;
        float epDist = Distance(q, ep);
        for (int lc = maxLevel; lc > level; lc--)
            (ep, epDist) = Greedy(q, ep, epDist, lc);
        var scratch = SearchScratch.Rent();
        var top = scratch.Top;
        var candidates = scratch.Candidates;
        var selected = scratch.Selected;
        for (int lc = Math.Min(level, maxLevel); lc >= 0; lc--)
        {
            SearchLayer(q, ep, Options.EfConstruction, lc, null, false, top, candidates);
            // Closest first.
            int count = top.Count;
            var found = scratch.FoundFor(count);
            for (int i = count - 1; i >= 0; i--)
            {
                var (negD, id) = top.Pop();
                found[i] = (-negD, id);
            }
            SelectNeighbors(found.AsSpan(0, count), _m, selected);
            int* links = Links(node, lc);
            lock (_locks[node % LockStripes])
            {
                for (int i = 0; i < selected.Count; i++)
                    links[1 + i] = selected[i].Item2;
                Volatile.Write(ref links[0], selected.Count);
            }
            foreach (var (d, neighbor) in selected)
                Connect(neighbor, node, d, lc, scratch);
            ep = found[0].Node;
        }
        SearchScratch.Return(scratch);
        if (level > maxLevel)
        {
            lock (_entryLock)
            {
                if (level > _maxLevel)
                {
                    _entry = node;
                    _maxLevel = level;
                }
            }
        }
    }

    /// <summary>Adds the link <paramref name="from"/> → <paramref name="to"/>, re-selecting by the heuristic when the list is full.</summary>
    private void Connect(int from, int to, float distance, int level, SearchScratch scratch)
    {
        int cap = level == 0 ? _m0 : _m;
        int* links = Links(from, level);
        lock (_locks[from % LockStripes])
        {
            int n = links[0];
            for (int i = 0; i < n; i++)
            {
                if (links[1 + i] == to)
                    return;
            }
            if (n < cap)
            {
                links[1 + n] = to;
                Volatile.Write(ref links[0], n + 1);
                return;
            }
            float* v = Vector(from);
            var all = scratch.OverflowFor(n + 1).AsSpan(0, n + 1);
            for (int i = 0; i < n; i++)
                all[i] = (Distance(v, links[1 + i]), links[1 + i]);
            all[n] = (distance, to);
            all.Sort(static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Node.CompareTo(b.Node));
            var kept = scratch.Kept;
            SelectNeighbors(all, cap, kept);
            for (int i = 0; i < kept.Count; i++)
                links[1 + i] = kept[i].Item2;
            Volatile.Write(ref links[0], kept.Count);
        }
    }

    /// <summary>
    /// The heuristic of Malkov &amp; Yashunin (their algorithm 4, as hnswlib runs it): walking candidates
    /// from the closest, keep one only when it is closer to the base than to every one kept so far, so
    /// links spread in all directions instead of bunching in the nearest cluster.
    /// </summary>
    /// <param name="candidates">(distance to the base, node), closest first.</param>
    /// <param name="max">Links to keep at most.</param>
    /// <param name="selected">Receives the kept (distance, node) pairs.</param>
    internal void SelectNeighbors(ReadOnlySpan<(float Distance, int Node)> candidates, int max, List<(float, int)> selected)
    {
        selected.Clear();
        if (candidates.Length <= max)
        {
            foreach (var c in candidates)
                selected.Add(c);
            return;
        }
        foreach (var (d, node) in candidates)
        {
            if (selected.Count >= max)
                break;
            float* v = Vector(node);
            bool good = true;
            foreach (var (_, kept) in selected)
            {
                if (Distance(v, kept) < d)
                {
                    good = false;
                    break;
                }
            }
            if (good)
                selected.Add((d, node));
        }
    }

    /// <summary>Greedy walk on one upper layer: move to a closer neighbour while there is one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private (int, float) Greedy(float* q, int ep, float epDist, int level)
    {
        bool changed = true;
        while (changed)
        {
            changed = false;
            int* links = Links(ep, level);
            int n = Volatile.Read(ref links[0]);
            for (int i = 1; i <= n; i++)
            {
                int c = links[i];
                float d = Distance(q, c);
                if (d < epDist)
                {
                    epDist = d;
                    ep = c;
                    changed = true;
                }
            }
        }
        return (ep, epDist);
    }

    /// <summary>
    /// Beam search of one layer from <paramref name="ep"/> with a candidate list of <paramref name="ef"/>.
    /// Only accepted nodes (live and allowed, when <paramref name="checkAccept"/>) enter
    /// <paramref name="top"/>, a max-heap through negated distances, but every node is walked through,
    /// so tombstones and filters never cut the graph.
    /// </summary>
    /// <remarks>
    /// Memory order of one step: the next candidate's link list is hinted into cache before this one's
    /// neighbours are read; the visited tags of all the neighbours are hinted before any is tested; the
    /// unvisited neighbours are gathered and their vectors hinted before the first distance, so the cache
    /// misses of one step overlap instead of queueing one behind the other.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SearchLayer(float* q, int ep, int ef, int level, SearchFilter? filter, bool checkAccept, MinHeap top, MinHeap candidates)
    {
        top.Clear();
        candidates.Clear();
        var visited = VisitedList.Rent(_count);
        int* pending = stackalloc int[_m0 + 1];
        bool l2 = Metric == SimilarityMetric.L2;
        float offset = Metric == SimilarityMetric.Cosine ? 1f : 0f;
        int dims = Dims, m0 = _m0;
        bool prefetch = System.Runtime.Intrinsics.X86.Sse.IsSupported;
        try
        {
            visited.TryVisit(ep);
            float d0 = l2 ? Distances.SquaredL2(q, Vector(ep), dims) : offset - Distances.Dot(q, Vector(ep), dims);
            candidates.Push(d0, ep);
            float bound = float.PositiveInfinity;
            if (!checkAccept || Accept(ep, filter))
            {
                top.Push(-d0, ep);
                bound = d0;
            }
            while (candidates.Count > 0)
            {
                if (candidates.TopDistance > bound && top.Count >= ef)
                    break;
                var (_, c) = candidates.Pop();
                int* links = Links(c, level);
                if (prefetch && candidates.Count > 0)
                    System.Runtime.Intrinsics.X86.Sse.Prefetch0(Links(candidates.TopId, level));
                int n = Math.Min(Volatile.Read(ref links[0]), m0);
                if (prefetch)
                {
                    for (int i = 1; i <= n; i++)
                        System.Runtime.Intrinsics.X86.Sse.Prefetch0(Unsafe.AsPointer(ref visited.Mark(links[i])));
                }
                int fresh = 0;
                for (int i = 1; i <= n; i++)
                {
                    int nb = links[i];
                    if (visited.TryVisit(nb))
                    {
                        pending[fresh++] = nb;
                        if (prefetch)
                            Prefetch(Vector(nb));
                    }
                }
                for (int i = 0; i < fresh; i++)
                {
                    int nb = pending[i];
                    float d = l2 ? Distances.SquaredL2(q, Vector(nb), dims) : offset - Distances.Dot(q, Vector(nb), dims);
                    if (top.Count < ef || d < bound)
                    {
                        candidates.Push(d, nb);
                        if (!checkAccept || Accept(nb, filter))
                        {
                            top.Push(-d, nb);
                            if (top.Count > ef)
                                top.Pop();
                            bound = -top.TopDistance;
                        }
                    }
                }
            }
        }
        finally
        {
            VisitedList.Return(visited);
        }
    }

    /// <summary>Hints the cache lines of one vector into L1 (callers check SSE).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Prefetch(float* v)
    {
        byte* p = (byte*)v, end = p + Dims * 4;
        for (; p < end; p += 64)
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(p);
    }

    private bool Accept(int node, SearchFilter? filter) =>
        !IsDeleted(node) && (filter is null || filter.Allows(_labels[node]));
}
