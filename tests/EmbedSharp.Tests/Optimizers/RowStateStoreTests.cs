using EmbedSharp.Optimizers;

namespace EmbedSharp.Tests.Optimizers;

/// <summary>The optimizer's native, lazily allocated state store.</summary>
public sealed class RowStateStoreTests
{
    [Fact]
    public void OnlyTouchedSegmentsAreAllocatedAndPagesStartFromTheRulesInitialState()
    {
        // 200M rows × 256 floats would be 200 GB at once; two touched rows cost two segments of 2 MiB.
        using var store = new RowStateStore(200_000_000, 256);
        var rule = new Adagrad(0.1, initialAccumulatorValue: 0.25);
        Assert.Equal(0, store.AllocatedPages);
        Span<float> first = store.Row(5, rule);
        Span<float> last = store.Row(199_999_999, rule);
        Assert.Equal(256, first.Length);
        Assert.All(first.ToArray(), v => Assert.Equal(0.25f, v));
        Assert.All(last.ToArray(), v => Assert.Equal(0.25f, v));
        first[3] = 7f;
        last[255] = -1f;
        Assert.Equal(7f, store.Row(5, rule)[3]);
        Assert.Equal(-1f, store.Row(199_999_999, rule)[255]);
        Assert.Equal(2, store.AllocatedPages);
        Assert.True(store.IsAllocated(5 >> RowStateStore.PageShift));
        Assert.False(store.IsAllocated(1));
        Assert.Equal(0.25f, store.PageRowsOf(0)[63 * 256]); // row 63 shares row 5's page
    }

    [Fact]
    public void ConcurrentFirstUseInitialisesEachPageOnce()
    {
        using var store = new RowStateStore(100_000, 24);
        var rule = new Adagrad(0.1, initialAccumulatorValue: 1);
        // Every row gets +1 from one thread; a page initialised twice would lose an earlier thread's +1.
        Parallel.For(0, 100_000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, r => store.Row(r, rule)[r % 24] += 1);
        for (int r = 0; r < 100_000; r++)
        {
            Span<float> row = store.Row(r, rule);
            for (int i = 0; i < 24; i++)
                Assert.Equal(i == r % 24 ? 2f : 1f, row[i]);
        }
        Assert.Equal((100_000 + 63) / 64, store.AllocatedPages);
    }

    [Fact]
    public void ReplaceLoadsGivenPagesAndForgetsTheOthers()
    {
        using var store = new RowStateStore(300, 2);
        var rule = new Adagrad(0.1);
        store.Row(70, rule)[0] = 5f; // page 1
        var pages = new float[]?[store.PageCount];
        pages[3] = Enumerable.Range(0, 128).Select(i => (float)i).ToArray();
        store.Replace(pages);
        Assert.False(store.IsAllocated(1));
        Assert.True(store.IsAllocated(3));
        Assert.Equal([10f, 11f], store.Row(3 * 64 + 5, rule).ToArray());
        Assert.Equal(0f, store.Row(70, rule)[0]); // page 1 starts again from the initial state
    }
}
