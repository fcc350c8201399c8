using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp.Optimizers;

/// <summary>Creates <see cref="FusedSparseBackward{TRule}"/> optimizers with the rule type inferred.</summary>
public static class FusedSparseBackward
{
    /// <summary>An optimizer applying <paramref name="rule"/> to <paramref name="table"/>.</summary>
    public static FusedSparseBackward<TRule> Create<TRule>(EmbeddingTable table, TRule rule, SparseOptimizerOptions? options = null)
        where TRule : struct, ISparseUpdateRule => new(table, rule, options);
}

/// <summary>
/// A sparse optimizer specialised for one update rule: each step's coalesced gradient is clipped,
/// checked and applied row by row, every touched row exactly once, with state allocated only for rows
/// that have been updated. Layers fuse it with their backward pass (<see cref="EmbeddingBag.BackwardAndStep(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{float}, SparseOptimizer, ReadOnlySpan{float}, Span{float})"/>).
/// </summary>
/// <remarks>
/// The rule is a struct type parameter, so the row loop is compiled once per rule with no
/// dispatch. Float32 tables are updated in place; float16/bfloat16 rows are widened, updated in
/// float32 and rounded back (nearest, ties to even). See <see cref="UpdateMode"/> and
/// <see cref="UntouchedRows"/> for the determinism and untouched-row contracts.
/// </remarks>
// Size: one type in four files (~960 lines) by concern — the public step (this file), the fused
// backward-and-step plan, the one row loop with its guard, and the per-row state pages with export/import.
// They share the rule's state layout and the worker scratch, which is why they are one type.
public sealed partial class FusedSparseBackward<TRule> : SparseOptimizer where TRule : struct, ISparseUpdateRule
{
    private const string StepOp = "optimizer.step";
    private readonly TRule _rule;
    private readonly RowStateStore _state;
    private long _step;
    private int _busy;

    /// <summary>Creates the optimizer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="rule"/> is <c>default(TRule)</c>.</exception>
    /// <exception cref="NotSupportedException">The rule cannot run with <see cref="UntouchedRows.Dense"/> (<see cref="LazyAdam"/>).</exception>
    public FusedSparseBackward(EmbeddingTable table, TRule rule, SparseOptimizerOptions? options = null) : base(table, options)
    {
        if (!rule.IsInitialized)
            ThrowHelper.Argument("optimizer.create", nameof(rule), $"the {typeof(TRule).Name} rule is default-initialised (all fields zero); create it with its constructor");
        if (Options.UntouchedRows == UntouchedRows.Dense && !rule.SupportsDense)
            ThrowHelper.NotSupported("optimizer.create", $"{rule.Name} is lazy by definition and cannot update untouched rows; use UntouchedRows.Lazy, or Adam for dense semantics");
        _rule = rule;
        _state = new RowStateStore(table.NumEmbeddings, rule.StateWidth(table.Dims));
    }

    /// <summary>The update rule.</summary>
    public TRule Rule => _rule;

    /// <inheritdoc/>
    public override string RuleName => _rule.Name;

    /// <inheritdoc/>
    public override int StateWidth => _state.Width;

    /// <inheritdoc/>
    public override long StepCount => Volatile.Read(ref _step);

    /// <inheritdoc/>
    public override long AllocatedStateRows => IsDisposed ? 0 : (long)_state.AllocatedPages * RowStateStore.PageRows;

    /// <inheritdoc/>
    private protected override void ReleaseState() => _state.Dispose();

    /// <inheritdoc/>
    public override double LearningRateAt(long step) => _rule.LearningRate * Options.Schedule.Factor(step);

    /// <inheritdoc/>
    public override void ReadState(int row, Span<float> destination)
    {
        const string op = "optimizer.read_state";
        using StateUse use = Enter(op);
        if ((uint)row >= (uint)Table.NumEmbeddings)
            ThrowHelper.IndexOutOfRange(op, nameof(row), row, 0, Table.NumEmbeddings);
        Guard.MinLength(op, destination.Length, StateWidth, "one row of state");
        if (StateWidth == 0)
            return;
        if (!_state.IsAllocated(row >> RowStateStore.PageShift))
            _rule.InitializeState(destination.Slice(0, StateWidth));
        else
            _state.PageRowsOf(row >> RowStateStore.PageShift).Slice((row & (RowStateStore.PageRows - 1)) * StateWidth, StateWidth).CopyTo(destination);
    }

    /// <inheritdoc/>
    public override void Step(SparseGradient gradient)
    {
        using StateUse use = Enter(StepOp);
        Guard.NotNull(StepOp, gradient);
        if (gradient.NumEmbeddings != Table.NumEmbeddings || gradient.Dims != Table.Dims)
            ThrowHelper.Argument(StepOp, nameof(gradient),
                $"the gradient is for a {gradient.NumEmbeddings} × {gradient.Dims} table but the optimizer's table is {Table.NumEmbeddings} × {Table.Dims}");
        if (Table.IsDisposed)
            ThrowHelper.Disposed(StepOp, "EmbeddingTable");
        bool exact = Options.Mode == UpdateMode.Exact;
        if (exact && Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            ThrowHelper.InvalidOperation(StepOp, "another Exact-mode step is running on this optimizer; concurrent steps need UpdateMode.Hogwild");
        try
        {
            if (Options.GuardNonFinite)
                CheckGradient(gradient, StepCount + 1);
            long step = exact ? ++_step : Interlocked.Increment(ref _step);
            StepScalars scalars = _rule.Prepare(step, Options.Schedule.Factor(step));
            float[]? factors = ClipFactors(gradient);
            if (Options.UntouchedRows == UntouchedRows.Lazy)
                ApplyLazy(gradient, factors, scalars, exact);
            else
                ApplyDense(gradient, factors, scalars, exact);
        }
        finally
        {
            if (exact)
                Volatile.Write(ref _busy, 0);
        }
    }

    private static void CheckGradient(SparseGradient gradient, long step)
    {
        for (int i = 0; i < gradient.Count; i++)
            NonFiniteGuard.Check(gradient.GetRow(i), NonFiniteGuard.Finding.Gradient, step, gradient.Rows[i]);
    }

    /// <summary>Per-listed-row scale factors from per-row then global-norm clipping, or null when nothing is clipped.</summary>
    private float[]? ClipFactors(SparseGradient gradient)
    {
        if (Options.MaxRowNorm is null && Options.MaxGlobalNorm is null)
            return null;
        var factors = new float[gradient.Count];
        double total = 0;
        bool any = false;
        for (int i = 0; i < gradient.Count; i++)
        {
            double n = Numerics.Kernels.Norm(gradient.GetRow(i), 2);
            double f = Options.MaxRowNorm is double maxRow && n > maxRow ? maxRow / (n + 1e-6) : 1;
            factors[i] = (float)f;
            any |= f != 1;
            total += n * f * (n * f);
        }
        if (Options.MaxGlobalNorm is double maxGlobal)
        {
            double coef = maxGlobal / (Math.Sqrt(total) + 1e-6);
            if (coef < 1)
            {
                for (int i = 0; i < factors.Length; i++)
                    factors[i] = (float)(factors[i] * coef);
                any = true;
            }
        }
        return any ? factors : null;
    }

    private void ApplyLazy(SparseGradient gradient, float[]? factors, in StepScalars scalars, bool exact)
    {
        int count = gradient.Count;
        int threads = exact || count < 2 ? 1 : Math.Min(Options.Threads, count);
        StepScalars s = scalars;
        ParallelWork.For(count, (count + threads - 1) / threads, threads, () => new RowWorker(this), (worker, start, end) =>
        {
            var visit = new MaterializedVisit(gradient, factors);
            ApplyRowsGuarded(worker, ref visit, start, end, s);
        }, static _ => { });
    }

    private void ApplyDense(SparseGradient gradient, float[]? factors, in StepScalars scalars, bool exact)
    {
        int pages = (Table.NumEmbeddings + RowStateStore.PageRows - 1) >> RowStateStore.PageShift;
        StepScalars s = scalars;
        ParallelWork.For(pages, 1, exact ? 1 : Options.Threads, () => new RowWorker(this), (worker, start, end) =>
        {
            for (int p = start; p < end; p++)
            {
                int first = p << RowStateStore.PageShift;
                bool visitAll = !_rule.IdleIsNoOp || (_state.Width > 0 && _state.IsAllocated(p));
                var visit = new PageVisit(gradient, factors, first, visitAll, worker.Zeros);
                ApplyRowsGuarded(worker, ref visit, 0, Math.Min(Table.NumEmbeddings, first + RowStateStore.PageRows) - first, s);
            }
        }, static _ => { });
    }

    /// <summary><see cref="ApplyRows{TVisit, TGuard}"/> with the guard the options ask for (a materialised gradient was checked whole, so its rows are backed up and checked after their update).</summary>
    private void ApplyRowsGuarded<TVisit>(RowWorker worker, scoped ref TVisit visit, int start, int end, in StepScalars scalars) where TVisit : IRowVisit, allows ref struct
    {
        if (Options.GuardNonFinite)
            ApplyRows<TVisit, BackupGuard>(worker, ref visit, start, end, scalars);
        else
            ApplyRows<TVisit, NoGuard>(worker, ref visit, start, end, scalars);
    }
}
