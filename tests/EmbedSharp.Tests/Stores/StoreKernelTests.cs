using EmbedSharp.Stores;

namespace EmbedSharp.Tests.Stores;

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
