using EmbedSharp.Diagnostics;

namespace EmbedSharp.Stores;

/// <summary>
/// Which shard owns each virtual bucket: a range table over the 4,096 buckets of
/// <see cref="BucketRouter"/>, TorchRec's row-wise sharding with buckets in place of row ranges.
/// </summary>
/// <remarks>
/// A plan lists <c>(range, shard)</c> entries that cover every bucket exactly once; a shard may own
/// several ranges. <see cref="Even"/> gives shard k the buckets <c>[⌊4096·k/S⌋, ⌊4096·(k+1)/S⌋)</c>.
/// Moving a table from one plan to another moves whole buckets; rows never change bucket.
/// </remarks>
public sealed class ShardingPlan
{
    private readonly ushort[] _shardOfBucket = new ushort[BucketRouter.BucketCount];
    private readonly BucketRange[][] _rangesOf;

    /// <summary>Creates a plan from its entries; <paramref name="version"/> tells plans of one table apart (backends key shards by it).</summary>
    /// <exception cref="ArgumentException">The entries leave a bucket out, cover one twice, or name a shard outside <c>[0, shardCount)</c>, or a shard owns no bucket.</exception>
    public ShardingPlan(int shardCount, IEnumerable<(BucketRange Range, int Shard)> entries, long version = 0)
    {
        const string op = "store.plan";
        Guard.InRange(op, shardCount, 1, BucketRouter.BucketCount + 1);
        Guard.NotNull(op, entries);
        var list = entries.OrderBy(e => e.Range.First).ToArray();
        int next = 0;
        foreach (var (range, shard) in list)
        {
            if (range.Count == 0)
                ThrowHelper.Argument(op, nameof(entries), "a default (empty) bucket range was given; create ranges with new BucketRange(first, end)");
            if ((uint)shard >= (uint)shardCount)
                ThrowHelper.Argument(op, nameof(entries), $"range {range} names shard {shard}; valid shards are 0..{shardCount - 1}");
            if (range.First != next)
                ThrowHelper.Argument(op, nameof(entries), range.First > next
                    ? $"buckets [{next}, {range.First}) belong to no shard; the ranges must cover 0..{BucketRouter.BucketCount - 1} exactly once"
                    : $"range {range} overlaps the range before it; the ranges must cover 0..{BucketRouter.BucketCount - 1} exactly once");
            _shardOfBucket.AsSpan(range.First, range.Count).Fill((ushort)shard);
            next = range.End;
        }
        if (next != BucketRouter.BucketCount)
            ThrowHelper.Argument(op, nameof(entries), $"buckets [{next}, {BucketRouter.BucketCount}) belong to no shard; the ranges must cover 0..{BucketRouter.BucketCount - 1} exactly once");
        _rangesOf = new BucketRange[shardCount][];
        for (int s = 0; s < shardCount; s++)
        {
            _rangesOf[s] = [.. list.Where(e => e.Shard == s).Select(e => e.Range)];
            if (_rangesOf[s].Length == 0)
                ThrowHelper.Argument(op, nameof(entries), $"shard {s} owns no bucket; every shard in [0, {shardCount}) needs at least one range");
        }
        ShardCount = shardCount;
        Entries = list;
        Version = version;
    }

    /// <summary>An even plan: shard k owns buckets <c>[⌊4096·k/S⌋, ⌊4096·(k+1)/S⌋)</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="shardCount"/> is not in <c>[1, 4096]</c>.</exception>
    public static ShardingPlan Even(int shardCount, long version = 0)
    {
        Guard.InRange("store.plan", shardCount, 1, BucketRouter.BucketCount + 1);
        var entries = new (BucketRange, int)[shardCount];
        for (int k = 0; k < shardCount; k++)
            entries[k] = (new BucketRange(BucketRouter.BucketCount * k / shardCount, BucketRouter.BucketCount * (k + 1) / shardCount), k);
        return new ShardingPlan(shardCount, entries, version);
    }

    /// <summary>The number of shards.</summary>
    public int ShardCount { get; }

    /// <summary>A number that tells this plan apart from earlier plans of the same table (0 unless given).</summary>
    public long Version { get; }

    /// <summary>The <c>(range, shard)</c> entries, ascending by range.</summary>
    public IReadOnlyList<(BucketRange Range, int Shard)> Entries { get; }

    /// <summary>The bucket ranges <paramref name="shard"/> owns, ascending.</summary>
    public IReadOnlyList<BucketRange> RangesOf(int shard)
    {
        Guard.InRange("store.plan", shard, 0, ShardCount);
        return _rangesOf[shard];
    }

    /// <summary>The shard that owns <paramref name="bucket"/>.</summary>
    public int ShardOfBucket(int bucket) => _shardOfBucket[bucket & (BucketRouter.BucketCount - 1)];

    /// <summary>The shard that owns <paramref name="id"/>'s bucket.</summary>
    public int ShardOf(long id) => _shardOfBucket[BucketRouter.BucketOf(id)];

    /// <summary>
    /// Splits a batch of ids by shard: each shard's distinct ids in order of first appearance, and for each
    /// position of <paramref name="ids"/> where its row lands in the per-shard results (see <see cref="RoutedBatch"/>).
    /// </summary>
    public RoutedBatch Route(ReadOnlySpan<long> ids) => RoutedBatch.Build(this, ids);
}
