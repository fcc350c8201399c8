using System.Runtime.CompilerServices;

namespace EmbedSharp.Search;

/// <summary>
/// The best <c>k</c> (goodness, id) pairs seen so far, higher goodness first, equal goodness by the
/// lower id, NaN after every number (<see cref="VectorSearch.Better"/> with <c>largest</c>): a bounded
/// min-heap whose root is the worst pair kept.
/// </summary>
/// <remarks>
/// Hot loops test <c>g &gt;= Floor</c> before calling <see cref="Push"/>; <see cref="Floor"/> is −∞
/// while the heap is not full or its root is NaN, so the quick test never drops a pair that
/// <see cref="Push"/> would keep.
/// </remarks>
internal sealed class TopKCollector
{
    private readonly float[] _score;
    private readonly int[] _id;
    private int _size;

    public TopKCollector(int k)
    {
        Capacity = k;
        _score = new float[Math.Max(k, 0)];
        _id = new int[Math.Max(k, 0)];
        Floor = k > 0 ? float.NegativeInfinity : float.PositiveInfinity;
    }

    public int Capacity { get; }

    public int Count => _size;

    /// <summary>Pairs with goodness below this can never enter.</summary>
    public float Floor;

    public void Clear()
    {
        _size = 0;
        Floor = Capacity > 0 ? float.NegativeInfinity : float.PositiveInfinity;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(float g, int id)
    {
        if (_size < Capacity)
        {
            _score[_size] = g;
            _id[_size] = id;
            SiftUp(_size++);
        }
        else if (Capacity > 0 && VectorSearch.Better(g, id, _score[0], _id[0], largest: true))
        {
            _score[0] = g;
            _id[0] = id;
            SiftDown();
        }
        else
        {
            return;
        }
        if (_size == Capacity)
            Floor = float.IsNaN(_score[0]) ? float.NegativeInfinity : _score[0];
    }

    /// <summary>Adds every pair of <paramref name="other"/>.</summary>
    public void Merge(TopKCollector other)
    {
        for (int i = 0; i < other._size; i++)
            Push(other._score[i], other._id[i]);
    }

    /// <summary>The kept pairs, best first (scores are the goodness values).</summary>
    public Neighbor[] ToSorted()
    {
        var result = new Neighbor[_size];
        for (int i = 0; i < _size; i++)
            result[i] = new Neighbor(_id[i], _score[i]);
        Array.Sort(result, static (a, b) =>
            VectorSearch.Better(a.Score, a.Index, b.Score, b.Index, true) ? -1 : VectorSearch.Better(b.Score, b.Index, a.Score, a.Index, true) ? 1 : 0);
        return result;
    }

    private void SiftUp(int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!VectorSearch.Better(_score[parent], _id[parent], _score[i], _id[i], true))
                break;
            Swap(i, parent);
            i = parent;
        }
    }

    private void SiftDown()
    {
        int i = 0;
        while (true)
        {
            int l = 2 * i + 1, r = l + 1, worst = i;
            if (l < _size && VectorSearch.Better(_score[worst], _id[worst], _score[l], _id[l], true))
                worst = l;
            if (r < _size && VectorSearch.Better(_score[worst], _id[worst], _score[r], _id[r], true))
                worst = r;
            if (worst == i)
                return;
            Swap(i, worst);
            i = worst;
        }
    }

    private void Swap(int a, int b)
    {
        (_score[a], _score[b]) = (_score[b], _score[a]);
        (_id[a], _id[b]) = (_id[b], _id[a]);
    }
}
