using EmbedSharp.Diagnostics;

namespace EmbedSharp.Models.Data;

/// <summary>
/// User–item interactions as parallel arrays (MovieLens <c>u.data</c>: user, item, rating, timestamp).
/// Ids are the file's raw ids; models map them to dense indices with <see cref="IdMap"/>.
/// </summary>
public sealed class RatingData
{
    /// <summary>Wraps the arrays (not copied).</summary>
    /// <exception cref="ArgumentException">Arrays of different lengths.</exception>
    public RatingData(int[] users, int[] items, float[] ratings, long[] timestamps)
    {
        const string op = "ratings.create";
        Guard.NotNull(op, users);
        Guard.NotNull(op, items);
        Guard.NotNull(op, ratings);
        Guard.NotNull(op, timestamps);
        Guard.Length(op, items.Length, users.Length, "one item per user entry");
        Guard.Length(op, ratings.Length, users.Length, "one rating per user entry");
        Guard.Length(op, timestamps.Length, users.Length, "one timestamp per user entry");
        Users = users;
        Items = items;
        Ratings = ratings;
        Timestamps = timestamps;
    }

    /// <summary>Raw user id of each interaction.</summary>
    public int[] Users { get; }

    /// <summary>Raw item id of each interaction.</summary>
    public int[] Items { get; }

    /// <summary>Rating (or 1 for an implicit interaction).</summary>
    public float[] Ratings { get; }

    /// <summary>Unix time of each interaction (0 when unknown).</summary>
    public long[] Timestamps { get; }

    /// <summary>Number of interactions.</summary>
    public int Count => Users.Length;

    /// <summary>The interactions at <paramref name="positions"/>, in that order.</summary>
    public RatingData Select(ReadOnlySpan<int> positions)
    {
        var u = new int[positions.Length];
        var i = new int[positions.Length];
        var r = new float[positions.Length];
        var t = new long[positions.Length];
        for (int k = 0; k < positions.Length; k++)
        {
            int p = positions[k];
            Guard.InRange("ratings.select", p, 0, Count, "position");
            (u[k], i[k], r[k], t[k]) = (Users[p], Items[p], Ratings[p], Timestamps[p]);
        }
        return new RatingData(u, i, r, t);
    }

    /// <summary>
    /// Only the interactions with rating ≥ <paramref name="threshold"/>, each with rating 1 (the
    /// click-style target: e.g. 4 on MovieLens' 1–5 scale).
    /// </summary>
    public RatingData Positives(float threshold)
    {
        var keep = new List<int>();
        for (int k = 0; k < Count; k++)
            if (Ratings[k] >= threshold)
                keep.Add(k);
        RatingData d = Select(keep.ToArray());
        Array.Fill(d.Ratings, 1f);
        return d;
    }

    /// <summary>
    /// Implicit values weighted by recency within each user's own history: the interaction that is
    /// k-th from the user's latest (by timestamp, ties to the later line) gets value
    /// <c>1 + boost·0.5^(k / halfLife)</c>, so with implicit ALS (confidence <c>1 + α·value</c>) a user's
    /// recent items count more. Uses nothing but the data's own timestamps.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="halfLife"/> not &gt; 0 or <paramref name="boost"/> &lt; 0.</exception>
    public RatingData RecencyWeighted(double halfLife, double boost)
    {
        const string op = "ratings.recency_weighted";
        Guard.PositiveFinite(op, halfLife, nameof(halfLife));
        Guard.Finite(op, boost, nameof(boost));
        if (boost < 0)
            ThrowHelper.ArgumentOutOfRange(op, nameof(boost), boost, "boost must be ≥ 0");
        var byUser = new Dictionary<int, List<int>>();
        for (int k = 0; k < Count; k++)
        {
            if (!byUser.TryGetValue(Users[k], out var list))
                byUser[Users[k]] = list = [];
            list.Add(k);
        }
        var values = new float[Count];
        foreach (var list in byUser.Values)
        {
            // Latest first: larger timestamp, then later line.
            list.Sort((a, b) => Timestamps[a] != Timestamps[b] ? Timestamps[b].CompareTo(Timestamps[a]) : b.CompareTo(a));
            for (int k = 0; k < list.Count; k++)
                values[list[k]] = (float)(1 + boost * Math.Pow(0.5, k / halfLife));
        }
        return new RatingData((int[])Users.Clone(), (int[])Items.Clone(), values, (long[])Timestamps.Clone());
    }

    /// <summary>
    /// A seeded random split into <paramref name="folds"/> folds (each interaction in exactly one test
    /// fold); returns (train, test) for fold <paramref name="fold"/>.
    /// </summary>
    public (RatingData Train, RatingData Test) KFold(int folds, int fold, ulong seed)
    {
        const string op = "ratings.kfold";
        Guard.InRange(op, folds, 2, int.MaxValue);
        Guard.InRange(op, fold, 0, folds);
        int[] order = Enumerable.Range(0, Count).ToArray();
        var rng = new Numerics.SeededRandom(seed);
        for (int k = order.Length - 1; k > 0; k--)
        {
            int j = rng.NextInt(k + 1);
            (order[k], order[j]) = (order[j], order[k]);
        }
        var train = new List<int>();
        var test = new List<int>();
        for (int k = 0; k < order.Length; k++)
            (k % folds == fold ? test : train).Add(order[k]);
        return (Select(train.ToArray()), Select(test.ToArray()));
    }

    /// <summary>
    /// Leave-one-out by time: each user's latest interaction (ties to the later line) is the test set,
    /// the rest the training set. Users with a single interaction stay wholly in training.
    /// </summary>
    public (RatingData Train, RatingData Test) LeaveLastOut()
    {
        var last = new Dictionary<int, int>();
        for (int k = 0; k < Count; k++)
        {
            if (!last.TryGetValue(Users[k], out int p) || Timestamps[k] >= Timestamps[p])
                last[Users[k]] = k;
        }
        var counts = new Dictionary<int, int>();
        foreach (int u in Users)
            counts[u] = counts.GetValueOrDefault(u) + 1;
        var test = new HashSet<int>(last.Where(kv => counts[kv.Key] > 1).Select(kv => kv.Value));
        var trainList = new List<int>();
        for (int k = 0; k < Count; k++)
            if (!test.Contains(k))
                trainList.Add(k);
        return (Select(trainList.ToArray()), Select(test.Order().ToArray()));
    }
}

/// <summary>Raw id ↔ dense index (0..Count−1), in order of first appearance.</summary>
public sealed class IdMap
{
    private readonly Dictionary<int, int> _index;

    /// <summary>Maps the distinct ids of <paramref name="ids"/>, first appearance first.</summary>
    public IdMap(IEnumerable<int> ids)
    {
        Guard.NotNull("id_map.create", ids);
        _index = [];
        var raw = new List<int>();
        foreach (int id in ids)
            if (_index.TryAdd(id, raw.Count))
                raw.Add(id);
        Ids = [.. raw];
    }

    /// <summary>Raw id of each index.</summary>
    public int[] Ids { get; }

    /// <summary>Number of ids.</summary>
    public int Count => Ids.Length;

    /// <summary>The index of <paramref name="id"/>, or −1.</summary>
    public int IndexOf(int id) => _index.TryGetValue(id, out int i) ? i : -1;
}
