using System.Numerics;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search;

/// <summary>
/// Which ids a search may return: an allow-list (a bit set over ids) or a predicate over ids. Every
/// index takes one; a search with a filter returns the best <c>k</c> allowed ids (fewer only when
/// fewer are allowed), never a post-filtered shorter list.
/// </summary>
/// <remarks>
/// An allow-list knows how many ids it allows, so an approximate index can see that a filter is
/// selective and switch to an exact scan over the allowed ids; a predicate is sampled for that.
/// Predicates must be pure and thread-safe (searches call them from several threads).
/// </remarks>
public sealed class SearchFilter
{
    private readonly ulong[]? _bits;
    private readonly Func<int, bool>? _predicate;

    private SearchFilter(ulong[] bits, int count)
    {
        _bits = bits;
        AllowedCount = count;
    }

    private SearchFilter(Func<int, bool> predicate) => _predicate = predicate;

    /// <summary>How many ids the filter allows, when known (allow-lists); null for predicates.</summary>
    public int? AllowedCount { get; }

    /// <summary>A filter that allows exactly <paramref name="ids"/> (repeats are fine).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is negative.</exception>
    public static SearchFilter Allow(ReadOnlySpan<int> ids)
    {
        int max = -1;
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] < 0)
                ThrowHelper.ArgumentOutOfRange("search.filter", nameof(ids), ids[i], $"ids[{i}] is negative; ids are 0 or more");
            max = Math.Max(max, ids[i]);
        }
        var bits = new ulong[(max + 64) / 64];
        foreach (int id in ids)
            bits[id >> 6] |= 1UL << id;
        return new SearchFilter(bits, Count(bits));
    }

    /// <summary>A filter that allows ids <c>0..count-1</c> (gensim's <c>restrict_vocab</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public static SearchFilter Below(int count)
    {
        Guard.NonNegative("search.filter", count);
        var bits = new ulong[(count + 63) / 64];
        for (int i = 0; i < count >> 6; i++)
            bits[i] = ulong.MaxValue;
        if ((count & 63) != 0)
            bits[^1] = (1UL << (count & 63)) - 1;
        return new SearchFilter(bits, count);
    }

    /// <summary>A filter that allows the ids for which <paramref name="predicate"/> returns true.</summary>
    public static SearchFilter Where(Func<int, bool> predicate) => new(Guard.NotNull("search.filter", predicate));

    /// <summary>This filter minus <paramref name="ids"/> (gensim's excluded query words).</summary>
    public SearchFilter Except(ReadOnlySpan<int> ids)
    {
        if (_bits is null)
        {
            var skip = new HashSet<int>(ids.ToArray());
            var inner = _predicate!;
            return new SearchFilter(id => inner(id) && !skip.Contains(id));
        }
        var bits = (ulong[])_bits.Clone();
        foreach (int id in ids)
        {
            if (id >= 0 && id >> 6 < bits.Length)
                bits[id >> 6] &= ~(1UL << id);
        }
        return new SearchFilter(bits, Count(bits));
    }

    /// <summary>Whether <paramref name="id"/> may be returned.</summary>
    public bool Allows(int id)
    {
        if (_bits is not null)
            return (uint)(id >> 6) < (uint)_bits.Length && id >= 0 && (_bits[id >> 6] & (1UL << id)) != 0;
        return _predicate!(id);
    }

    /// <summary>
    /// The allowed ids below <paramref name="limit"/>, ascending (allow-lists walk their bits, predicates are asked for every id).
    /// </summary>
    public int[] AllowedIds(int limit)
    {
        var ids = new List<int>();
        if (_bits is not null)
        {
            for (int w = 0; w < _bits.Length && w * 64 < limit; w++)
            {
                ulong word = _bits[w];
                while (word != 0)
                {
                    int id = w * 64 + BitOperations.TrailingZeroCount(word);
                    if (id >= limit)
                        break;
                    ids.Add(id);
                    word &= word - 1;
                }
            }
        }
        else
        {
            for (int id = 0; id < limit; id++)
            {
                if (_predicate!(id))
                    ids.Add(id);
            }
        }
        return [.. ids];
    }

    /// <summary>
    /// The fraction of ids in <c>0..limit-1</c> the filter allows: exact for allow-lists, estimated
    /// from up to 256 evenly spaced ids for predicates.
    /// </summary>
    public double Selectivity(int limit)
    {
        if (limit <= 0)
            return 0;
        if (_bits is not null)
            return Math.Min(1.0, (double)CountBelow(limit) / limit);
        int samples = Math.Min(limit, 256), hits = 0;
        for (int s = 0; s < samples; s++)
        {
            if (_predicate!((int)((long)s * limit / samples)))
                hits++;
        }
        return (double)hits / samples;
    }

    private int CountBelow(int limit)
    {
        int full = Math.Min(_bits!.Length, limit >> 6), count = 0;
        for (int w = 0; w < full; w++)
            count += BitOperations.PopCount(_bits[w]);
        if (full < _bits.Length && (limit & 63) != 0)
            count += BitOperations.PopCount(_bits[full] & ((1UL << (limit & 63)) - 1));
        return count;
    }

    private static int Count(ulong[] bits)
    {
        int count = 0;
        foreach (ulong w in bits)
            count += BitOperations.PopCount(w);
        return count;
    }
}
