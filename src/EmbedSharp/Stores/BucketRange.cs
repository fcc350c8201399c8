using EmbedSharp.Diagnostics;

namespace EmbedSharp.Stores;

/// <summary>A half-open range of virtual buckets <c>[First, End)</c>, inside <c>[0, 4096]</c>.</summary>
public readonly record struct BucketRange
{
    /// <summary>Creates the range <c>[first, end)</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not <c>0 ≤ first &lt; end ≤ 4096</c>.</exception>
    public BucketRange(int first, int end)
    {
        if (first < 0 || end <= first || end > BucketRouter.BucketCount)
            ThrowHelper.ArgumentOutOfRange("store.bucket_range", nameof(first), first,
                $"bucket range [{first}, {end}) is not valid; valid ranges have 0 <= first < end <= {BucketRouter.BucketCount}");
        First = first;
        End = end;
    }

    /// <summary>The first bucket of the range.</summary>
    public int First { get; }

    /// <summary>One past the last bucket of the range.</summary>
    public int End { get; }

    /// <summary>The number of buckets in the range.</summary>
    public int Count => End - First;

    /// <summary>All 4,096 buckets.</summary>
    public static BucketRange All => new(0, BucketRouter.BucketCount);

    /// <summary>True when <paramref name="bucket"/> lies in the range.</summary>
    public bool Contains(int bucket) => bucket >= First && bucket < End;

    /// <summary>True when the two ranges share a bucket.</summary>
    public bool Overlaps(BucketRange other) => First < other.End && other.First < End;

    /// <inheritdoc/>
    public override string ToString() => $"[{First}, {End})";
}
