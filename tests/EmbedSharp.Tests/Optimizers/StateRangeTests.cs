using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;
using EmbedSharp.Tests.Tables;

namespace EmbedSharp.Tests.Optimizers;

/// <summary>Optimizer state exported and imported per row range (stream and span), so state can travel with its rows.</summary>
public sealed class StateRangeTests
{
    private const int Rows = 150, Dims = 5;

    private static (EmbeddingTable Table, FusedSparseBackward<TRule> Optimizer) Trained<TRule>(TRule rule, ulong seed, int steps, UntouchedRows untouched = UntouchedRows.Lazy)
        where TRule : struct, ISparseUpdateRule
    {
        var rng = new SeededRandom(seed);
        var table = new EmbeddingTable(Rows, Dims);
        table.CopyFrom(RandomBags.Floats(rng, Rows * Dims));
        var opt = FusedSparseBackward.Create(table, rule, new SparseOptimizerOptions { UntouchedRows = untouched });
        // Touch only rows below 100, so the last state page never holds state.
        for (int s = 0; s < steps; s++)
        {
            SparseGradient g = FusedSparseBackwardTests.RandomGradient(rng, 100, Dims, 6);
            opt.Step(new SparseGradient(Rows, Dims, g.Rows.ToArray(), g.Values.ToArray()));
        }
        return (table, opt);
    }

    private static float[] AllState(SparseOptimizer opt)
    {
        var all = new float[Rows * opt.StateWidth];
        opt.ExportState(0, Rows, all);
        return all;
    }

    private static byte[] Export(SparseOptimizer opt, int first, int count)
    {
        using var ms = new MemoryStream();
        opt.ExportState(first, count, ms);
        return ms.ToArray();
    }

    [Fact]
    public void TrainingContinuesBitForBitAfterExportAndImportIntoAFreshOptimizer()
    {
        Check(new Adam(0.05, amsgrad: true), UntouchedRows.Dense);
        Check(new AdamW(0.05), UntouchedRows.Lazy);
        Check(new LazyAdam(0.05), UntouchedRows.Lazy);
        Check(new Adagrad(0.1, initialAccumulatorValue: 0.1), UntouchedRows.Lazy);
        Check(new Sgd(0.1, momentum: 0.9), UntouchedRows.Dense);
        Check(new RowwiseAdagrad(0.1), UntouchedRows.Lazy);

        static void Check<TRule>(TRule rule, UntouchedRows untouched) where TRule : struct, ISparseUpdateRule
        {
            var (table, opt) = Trained(rule, 1, 5, untouched);
            // Two ranges that split a state page (64 rows) and together cover the table.
            byte[] low = Export(opt, 0, 70), high = Export(opt, 70, Rows - 70);
            using var copy = new EmbeddingTable(Rows, Dims);
            copy.CopyFrom(table.ToArray());
            using var fresh = FusedSparseBackward.Create(copy, rule, new SparseOptimizerOptions { UntouchedRows = untouched });
            fresh.ImportState(new MemoryStream(high));
            fresh.ImportState(new MemoryStream(low));
            Assert.Equal(opt.StepCount, fresh.StepCount);
            Assert.Equal(AllState(opt), AllState(fresh));
            Assert.Equal(opt.AllocatedStateRows, fresh.AllocatedStateRows);
            var rng = new SeededRandom(7);
            for (int s = 0; s < 4; s++)
            {
                SparseGradient g = FusedSparseBackwardTests.RandomGradient(rng, Rows, Dims, 8);
                opt.Step(g);
                fresh.Step(g);
                Assert.Equal(table.ToArray(), copy.ToArray());
            }
            Assert.Equal(AllState(opt), AllState(fresh));
            opt.Dispose();
            table.Dispose();
        }
    }

    [Fact]
    public void SpanRoundTripReplacesExactlyTheRange()
    {
        var (table, opt) = Trained(new Adam(0.05), 2, 4);
        var (other, target) = Trained(new Adam(0.05), 3, 2);
        float[] before = AllState(target);
        int w = opt.StateWidth;
        var range = new float[41 * w];
        opt.ExportState(30, 41, range);
        target.ImportState(30, 41, range);
        float[] after = AllState(target), source = AllState(opt);
        Assert.Equal(before.AsSpan(0, 30 * w).ToArray(), after.AsSpan(0, 30 * w).ToArray());
        Assert.Equal(source.AsSpan(30 * w, 41 * w).ToArray(), after.AsSpan(30 * w, 41 * w).ToArray());
        Assert.Equal(before.AsSpan(71 * w).ToArray(), after.AsSpan(71 * w).ToArray());
        // A row never updated exports its initial state.
        var last = new float[w];
        opt.ExportState(Rows - 1, 1, last);
        Assert.All(last, v => Assert.Equal(0f, v));
        opt.Dispose(); target.Dispose(); table.Dispose(); other.Dispose();
    }

    [Fact]
    public void UnheldPagesTravelAsOneByteAndStayUnheld()
    {
        var (table, opt) = Trained(new Adagrad(0.1), 4, 3);
        byte[] tail = Export(opt, 128, Rows - 128); // the last page: never touched
        using var copy = new EmbeddingTable(Rows, Dims);
        using var fresh = FusedSparseBackward.Create(copy, new Adagrad(0.1));
        fresh.ImportState(new MemoryStream(tail));
        Assert.Equal(0, fresh.AllocatedStateRows);
        Assert.Equal(3, fresh.StepCount);
        // Header: 8 magic + 4 version + 4 + 7 name + 4·4 shape + 8 step + 2·4 range, then one flag byte.
        Assert.Equal(8 + 4 + 4 + "adagrad".Length + 16 + 8 + 8 + 1, tail.Length);
        opt.Dispose(); table.Dispose();
    }

    [Fact]
    public void BadInputChangesNothing()
    {
        var (table, opt) = Trained(new Adam(0.05), 5, 3);
        byte[] whole = Export(opt, 0, Rows);
        var (other, target) = Trained(new Adam(0.05), 6, 2);
        float[] before = AllState(target);
        for (int cut = 0; cut < whole.Length; cut += 97)
            Assert.Throws<InvalidDataException>(() => target.ImportState(new MemoryStream(whole[..cut])));
        using (var lazy = FusedSparseBackward.Create(new EmbeddingTable(Rows, Dims), new LazyAdam(0.05)))
            Assert.Contains("rule 'adam'", Assert.Throws<InvalidDataException>(() => lazy.ImportState(new MemoryStream(whole))).Message);
        var values = new float[2 * opt.StateWidth];
        values[3] = float.NaN;
        Assert.Throws<ArgumentException>(() => target.ImportState(0, 2, values));
        Assert.Throws<ArgumentOutOfRangeException>(() => target.ExportState(Rows - 1, 2, new float[2 * opt.StateWidth]));
        Assert.Throws<ArgumentOutOfRangeException>(() => target.ExportState(-1, 1, new float[opt.StateWidth]));
        Assert.Throws<ArgumentException>(() => target.ExportState(0, 2, new float[opt.StateWidth]));
        Assert.Equal(before, AllState(target));
        Assert.Equal(2, target.StepCount);
        opt.Dispose(); target.Dispose(); table.Dispose(); other.Dispose();
    }
}
