using System.Runtime.CompilerServices;

namespace EmbedSharp.Search.Hnsw;

/// <summary>A binary min-heap of (distance, node) on arrays; a max-heap is the same with negated distances.</summary>
internal sealed class MinHeap
{
    private float[] _d = new float[64];
    private int[] _id = new int[64];

    public int Count { get; private set; }

    public float TopDistance => _d[0];

    public int TopId => _id[0];

    public void Clear() => Count = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public void Push(float d, int id)
    {
        if (Count == _d.Length)
        {
            Array.Resize(ref _d, Count * 2);
            Array.Resize(ref _id, Count * 2);
        }
        int i = Count++;
        while (i > 0)
        {
            int p = (i - 1) >> 1;
            if (!Less(d, id, _d[p], _id[p]))
                break;
            _d[i] = _d[p];
            _id[i] = _id[p];
            i = p;
        }
        _d[i] = d;
        _id[i] = id;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public (float Distance, int Id) Pop()
    {
        var top = (_d[0], _id[0]);
        int n = --Count;
        if (n > 0)
        {
            float d = _d[n];
            int id = _id[n];
            int i = 0;
            while (true)
            {
                int l = 2 * i + 1;
                if (l >= n)
                    break;
                int c = l + 1 < n && Less(_d[l + 1], _id[l + 1], _d[l], _id[l]) ? l + 1 : l;
                if (!Less(_d[c], _id[c], d, id))
                    break;
                _d[i] = _d[c];
                _id[i] = _id[c];
                i = c;
            }
            _d[i] = d;
            _id[i] = id;
        }
        return top;
    }

    /// <summary>Ties by id so that results never depend on the order pairs arrived in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Less(float a, int ia, float b, int ib) => a < b || (a == b && ia < ib);
}

/// <summary>
/// Marks of nodes visited by one search: a 16-bit epoch tag per node (half the cache footprint of an int),
/// so starting a search is O(1); the tags are cleared only when the epoch wraps, once in 65,535 searches.
/// </summary>
internal sealed class VisitedList
{
    private ushort[] _marks = [];
    private ushort _generation;

    [ThreadStatic]
    private static VisitedList? s_cached;

    public static VisitedList Rent(int capacity)
    {
        var v = s_cached ?? new VisitedList();
        s_cached = null;
        v.Reset(capacity);
        return v;
    }

    public static void Return(VisitedList v) => s_cached = v;

    private void Reset(int capacity)
    {
        if (_marks.Length < capacity)
        {
            _marks = new ushort[Math.Max(capacity, _marks.Length * 2)];
            _generation = 0;
        }
        if (++_generation == 0)
        {
            Array.Clear(_marks);
            _generation = 1;
        }
    }

    /// <summary>Marks <paramref name="id"/>; false when it was already marked in this search.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryVisit(int id)
    {
        ref ushort m = ref _marks[id];
        if (m == _generation)
            return false;
        m = _generation;
        return true;
    }

    /// <summary>The address of <paramref name="id"/>'s tag, for a prefetch hint.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ushort Mark(int id) => ref _marks[id];
}

/// <summary>
/// One thread's reusable search state (the two heaps and the neighbour buffer), so that neither a query
/// nor an insert allocates for them; rented and returned like <see cref="VisitedList"/>.
/// </summary>
internal sealed class SearchScratch
{
    [ThreadStatic]
    private static SearchScratch? s_cached;

    public MinHeap Top { get; } = new();

    public MinHeap Candidates { get; } = new();

    /// <summary>Insert's (distance, node) lists: the layer's found nodes, closest first, then a full link list being re-selected.</summary>
    public (float Distance, int Node)[] Found { get; private set; } = new (float, int)[64];

    /// <summary>A link list plus the new link, being re-selected by <c>Connect</c>.</summary>
    public (float Distance, int Node)[] Overflow { get; private set; } = new (float, int)[64];

    /// <summary>The links chosen for the inserted node.</summary>
    public List<(float, int)> Selected { get; } = new(64);

    /// <summary>The links a neighbour keeps after re-selection.</summary>
    public List<(float, int)> Kept { get; } = new(64);

    /// <summary><see cref="Found"/> with room for <paramref name="n"/>.</summary>
    public (float Distance, int Node)[] FoundFor(int n)
    {
        if (Found.Length < n)
            Found = new (float, int)[Math.Max(n, Found.Length * 2)];
        return Found;
    }

    /// <summary><see cref="Overflow"/> with room for <paramref name="n"/>.</summary>
    public (float Distance, int Node)[] OverflowFor(int n)
    {
        if (Overflow.Length < n)
            Overflow = new (float, int)[Math.Max(n, Overflow.Length * 2)];
        return Overflow;
    }

    public static SearchScratch Rent()
    {
        var s = s_cached ?? new SearchScratch();
        s_cached = null;
        return s;
    }

    public static void Return(SearchScratch s) => s_cached = s;
}
