using System.Runtime.CompilerServices;

namespace EmbedSharp.Stores;

/// <summary>
/// Maps int64 ids to one of <see cref="BucketCount"/> virtual buckets. Buckets, not shards, are what
/// snapshots and plans name, so a table written by N shards can be read by M shards without rewriting
/// a row (the same idea as Redis Cluster's 16,384 hash slots).
/// </summary>
/// <remarks>
/// <para>The function is fixed forever; snapshots and every backend depend on it:</para>
/// <code>
/// z = (ulong)id + 0x9E3779B97F4A7C15
/// z = (z ^ (z &gt;&gt; 30)) · 0xBF58476D1CE4E5B9
/// z = (z ^ (z &gt;&gt; 27)) · 0x94D049BB133111EB
/// z = z ^ (z &gt;&gt; 31)
/// bucket = z mod 4096 (the low 12 bits)
/// </code>
/// That is one step of SplitMix64 (Steele, Lea and Flood 2014) seeded with the id: consecutive ids
/// spread evenly over the buckets, so dense id ranges and hashed feature ids balance alike. Arithmetic
/// wraps modulo 2<sup>64</sup>. Tests pin the buckets of fixed ids so the function cannot drift.
/// </remarks>
public static class BucketRouter
{
    /// <summary>The number of virtual buckets: 4,096.</summary>
    public const int BucketCount = 4096;

    /// <summary>The 64-bit mix the buckets are taken from (SplitMix64's output function of <c>id + γ</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix64(long id)
    {
        ulong z = unchecked((ulong)id + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    /// <summary>The bucket of <paramref name="id"/>, in <c>[0, 4096)</c>.</summary>
    public static int BucketOf(long id) => (int)(Mix64(id) & (BucketCount - 1));
}
