using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using EmbedSharp.Diagnostics;
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
        {
            ReadOnlySpan<float> g = gradient.GetRow(i);
            int d = Numerics.Kernels.FirstNonFinite(g);
            if (d >= 0)
                throw new NonFiniteException(ThrowHelper.Format(StepOp,
                    $"step {step}: the gradient of row {gradient.Rows[i]} is {g[d]} at dimension {d}; nothing was updated"), step, gradient.Rows[i], d);
        }
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
        if (exact || count < 2 || Options.Threads == 1)
        {
            var worker = new RowWorker(this);
            ReadOnlySpan<int> rows = gradient.Rows;
            for (int i = 0; i < count; i++)
            {
                if (i + PrefetchDistance < count)
                    Prefetch(rows[i + PrefetchDistance]);
                worker.Apply(rows[i], gradient.GetRow(i), factors is null ? 1f : factors[i], scalars);
            }
            return;
        }
        StepScalars s = scalars;
        int chunks = Math.Min(Options.Threads, count);
        RunParallel(chunks, (worker, c) =>
        {
            int start = (int)((long)count * c / chunks), stop = (int)((long)count * (c + 1) / chunks);
            ReadOnlySpan<int> rows = gradient.Rows;
            for (int i = start; i < stop; i++)
            {
                if (i + PrefetchDistance < stop)
                    Prefetch(rows[i + PrefetchDistance]);
                worker.Apply(rows[i], gradient.GetRow(i), factors is null ? 1f : factors[i], s);
            }
        });
    }

    /// <summary>Rows ahead whose weights and optimizer state are prefetched (random rows of a large table miss every cache).</summary>
    private const int PrefetchDistance = 4;

    /// <summary>Starts loading the weights and (if allocated) the state of <paramref name="row"/>.</summary>
    private unsafe void Prefetch(int row)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported)
            return;
        nint bytes = (nint)Table.Dims * Table.ElementSize;
        byte* w = Table.Pointer + row * bytes;
        nint weightLines = Math.Min(bytes, 2048); // loop bounds hoisted: recomputed per line they cost more than the prefetches
        for (nint offset = 0; offset < weightLines; offset += 64)
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(w + offset);
        if (_state.Width == 0 || !_state.IsAllocated(row >> RowStateStore.PageShift))
            return;
        byte* st = (byte*)_state.RowPointer(row);
        nint stateLines = Math.Min((nint)_state.Width * 4, 2048);
        for (nint offset = 0; offset < stateLines; offset += 64)
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(st + offset);
    }

    private void ApplyDense(SparseGradient gradient, float[]? factors, in StepScalars scalars, bool exact)
    {
        int pages = (Table.NumEmbeddings + RowStateStore.PageRows - 1) >> RowStateStore.PageShift;
        StepScalars s = scalars;
        void Page(RowWorker worker, int p)
        {
            int first = p << RowStateStore.PageShift;
            int end = Math.Min(Table.NumEmbeddings, first + RowStateStore.PageRows);
            bool visitAll = !_rule.IdleIsNoOp || (_state.Width > 0 && _state.IsAllocated(p));
            ReadOnlySpan<int> rows = gradient.Rows;
            int k = rows.BinarySearch(first);
            if (k < 0)
                k = ~k;
            for (int r = first; r < end; r++)
            {
                if (k < rows.Length && rows[k] == r)
                {
                    worker.Apply(r, gradient.GetRow(k), factors is null ? 1f : factors[k], s);
                    k++;
                }
                else if (visitAll)
                {
                    worker.Apply(r, worker.Zeros, 1f, s);
                }
            }
        }
        if (exact || pages < 2 || Options.Threads == 1)
        {
            var worker = new RowWorker(this);
            for (int p = 0; p < pages; p++)
                Page(worker, p);
            return;
        }
        RunParallel(pages, Page);
    }

    /// <summary>Runs <paramref name="body"/> for items 0..count−1 on up to Threads workers; rethrows the first failure as is.</summary>
    private void RunParallel(int count, Action<RowWorker, int> body)
    {
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Options.Threads },
                () => new RowWorker(this),
                (item, _, worker) =>
                {
                    body(worker, item);
                    return worker;
                },
                _ => { });
        }
        catch (AggregateException ae) when (ae.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(ae.InnerExceptions[0]).Throw();
        }
    }

    /// <summary>Scratch rows of one thread and the per-row update with clipping, guard and storage conversion.</summary>
    private sealed class RowWorker(FusedSparseBackward<TRule> owner)
    {
        private readonly float[] _weight = new float[owner.Table.Dims];
        private readonly float[] _grad = new float[owner.Table.Dims];
        private readonly float[] _backupWeight = new float[owner.Table.Dims];
        private readonly float[] _backupState = new float[owner._state.Width];

        public float[] Zeros { get; } = new float[owner.Table.Dims];

        /// <summary>The fused step's summed gradient row.</summary>
        public float[] Summed { get; } = new float[owner.Table.Dims];

        public void Apply(int row, ReadOnlySpan<float> grad, float factor, in StepScalars scalars)
        {
            EmbeddingTable table = owner.Table;
            bool guard = owner.Options.GuardNonFinite;
            if (factor != 1f)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(grad, factor, _grad);
                grad = _grad;
            }
            Span<float> state = owner._state.Row(row, owner._rule);
            bool inPlace = table.DType == DType.Float32;
            Span<float> w = inPlace ? table.RowUnchecked<float>(row) : _weight;
            if (!inPlace)
                table.ReadRowUnchecked(row, w);
            if (guard && inPlace && (typeof(TRule) == typeof(LazyAdam) || typeof(TRule) == typeof(Adagrad)))
            {
                // PyTorch's SparseAdam and Adagrad: the backup and the check ride in the update's own loop
                // (the JIT drops this branch for every other rule). As separate copies and passes, which
                // were the first to touch the row's cold lines, the guard cost LazyAdam about 45 % of its
                // rows/s instead of 25–35 %.
                TRule rule = owner._rule;
                bool finite = typeof(TRule) == typeof(LazyAdam)
                    ? Unsafe.As<TRule, LazyAdam>(ref rule).UpdateRowGuarded(w, grad, state, scalars, _backupWeight, _backupState)
                    : Unsafe.As<TRule, Adagrad>(ref rule).UpdateRowGuarded(w, grad, state, scalars, _backupWeight, _backupState);
                if (finite)
                    return;
            }
            else
            {
                if (guard)
                {
                    w.CopyTo(_backupWeight);
                    state.CopyTo(_backupState);
                }
                owner._rule.UpdateRow(w, grad, state, scalars);
            }
            if (!inPlace)
            {
                table.WriteRowUnchecked(row, w);
                if (guard)
                    table.ReadRowUnchecked(row, w); // what was stored: a finite float can round to ±∞ in float16
            }
            if (!guard)
                return;
            int bad = FirstNonFinite(w);
            string what = "weight";
            if (bad < 0)
            {
                bad = FirstNonFinite(state);
                what = "optimizer state";
            }
            if (bad < 0)
                return;
            float value = what == "weight" ? w[bad] : state[bad];
            if (inPlace)
                _backupWeight.CopyTo(w);
            else
                table.WriteRowUnchecked(row, _backupWeight);
            _backupState.CopyTo(state);
            throw new NonFiniteException(ThrowHelper.Format(StepOp,
                $"step {scalars.Step}: updating row {row} produced {what} {value} at element {bad}; the row was restored, and rows applied before it in this step keep their update (lower the learning rate or enable clipping)"),
                scalars.Step, row, bad);
        }

        /// <summary>
        /// The guard's cheap form for a stateless rule on a float32 table whose gradient is within the
        /// rule's <see cref="ISparseUpdateRule.SafeGradientBound"/>: finite weights cannot leave the update
        /// non-finite, so only weights already non-finite are refused, before anything changes.
        /// </summary>
        public void ApplyPrechecked(int row, ReadOnlySpan<float> grad, in StepScalars scalars)
        {
            Span<float> w = owner.Table.RowUnchecked<float>(row);
            int bad = FirstNonFinite(w);
            if (bad >= 0)
                ThrowNotFiniteBeforeUpdate(row, w[bad], bad, scalars.Step);
            owner._rule.UpdateRow(w, grad, default, scalars);
        }

        private static int FirstNonFinite(ReadOnlySpan<float> x) => Numerics.Kernels.FirstNonFinite(x);
    }
}
