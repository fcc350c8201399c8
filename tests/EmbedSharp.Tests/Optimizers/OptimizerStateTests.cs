using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Tables;
using EmbedSharp.Tests.Tables;

namespace EmbedSharp.Tests.Optimizers;

/// <summary>Saving and restoring optimizer state with its table; hostile and truncated streams.</summary>
public sealed class OptimizerStateTests
{
    private static (EmbeddingTable Table, FusedSparseBackward<Adam> Optimizer) Trained(ulong seed, int steps)
    {
        var rng = new SeededRandom(seed);
        var table = new EmbeddingTable(130, 3);
        table.CopyFrom(RandomBags.Floats(rng, 390));
        var opt = FusedSparseBackward.Create(table, new Adam(0.05, amsgrad: true), new SparseOptimizerOptions { UntouchedRows = UntouchedRows.Dense });
        for (int s = 0; s < steps; s++)
            opt.Step(FusedSparseBackwardTests.RandomGradient(rng, 130, 3, 5));
        return (table, opt);
    }

    private static byte[] Save(SparseOptimizer opt, bool includeTable = true)
    {
        using var ms = new MemoryStream();
        opt.Save(ms, includeTable);
        return ms.ToArray();
    }

    [Fact]
    public void RoundTripRestoresTableStateAndStep()
    {
        var (table, opt) = Trained(1, 4);
        byte[] saved = Save(opt);
        var (other, fresh) = Trained(2, 1);
        fresh.Load(new MemoryStream(saved));
        Assert.Equal(table.ToArray(), other.ToArray());
        Assert.Equal(4, fresh.StepCount);
        Assert.Equal(saved, Save(fresh));
        // Both continue identically.
        var rng = new SeededRandom(9);
        var g = FusedSparseBackwardTests.RandomGradient(rng, 130, 3, 7);
        opt.Step(g);
        fresh.Step(g);
        Assert.Equal(table.ToArray(), other.ToArray());
        table.Dispose();
        other.Dispose();
    }

    [Fact]
    public void StateWithoutTableLeavesTheTableAlone()
    {
        var (table, opt) = Trained(3, 2);
        byte[] saved = Save(opt, includeTable: false);
        var (other, fresh) = Trained(4, 1);
        float[] before = other.ToArray();
        fresh.Load(new MemoryStream(saved));
        Assert.Equal(before, other.ToArray());
        Assert.Equal(2, fresh.StepCount);
        table.Dispose();
        other.Dispose();
    }

    [Fact]
    public void TruncatedOrCorruptStreamsChangeNothing()
    {
        var (table, opt) = Trained(5, 3);
        byte[] saved = Save(opt);
        var (other, target) = Trained(6, 1);
        byte[] targetBefore = Save(target);
        var cuts = new[] { 0, 3, 8, 12, 20, 40, 60, 61, saved.Length / 2, saved.Length - 1 };
        foreach (int cut in cuts)
        {
            var ex = Assert.Throws<InvalidDataException>(() => target.Load(new MemoryStream(saved[..cut])));
            Assert.StartsWith("[optimizer.load]", ex.Message);
            Assert.Equal(targetBefore, Save(target));
        }
        byte[] corrupt = (byte[])saved.Clone();
        corrupt[0] ^= 0xFF;
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => target.Load(new MemoryStream(corrupt))).Message);
        // Page count far beyond the table: rejected before any allocation sized by it.
        corrupt = (byte[])saved.Clone();
        int nameLength = BitConverter.ToInt32(saved, 12);
        int pageCountAt = 16 + nameLength + 4 * 4 + 8;
        BitConverter.GetBytes(int.MaxValue).CopyTo(corrupt, pageCountAt);
        Assert.Contains("page count", Assert.Throws<InvalidDataException>(() => target.Load(new MemoryStream(corrupt))).Message);
        // A different rule.
        using var t = new EmbeddingTable(130, 3);
        var sgd = FusedSparseBackward.Create(t, new Sgd(0.1, momentum: 0.5));
        Assert.Contains("rule", Assert.Throws<InvalidDataException>(() => sgd.Load(new MemoryStream(saved))).Message);
        Assert.Equal(targetBefore, Save(target));
        table.Dispose();
        other.Dispose();
    }
}

/// <summary><see cref="SparseOptimizer.Dispose"/>: frees the state, refuses while a call runs, and every later call says so.</summary>
public sealed class OptimizerDisposeTests
{
    [Fact]
    public void DisposeFreesTheStateAndLaterCallsSayItWasDisposed()
    {
        using var layer = new Embedding(200, 8, new EmbeddingOptions { Seed = 2 });
        var optimizer = FusedSparseBackward.Create(layer.Weight, new Adam(0.01));
        layer.BackwardAndStep([3, 150], new float[16], optimizer);
        Assert.Equal(128, optimizer.AllocatedStateRows);
        float[] weights = layer.Weight.ToArray();

        optimizer.Dispose();
        Assert.True(optimizer.IsDisposed);
        Assert.Equal(0, optimizer.AllocatedStateRows);
        optimizer.Dispose(); // again: nothing happens

        var e = Assert.Throws<ObjectDisposedException>(() => layer.BackwardAndStep([3], new float[8], optimizer));
        Assert.Contains("optimizer.step", e.Message);
        Assert.Throws<ObjectDisposedException>(() => optimizer.Step(new EmbedSharp.Sparse.SparseGradient(200, 8, [3], new float[8])));
        Assert.Throws<ObjectDisposedException>(() => optimizer.ReadState(3, new float[optimizer.StateWidth]));
        Assert.Throws<ObjectDisposedException>(() => optimizer.Save(new MemoryStream()));
        Assert.Throws<ObjectDisposedException>(() => optimizer.Load(new MemoryStream()));
        Assert.Equal(weights, layer.Weight.ToArray()); // the table is the caller's and untouched

        // A new optimizer over the same table starts afresh.
        using var again = FusedSparseBackward.Create(layer.Weight, new Adam(0.01));
        layer.BackwardAndStep([3], new float[8], again);
        Assert.Equal(1, again.StepCount);
    }

    [Fact]
    public void DisposeIsRefusedWhileAStepRuns()
    {
        // The schedule runs inside the step, while the step holds the state.
        using var layer = new Embedding(50, 4, new EmbeddingOptions { Seed = 2 });
        var schedule = new DisposingSchedule();
        var optimizer = FusedSparseBackward.Create(layer.Weight, new LazyAdam(0.01), new SparseOptimizerOptions { Schedule = schedule });
        schedule.Optimizer = optimizer;
        layer.BackwardAndStep([1, 2], new float[8], optimizer);
        Assert.NotNull(schedule.Refusal);
        Assert.Contains("running on this optimizer", schedule.Refusal!.Message);
        Assert.False(optimizer.IsDisposed);
        optimizer.Dispose(); // after the step returned
        Assert.True(optimizer.IsDisposed);
    }

    private sealed class DisposingSchedule : LearningRateSchedule
    {
        public SparseOptimizer? Optimizer { get; set; }

        public InvalidOperationException? Refusal { get; private set; }

        public override double Factor(long step)
        {
            if (Optimizer is not null && Refusal is null)
                Refusal = Assert.Throws<InvalidOperationException>(() => Optimizer.Dispose());
            return 1;
        }
    }
}
