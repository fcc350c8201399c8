namespace EmbedSharp.Stores;

/// <summary>
/// Sorts row slots ascending, carrying one int payload per slot (the gradient row it takes): a stable
/// least-significant-digit radix sort, 11 bits a pass, over the bits the largest slot needs.
/// </summary>
/// <remarks>
/// <para>A store applies a batch's rows in ascending slot order, so neighbouring rows share pages and the
/// hardware prefetcher sees a forward stream. A 4,096-row batch over a table of a million rows sorts in two
/// passes of 2,048 counters each (one read to count all digits, then one scatter per pass), several times
/// faster than a comparison sort of keys and items, which cost a store more than a tenth of its update.</para>
/// <para>Passes alternate between the inputs and the scratch; when their number is odd the result is copied back.
/// A pass whose digit is the same for every key is skipped. Keys must be in <c>[0, maxKey]</c>.</para>
/// </remarks>
internal static class SlotSort
{
    private const int DigitBits = 11;
    private const int Radix = 1 << DigitBits;

    /// <summary>
    /// Sorts <paramref name="keys"/> ascending and applies the same permutation to <paramref name="items"/>
    /// (equal keys keep their order); <paramref name="scratchKeys"/> and <paramref name="scratchItems"/> are at least as long.
    /// </summary>
    public static void Sort(Span<int> keys, Span<int> items, Span<int> scratchKeys, Span<int> scratchItems, int maxKey)
    {
        int n = keys.Length;
        System.Diagnostics.Debug.Assert(items.Length == n && scratchKeys.Length >= n && scratchItems.Length >= n && maxKey >= 0);
        if (n < 2)
            return;
        int bits = 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)maxKey);
        int passes = Math.Max(1, (bits + DigitBits - 1) / DigitBits);
        Span<int> counts = passes <= 3 ? stackalloc int[3 * Radix] : new int[passes * Radix];
        counts = counts.Slice(0, passes * Radix);
        counts.Clear();
        for (int i = 0; i < n; i++)
        {
            uint k = (uint)keys[i];
            for (int p = 0; p < passes; p++)
                counts[(p << DigitBits) + (int)((k >> (p * DigitBits)) & (Radix - 1))]++;
        }
        Span<int> fromKeys = keys, fromItems = items, toKeys = scratchKeys.Slice(0, n), toItems = scratchItems.Slice(0, n);
        bool inScratch = false;
        for (int p = 0; p < passes; p++)
        {
            Span<int> count = counts.Slice(p << DigitBits, Radix);
            int shift = p * DigitBits;
            if (count[(int)(((uint)fromKeys[0] >> shift) & (Radix - 1))] == n)
                continue; // every key has this digit: the order stays
            int sum = 0;
            for (int d = 0; d < Radix; d++)
            {
                int c = count[d];
                count[d] = sum;
                sum += c;
            }
            for (int i = 0; i < n; i++)
            {
                int k = fromKeys[i];
                int at = count[(int)(((uint)k >> shift) & (Radix - 1))]++;
                toKeys[at] = k;
                toItems[at] = fromItems[i];
            }
            Span<int> t = fromKeys;
            fromKeys = toKeys;
            toKeys = t;
            t = fromItems;
            fromItems = toItems;
            toItems = t;
            inScratch = !inScratch;
        }
        if (inScratch)
        {
            fromKeys.CopyTo(keys);
            fromItems.CopyTo(items);
        }
    }

    /// <summary>The plain reference: a stable sort of (key, item) pairs by key.</summary>
    public static void SortReference(Span<int> keys, Span<int> items)
    {
        var pairs = new (int Key, int Item, int At)[keys.Length];
        for (int i = 0; i < pairs.Length; i++)
            pairs[i] = (keys[i], items[i], i);
        Array.Sort(pairs, (a, b) => a.Key != b.Key ? a.Key.CompareTo(b.Key) : a.At.CompareTo(b.At));
        for (int i = 0; i < pairs.Length; i++)
        {
            keys[i] = pairs[i].Key;
            items[i] = pairs[i].Item;
        }
    }
}
