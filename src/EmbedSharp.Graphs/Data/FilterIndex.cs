namespace EmbedSharp.Graphs.Data;

/// <summary>
/// Known true triples for filtered ranking: for each <c>(h, r)</c> the true tails, for each <c>(r, t)</c> the
/// true heads, as sorted distinct id arrays. Relations are kept by their original id (no inverses).
/// </summary>
public sealed class FilterIndex
{
    private static readonly int[] None = [];
    private readonly Dictionary<long, int[]> _tails;
    private readonly Dictionary<long, int[]> _heads;

    private FilterIndex(int numEntities, Dictionary<long, int[]> tails, Dictionary<long, int[]> heads, int count)
    {
        NumEntities = numEntities;
        _tails = tails;
        _heads = heads;
        Count = count;
    }

    /// <summary>Entity count the index was built for.</summary>
    public int NumEntities { get; }

    /// <summary>Number of distinct known triples.</summary>
    public int Count { get; }

    /// <summary>An index over every triple of every set (duplicates are counted once).</summary>
    /// <exception cref="ArgumentException">An entity id is outside 0..numEntities-1 or a relation id is negative.</exception>
    public static FilterIndex Build(int numEntities, params Triple[][] sets)
    {
        ArgumentNullException.ThrowIfNull(sets);
        var tails = new Dictionary<long, List<int>>();
        var heads = new Dictionary<long, List<int>>();
        foreach (var set in sets)
        {
            ArgumentNullException.ThrowIfNull(set);
            KnowledgeGraph.Check("kg.filter", "triples", set, numEntities, int.MaxValue);
            foreach (var t in set)
            {
                Add(tails, Key(t.Head, t.Relation, numEntities), t.Tail);
                Add(heads, Key(t.Tail, t.Relation, numEntities), t.Head);
            }
        }
        int count = 0;
        var tailArrays = Finish(tails, ref count);
        int ignored = 0;
        return new FilterIndex(numEntities, tailArrays, Finish(heads, ref ignored), count);
    }

    /// <summary>The known answers of a query: true tails of <c>(anchor, r, ?)</c> or true heads of <c>(?, r, anchor)</c>, sorted.</summary>
    public ReadOnlySpan<int> Answers(int anchor, int relation, QuerySide side) =>
        (side == QuerySide.Tail ? _tails : _heads).TryGetValue(Key(anchor, relation, NumEntities), out var ids) ? ids : None;

    /// <summary>Whether <c>(h, r, t)</c> is known.</summary>
    public bool Contains(Triple triple) => Answers(triple.Head, triple.Relation, QuerySide.Tail).BinarySearch(triple.Tail) >= 0;

    private static long Key(int entity, int relation, int numEntities) => (long)relation * numEntities + entity;

    private static void Add(Dictionary<long, List<int>> map, long key, int value)
    {
        if (!map.TryGetValue(key, out var list))
            map.Add(key, list = []);
        list.Add(value);
    }

    private static Dictionary<long, int[]> Finish(Dictionary<long, List<int>> map, ref int count)
    {
        var result = new Dictionary<long, int[]>(map.Count);
        foreach (var (key, list) in map)
        {
            list.Sort();
            int n = 0;
            for (int i = 0; i < list.Count; i++)
                if (i == 0 || list[i] != list[i - 1])
                    list[n++] = list[i];
            result.Add(key, list.GetRange(0, n).ToArray());
            count += n;
        }
        return result;
    }
}
