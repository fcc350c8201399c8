using System.Diagnostics;

namespace EmbedSharp.Numerics;

public static partial class Kernels
{
    /// <summary>Bits of the key consumed per counting pass of <see cref="SortByKey"/>.</summary>
    private const int RadixBits = 11;

    /// <summary>
    /// Stable least-significant-digit radix sort of (key, value) pairs by key: on return
    /// <paramref name="keys"/> is ascending and <paramref name="values"/> holds each key's values in
    /// their original order. This is how sparse gradients are grouped by row (key = row id, value =
    /// position), replacing a comparison sort of 64-bit packed keys.
    /// </summary>
    /// <remarks>
    /// Keys must lie in <c>[0, maxKey]</c> (checked in debug builds; the caller guarantees it). Each
    /// pass counts one 11-bit digit and scatters, so the work is
    /// <c>⌈bits(maxKey) / 11⌉ · 2n</c> moves: two passes for tables of up to 4M rows, three beyond.
    /// The scratch spans must be at least as long as <paramref name="keys"/>.
    /// <see cref="SortByKeyReference"/> is the plain version the tests compare with.
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static void SortByKey(Span<int> keys, Span<int> values, int maxKey, Span<int> scratchKeys, Span<int> scratchValues)
    {
        int n = keys.Length;
        Debug.Assert(values.Length == n && scratchKeys.Length >= n && scratchValues.Length >= n && maxKey >= 0);
        if (n < 2)
            return;
        int bits = 32 - int.LeadingZeroCount(maxKey);
        int passes = Math.Max(1, (bits + RadixBits - 1) / RadixBits);
        const int buckets = 1 << RadixBits;
        Span<int> counts = stackalloc int[buckets];
        Span<int> srcK = keys, srcV = values, dstK = scratchKeys[..n], dstV = scratchValues[..n];
        for (int pass = 0; pass < passes; pass++)
        {
            int shift = pass * RadixBits;
            counts.Clear();
            for (int i = 0; i < n; i++)
            {
                Debug.Assert((uint)srcK[i] <= (uint)maxKey);
                counts[(srcK[i] >> shift) & (buckets - 1)]++;
            }
            // A pass in which every key has the same digit leaves the order as it is.
            if (counts[(srcK[0] >> shift) & (buckets - 1)] == n)
                continue;
            int sum = 0;
            for (int b = 0; b < buckets; b++)
            {
                int c = counts[b];
                counts[b] = sum;
                sum += c;
            }
            for (int i = 0; i < n; i++)
            {
                int k = srcK[i];
                int slot = counts[(k >> shift) & (buckets - 1)]++;
                dstK[slot] = k;
                dstV[slot] = srcV[i];
            }
            Span<int> t = srcK; srcK = dstK; dstK = t;
            t = srcV; srcV = dstV; dstV = t;
        }
        if (!srcK.Overlaps(keys))
        {
            srcK.CopyTo(keys);
            srcV.CopyTo(values);
        }
    }

    /// <summary>The plain reference for <see cref="SortByKey"/>: a comparison sort of <c>key · 2³² + original index</c>.</summary>
    internal static void SortByKeyReference(Span<int> keys, Span<int> values)
    {
        var packed = new long[keys.Length];
        for (int i = 0; i < keys.Length; i++)
            packed[i] = ((long)keys[i] << 32) | (uint)i;
        Array.Sort(packed);
        int[] original = values.ToArray();
        for (int i = 0; i < packed.Length; i++)
        {
            keys[i] = (int)(packed[i] >> 32);
            values[i] = original[(int)(uint)packed[i]];
        }
    }
}
