using EmbedSharp.Stores;

namespace EmbedSharp.Tests.Stores;

/// <summary>The stores' own kernels against their plain references.</summary>
public sealed class StoreKernelTests
{
    public static TheoryData<int, int> SortCases()
    {
        var data = new TheoryData<int, int>();
        foreach (int n in new[] { 0, 1, 2, 7, 64, 257, 4096 })
            foreach (int maxKey in new[] { 0, 1, 2047, 2048, 1_000_000, int.MaxValue })
                data.Add(n, maxKey);
        return data;
    }

    [Theory]
    [MemberData(nameof(SortCases))]
    public void SlotSortMatchesTheStableReference(int n, int maxKey)
    {
        var rng = new Random(n * 31 + maxKey % 1000);
        int[] keys = new int[n], items = new int[n];
        for (int i = 0; i < n; i++)
        {
            // Every third key repeats an earlier one, so stability is tested too.
            keys[i] = i % 3 == 2 ? keys[rng.Next(i)] : (int)(rng.NextInt64((long)maxKey + 1));
            items[i] = i;
        }
        int[] expectKeys = [.. keys], expectItems = [.. items];
        SlotSort.SortReference(expectKeys, expectItems);
        SlotSort.Sort(keys, items, new int[n], new int[n], maxKey);
        Assert.Equal(expectKeys, keys);
        Assert.Equal(expectItems, items);
    }

    [Fact]
    public void SlotSortHandlesOddPassCountsAndSkippedPasses()
    {
        // Keys that differ only in the top digit (the lower passes are skipped), and a 3-pass key range (result copied back).
        int[] keys = [3 << 22, 1 << 22, 2 << 22, 0], items = [0, 1, 2, 3];
        SlotSort.Sort(keys, items, new int[8], new int[8], 3 << 22);
        Assert.Equal([0, 1 << 22, 2 << 22, 3 << 22], keys);
        Assert.Equal([3, 1, 2, 0], items);
        int[] same = [5, 5, 5], order = [2, 0, 1];
        SlotSort.Sort(same, order, new int[3], new int[3], 5);
        Assert.Equal([2, 0, 1], order);
    }
}

/// <summary>The stores' optimizer state pages.</summary>
public sealed class StateRowsTests
{
    [Fact]
    public void RowsStartAtTheTemplateAcrossSegmentsAndResetToIt()
    {
        // Width 3: 262,144 rows a segment, so these rows fall in three segments.
        using var state = new StateRows(600_000, [1f, 2f, 3f]);
        Assert.Equal(0, state.AllocatedBytes);
        var copy = new float[3];
        state.CopyRow(300_000, copy);
        Assert.Equal([1f, 2f, 3f], copy);
        Assert.Equal(0, state.AllocatedBytes); // reading an untouched row allocates nothing
        foreach (int row in new[] { 0, 300_000, 599_999 })
        {
            Assert.Equal([1f, 2f, 3f], state.Row(row).ToArray());
            state.Row(row).Fill(row);
        }
        Assert.Equal(3 * 262_144 * 3 * sizeof(float), state.AllocatedBytes);
        Assert.Equal([1f, 2f, 3f], state.Row(1).ToArray()); // a neighbour on the same page was initialised too
        state.CopyRow(599_999, copy);
        Assert.Equal([599_999f, 599_999f, 599_999f], copy);
        state.Reset(599_999);
        Assert.Equal([1f, 2f, 3f], state.Row(599_999).ToArray());
        state.Prefetch(0);
        state.Prefetch(500_000); // untouched page: a no-op
    }

    [Fact]
    public void DisposedStateThrows()
    {
        var state = new StateRows(10, [0f, 0f]);
        state.Row(3)[0] = 1f;
        state.Dispose();
        state.Dispose();
        Assert.Throws<ObjectDisposedException>(() => state.Row(3).ToArray());
    }
}
