using EmbedSharp.Stores;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Stores;

/// <summary>The benchmark's stage splits run on small tables and leave the stores working (timings are not checked).</summary>
public sealed class StoreSplitTests
{
    [Fact]
    public void LookupStagesRunAndLeaveTheTableAnsweringAsItsReference()
    {
        const int dims = 7;
        using var table = new DynamicTable("t", dims, new DynamicTableOptions { MaxRows = 50 });
        using var reference = new DynamicTable("t", dims, new DynamicTableOptions { MaxRows = 50 });
        long[] ids = [.. Enumerable.Range(0, 50).Select(i => (long)i * 1_000_003 - 7)];
        float[] rows = [.. Enumerable.Range(0, ids.Length * dims).Select(i => i * 0.5f)];
        table.Upsert(ids, rows);
        reference.Upsert(ids, rows);
        long[][] batches = [[.. ids.Take(13)], [.. ids.Reverse().Concat(ids.Take(3))], [ids[4]]];

        var stages = table.MeasureLookupStages(batches, 1, out long checksum);

        Assert.Equal(12, stages.Length);
        Assert.All(stages, s => Assert.True(s.NsPerId >= 0 && double.IsFinite(s.NsPerId), s.Stage));
        Assert.NotEqual(0, checksum);
        foreach (long[] batch in batches)
        {
            var expected = new float[batch.Length * dims];
            var actual = new float[batch.Length * dims];
            reference.GatherReference(batch, expected);
            table.Gather(batch, actual);
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void UpdateStagesApplyRealStepsEqualToTheStoreCall()
    {
        const int dims = 5;
        using var rows = new EmbeddingTable(40, dims);
        using var store = InProcessShardedStore.FromTable("s", rows, new InProcessStoreOptions { Shards = 1 });
        (long[] Ids, float[] Gradients)[] batches = [([3, 1, 39, 7], [.. Enumerable.Range(0, 4 * dims).Select(i => i * 0.01f - 0.1f)])];

        var stages = store.MeasureUpdateStages(batches, t => OptimizerStep.Adagrad(0.1, t), 1);

        Assert.Equal(9, stages.Length);
        Assert.All(stages, s => Assert.True(s.NsPerRow >= 0 && double.IsFinite(s.NsPerRow), s.Stage));
        Assert.True(store.StepCount > 0);
        var row = new float[dims];
        store.ReadRow(3, row);
        Assert.Contains(row, v => v != 0f);
    }
}
