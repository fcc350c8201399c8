using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Stores;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Stores;

/// <summary>Training loops against a store give the same bits as core's in-process fused training.</summary>
public sealed class TrainingAgainstStoreTests
{
    /// <summary>Loss ½‖y − target‖² over pooled outputs y: gradOutput = y − target (a planted regression).</summary>
    private static float[] LossGradient(float[] pooled, int step) =>
        [.. pooled.Select((v, i) => v - MathF.Sin(i * 0.37f + step))];

    [Theory]
    [InlineData(1, PoolingMode.Sum)]
    [InlineData(3, PoolingMode.Mean)]
    public async Task EmbeddingBag_AgainstAStore_EqualsCoreFusedTraining(int shards, PoolingMode mode)
    {
        const int rows = 60, dims = 5;
        var options = new EmbeddingBagOptions { Mode = mode, Seed = 3 };
        using var core = new EmbeddingBag(rows, dims, options);
        using var optimizer = FusedSparseBackward.Create(core.Weight, new Adagrad(0.2));
        await using var store = InProcessShardedStore.FromTable("items", core.Weight, new InProcessStoreOptions { Shards = shards });
        var rng = new Random(8);
        for (int t = 1; t <= 6; t++)
        {
            int[] indices = [.. Enumerable.Range(0, 24).Select(_ => rng.Next(rows))]; // repeats within and across bags
            int[] offsets = [0, 3, 3, 10, 17];                                           // an empty bag too
            float[] expectedOut = core.Forward(indices, offsets);
            core.BackwardAndStep(indices, offsets, LossGradient(expectedOut, t), optimizer);

            using StoreWorkingSet ws = await StoreWorkingSet.FetchAsync(store, indices.Select(i => (long)i).ToArray());
            using EmbeddingBag bag = ws.Bag(options);
            float[] actualOut = bag.Forward(ws.Indices, offsets);
            Assert.Equal(InProcessStoreTests.Bits(expectedOut), InProcessStoreTests.Bits(actualOut));
            SparseGradient g = bag.Backward(ws.Indices, offsets, LossGradient(actualOut, t));
            await ws.PushAsync(store, g, OptimizerStep.Adagrad(0.2, t));
        }
        var expected = new float[dims];
        var actual = new float[dims];
        for (int r = 0; r < rows; r++)
        {
            core.Weight.ReadRow(r, expected);
            store.ReadRow(r, actual);
            Assert.Equal(InProcessStoreTests.Bits(expected), InProcessStoreTests.Bits(actual));
        }
    }

    [Fact]
    public async Task TableCollection_AgainstStores_EqualsCoreFusedTraining()
    {
        TableConfig[] configs = [new("users", 40, 4, ["user"]), new("items", 30, 3, ["item", "tag"], PoolingMode.Mean)];
        using var core = new TableCollection(configs, seed: 5);
        using var replica = new TableCollection(configs, seed: 5);
        var optimizers = configs.ToDictionary(c => c.Name, c => (SparseOptimizer)FusedSparseBackward.Create(core[c.Name], new Adam(0.05)));
        var stores = configs.ToDictionary(c => c.Name, c => InProcessShardedStore.FromTable(c.Name, replica[c.Name], new InProcessStoreOptions { Shards = 2 }));
        var rng = new Random(2);
        for (int t = 1; t <= 5; t++)
        {
            const int batch = 4;
            int[] users = [.. Enumerable.Range(0, batch).Select(_ => rng.Next(40))];
            int[] items = [.. Enumerable.Range(0, 7).Select(_ => rng.Next(30))];
            int[] tags = [.. Enumerable.Range(0, 5).Select(_ => rng.Next(30))];
            var keyed = new KeyedBatch(batch).Add("user", users, [0, 1, 2, 3, 4]).Add("item", items, [0, 2, 4, 5, 7]).Add("tag", tags, [0, 1, 1, 3, 5]);
            float[] expectedOut = core.Forward(keyed);
            core.BackwardAndStep(keyed, LossGradient(expectedOut, t), optimizers);

            // Against the stores: pull the batch's rows, forward, push the summed gradients.
            await StoreSync.PullRowsAsync(stores["users"], users, replica["users"]);
            await StoreSync.PullRowsAsync(stores["items"], items.Concat(tags).ToArray(), replica["items"]);
            float[] actualOut = replica.Forward(keyed);
            Assert.Equal(InProcessStoreTests.Bits(expectedOut), InProcessStoreTests.Bits(actualOut));
            foreach (var (name, g) in replica.SummedGradients(keyed, LossGradient(actualOut, t)))
                await StoreSync.PushAsync(stores[name], g, OptimizerStep.Adam(0.05, t));
        }
        foreach (TableConfig c in configs)
        {
            var expected = new float[c.Dims];
            var actual = new float[c.Dims];
            for (int r = 0; r < c.NumEmbeddings; r++)
            {
                core[c.Name].ReadRow(r, expected);
                stores[c.Name].ReadRow(r, actual);
                Assert.Equal(InProcessStoreTests.Bits(expected), InProcessStoreTests.Bits(actual));
            }
            stores[c.Name].Dispose();
            optimizers[c.Name].Dispose();
        }
    }
}
