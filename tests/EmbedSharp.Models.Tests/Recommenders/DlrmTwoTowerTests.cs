using EmbedSharp.Models.Dense;
using EmbedSharp.Models.Recommenders;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Tables;

namespace EmbedSharp.Models.Tests.Recommenders;

public sealed class DlrmTwoTowerTests
{
    [Fact]
    public void DotInteraction_GradientMatchesFiniteDifferences()
    {
        const int batch = 2, vectors = 4, dims = 3;
        float[] x = GradientCheck.Random(batch * vectors * dims, 1);
        float[] r = GradientCheck.Random(batch * DotInteraction.Outputs(vectors), 2);
        var y = new float[r.Length];
        DotInteraction.Forward(x, batch, vectors, dims, y);
        // Pair order: (0,1) of row 0 is v0·v1.
        Assert.Equal(System.Numerics.Tensors.TensorPrimitives.Dot(x.AsSpan(0, 3), x.AsSpan(3, 3)), y[0], 6);
        var g = new float[x.Length];
        DotInteraction.Backward(x, r, batch, vectors, dims, g);
        double L()
        {
            var yy = new float[r.Length];
            DotInteraction.Forward(x, batch, vectors, dims, yy);
            return yy.Select((v, i) => (double)v * r[i]).Sum();
        }
        for (int i = 0; i < x.Length; i++)
        {
            float old = x[i];
            x[i] = old + 1e-3f;
            double p = L();
            x[i] = old - 1e-3f;
            double m = L();
            x[i] = old;
            GradientCheck.Close(g[i], (p - m) / 2e-3, $"∂x[{i}]");
        }
    }

    [Fact]
    public void L2Normalize_GradientMatchesFiniteDifferences() =>
        GradientCheck.Layer(new L2Normalize(5), batch: 3, seed: 51, eps: 1e-3);

    private static (float[] Dense, KeyedBatch Sparse, float[] Labels, int[] Users) CtrBatch(SeededRandom rng, int batch)
    {
        // Click when the user's group (user id mod 3) equals the item's group (item id mod 3); the dense
        // feature is noise plus a small push towards the label.
        var users = new int[batch];
        var items = new int[batch];
        var dense = new float[batch * 2];
        var labels = new float[batch];
        for (int b = 0; b < batch; b++)
        {
            users[b] = rng.NextInt(30);
            items[b] = rng.NextInt(20);
            labels[b] = users[b] % 3 == items[b] % 3 ? 1 : 0;
            dense[b * 2] = (float)rng.NextNormal();
            dense[b * 2 + 1] = (float)(0.3 * labels[b] + rng.NextNormal());
        }
        int[] offsets = [.. Enumerable.Range(0, batch + 1)];
        return (dense, new KeyedBatch(batch).Add("user", users, offsets).Add("item", items, offsets), labels, users);
    }

    private static TableConfig[] CtrTables() =>
        [new TableConfig("user", 30, 8, ["user"], PoolingMode.Sum), new TableConfig("item", 20, 8, ["item"], PoolingMode.Sum)];

    [Fact]
    public void Dlrm_BackwardMatchesFiniteDifferencesThroughInteractionAndBothMlps()
    {
        using var model = new Dlrm(2, CtrTables(), [5], [6], seed: 3);
        var (dense, sparse, _, userIds) = CtrBatch(new SeededRandom(4), 3);
        var logits = new float[3];
        float[] r = [0.7f, -1.1f, 0.4f];
        model.Forward(dense, sparse, logits);
        var gradDense = new float[dense.Length];
        var gradPooled = new float[3 * 16];
        foreach (var p in model.DenseParameters)
            p.ZeroGrad();
        model.BackwardCore(dense, 3, r, gradDense, gradPooled);
        double L()
        {
            var y = new float[3];
            model.Forward(dense, sparse, y);
            return y.Select((v, i) => (double)v * r[i]).Sum();
        }
        for (int i = 0; i < dense.Length; i++)
        {
            float old = dense[i];
            dense[i] = old + 1e-3f;
            double p = L();
            dense[i] = old - 1e-3f;
            double m = L();
            dense[i] = old;
            GradientCheck.Close(gradDense[i], (p - m) / 2e-3, $"∂dense[{i}]");
        }
        // ∂ of the user table row used by bag 0 equals the pooled gradient of bag 0's user slot.
        int row = userIds[0];
        Assert.Equal(1, userIds.Count(x => x == row)); // the seed gives a row used by one bag only
        {
            EmbeddingTable table = model.Tables["user"];
            var values = new float[8];
            for (int k = 0; k < 8; k++)
            {
                table.ReadRow(row, values);
                float old = values[k];
                values[k] = old + 1e-3f;
                table.WriteRow(row, values);
                double p = L();
                values[k] = old - 1e-3f;
                table.WriteRow(row, values);
                double m = L();
                values[k] = old;
                table.WriteRow(row, values);
                GradientCheck.Close(gradPooled[model.Tables.FeatureOffset("user") + k], (p - m) / 2e-3, $"∂user[{row}][{k}]");
            }
        }
    }

    [Fact]
    public void Dlrm_LearnsPlantedClicks()
    {
        using var model = new Dlrm(2, CtrTables(), [8], [16], seed: 1);
        var dense = new DenseAdam(model.DenseParameters, 0.01);
        var sparse = model.Tables.Configs.ToDictionary(c => c.Name, c => (SparseOptimizer)FusedSparseBackward.Create(model.Tables[c.Name], new Adam(0.05)));
        var rng = new SeededRandom(2);
        double first = 0, last = 0;
        for (int step = 0; step < 300; step++)
        {
            var (x, s, y, _) = CtrBatch(rng, 64);
            double loss = model.TrainStep(x, s, y, dense, sparse);
            if (step < 10)
                first += loss / 10;
            if (step >= 290)
                last += loss / 10;
        }
        var (tx, ts, ty, _) = CtrBatch(new SeededRandom(99), 500);
        var logits = new float[500];
        model.Forward(tx, ts, logits);
        double auc = EmbedSharp.Models.Tabular.TabularModel.Auc(logits, ty);
        Assert.True(auc > 0.95, $"AUC {auc:F3} (loss {first:F3} → {last:F3})");
        foreach (var o in sparse.Values)
            o.Dispose();
    }

    [Fact]
    public void Dlrm_IsDeterministicForASeed()
    {
        float[] Run()
        {
            using var model = new Dlrm(2, CtrTables(), [8], [8], seed: 4);
            var dense = new DenseAdam(model.DenseParameters, 0.01);
            var sparse = model.Tables.Configs.ToDictionary(c => c.Name, c => (SparseOptimizer)FusedSparseBackward.Create(model.Tables[c.Name], new Adam(0.05), new SparseOptimizerOptions { Threads = 1 }));
            var rng = new SeededRandom(5);
            for (int step = 0; step < 20; step++)
            {
                var (x, s, y, _) = CtrBatch(rng, 32);
                model.TrainStep(x, s, y, dense, sparse);
            }
            var (tx, ts, _, _) = CtrBatch(new SeededRandom(6), 16);
            var logits = new float[16];
            model.Forward(tx, ts, logits);
            foreach (var o in sparse.Values)
                o.Dispose();
            return logits;
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void TwoTower_RetrievesItemsOfTheUsersGroup()
    {
        // 40 users and 40 items in 4 groups (id mod 4); training pairs join a user with a random item of their group.
        TableConfig[] UserTables() => [new TableConfig("user", 40, 8, ["user"], PoolingMode.Sum)];
        TableConfig[] ItemTables() => [new TableConfig("item", 40, 8, ["item"], PoolingMode.Sum)];
        using var model = new TwoTower(new Tower(UserTables(), [16], 8, seed: 1), new Tower(ItemTables(), [16], 8, seed: 2));
        var dense = new DenseAdam(model.DenseParameters, 0.01);
        var userOpt = new Dictionary<string, SparseOptimizer> { ["user"] = FusedSparseBackward.Create(model.Users.Tables["user"], new Adam(0.05)) };
        var itemOpt = new Dictionary<string, SparseOptimizer> { ["item"] = FusedSparseBackward.Create(model.Items.Tables["item"], new Adam(0.05)) };
        var rng = new SeededRandom(3);
        int[] offsets = [.. Enumerable.Range(0, 33)];
        float logQ = (float)Math.Log(1 / 40.0);
        float[] logQs = Enumerable.Repeat(logQ, 32).ToArray();
        double t0 = model.Loss.Temperature;
        for (int step = 0; step < 300; step++)
        {
            var users = new int[32];
            var items = new int[32];
            for (int b = 0; b < 32; b++)
            {
                users[b] = rng.NextInt(40);
                items[b] = (users[b] % 4) + 4 * rng.NextInt(10);
            }
            model.TrainStep(new KeyedBatch(32).Add("user", users, offsets), new KeyedBatch(32).Add("item", items, offsets), logQs, dense, userOpt, itemOpt);
        }
        Assert.NotEqual(t0, model.Loss.Temperature);
        int[] all = [.. Enumerable.Range(0, 40)];
        int[] allOffsets = [.. Enumerable.Range(0, 41)];
        float[] itemVectors = model.Items.Encode(new KeyedBatch(40).Add("item", all, allOffsets));
        float[] userVectors = model.Users.Encode(new KeyedBatch(40).Add("user", all, allOffsets));
        double recall = 0;
        for (int u = 0; u < 40; u++)
        {
            var scores = Enumerable.Range(0, 40).Select(i => (i, s: System.Numerics.Tensors.TensorPrimitives.Dot(userVectors.AsSpan(u * 8, 8), itemVectors.AsSpan(i * 8, 8))));
            var top = scores.OrderByDescending(x => x.s).Take(10).Select(x => x.i);
            recall += top.Count(i => i % 4 == u % 4) / 10.0;
        }
        Assert.True(recall / 40 > 0.9, $"recall@10 of the user's group {recall / 40:F3}");
        // The item side exported as a table answers the same queries through core's exact index.
        using EmbeddingTable exported = model.ExportItems(new KeyedBatch(40).Add("item", all, allOffsets));
        var index = new EmbedSharp.Search.ExactIndex(exported, EmbedSharp.Search.SimilarityMetric.Dot);
        var hits = index.Search(userVectors.AsSpan(0, 8), 10);
        Assert.True(hits.Count(h => h.Index % 4 == 0) >= 9, string.Join(",", hits.Select(h => h.Index)));
        foreach (var o in userOpt.Values.Concat(itemOpt.Values))
            o.Dispose();
    }
}
