using EmbedSharp.Diagnostics;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp.Optimizers;

/// <summary>
/// An optimizer bound to one <see cref="EmbeddingTable"/> that applies row-sparse gradients row by row,
/// each touched row once per step, with its state kept beside the table. The concrete type is
/// <see cref="FusedSparseBackward{TRule}"/>; this base lets layers (<see cref="EmbeddingBag"/>,
/// <see cref="TableCollection"/>) fuse their backward pass with any rule.
/// </summary>
/// <remarks>
/// The state of a stateful rule lives in native memory beside the table (Adam: twice the table's size
/// once every row has been touched). <see cref="Dispose"/> frees it at once; an optimizer that is never
/// disposed frees it when it is collected. Disposing does not touch the table.
/// </remarks>
public abstract class SparseOptimizer : IDisposable
{
    private int _users; // calls using the state now (≥ 0), or -1 once disposed
    private protected SparseOptimizer(EmbeddingTable table, SparseOptimizerOptions? options)
    {
        const string op = "optimizer.create";
        Table = Guard.NotNull(op, table);
        Options = options ?? new SparseOptimizerOptions();
        if (!Enum.IsDefined(Options.Mode))
            ThrowHelper.ArgumentOutOfRange(op, "Mode", Options.Mode, $"update mode {Options.Mode} is unknown; valid values are Exact, Hogwild");
        if (!Enum.IsDefined(Options.UntouchedRows))
            ThrowHelper.ArgumentOutOfRange(op, "UntouchedRows", Options.UntouchedRows, $"untouched-rows policy {Options.UntouchedRows} is unknown; valid values are Lazy, Dense");
        Guard.Positive(op, Options.Threads, "Threads");
        Guard.NotNull(op, Options.Schedule, "Schedule");
        if (Options.MaxRowNorm is double row)
            Guard.PositiveFinite(op, row, "MaxRowNorm");
        if (Options.MaxGlobalNorm is double global)
            Guard.PositiveFinite(op, global, "MaxGlobalNorm");
    }

    /// <summary>True once <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => Volatile.Read(ref _users) < 0;

    /// <summary>
    /// Frees the optimizer's state. Calling it again does nothing; any later step or state call throws
    /// <see cref="ObjectDisposedException"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">A step or state call is running on this optimizer (its
    /// state cannot be freed under it); dispose after it returns.</exception>
    public void Dispose()
    {
        int users = Interlocked.CompareExchange(ref _users, -1, 0);
        if (users > 0)
            ThrowHelper.InvalidOperation("optimizer.dispose",
                $"{users} step or state call(s) are running on this optimizer; dispose it after they return");
        if (users == 0)
            ReleaseState();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the state; called once, by <see cref="Dispose"/>, with no call in progress.</summary>
    private protected abstract void ReleaseState();

    /// <summary>
    /// Marks a call as using the state until the returned scope is disposed, so <see cref="Dispose"/>
    /// cannot free it underneath; throws if the optimizer is already disposed.
    /// </summary>
    private protected StateUse Enter(string op)
    {
        while (true)
        {
            int users = Volatile.Read(ref _users);
            if (users < 0)
                ThrowHelper.Disposed(op, nameof(SparseOptimizer));
            if (Interlocked.CompareExchange(ref _users, users + 1, users) == users)
                return new StateUse(this);
        }
    }

    /// <summary>A call's hold on the state (see <see cref="Enter"/>).</summary>
    private protected readonly ref struct StateUse(SparseOptimizer owner)
    {
        public void Dispose() => Interlocked.Decrement(ref owner._users);
    }

    /// <summary>The table this optimizer updates.</summary>
    public EmbeddingTable Table { get; }

    /// <summary>Mode, untouched-row policy, schedule, clipping and guard.</summary>
    public SparseOptimizerOptions Options { get; }

    /// <summary>The rule's name (<c>"adam"</c>, <c>"lazy_adam"</c>, ...).</summary>
    public abstract string RuleName { get; }

    /// <summary>Floats of optimizer state per row (see each rule for the layout).</summary>
    public abstract int StateWidth { get; }

    /// <summary>Number of completed steps, t of the last step (0 before the first).</summary>
    public abstract long StepCount { get; }

    /// <summary>Rows for which state memory exists (state is allocated in pages of 64 rows on first update).</summary>
    public abstract long AllocatedStateRows { get; }

    /// <summary>The learning rate step <paramref name="step"/> uses: the rule's rate times the schedule's factor.</summary>
    public abstract double LearningRateAt(long step);

    /// <summary>
    /// Applies one step: t advances by one, the gradient is clipped (if configured), and every listed
    /// row is updated once; rows not listed follow <see cref="SparseOptimizerOptions.UntouchedRows"/>.
    /// </summary>
    /// <remarks>
    /// An empty gradient (a batch of only padding) is not an error: t and the schedule advance, and in
    /// <see cref="UntouchedRows.Lazy"/> mode nothing else changes (PyTorch 1.13's SparseAdam and Adagrad
    /// crash on it instead).
    /// </remarks>
    /// <exception cref="ArgumentException">The gradient's shape differs from the table's.</exception>
    /// <exception cref="NonFiniteException">The gradient, or an updated row, is not finite (with the guard on).</exception>
    /// <exception cref="InvalidOperationException">Two Exact-mode steps ran at once.</exception>
    public abstract void Step(SparseGradient gradient);

    /// <summary>A layer's boundary check: <paramref name="optimizer"/> is given and updates the layer's <paramref name="table"/>.</summary>
    internal static void CheckUpdates(string op, SparseOptimizer optimizer, EmbeddingTable table)
    {
        Guard.NotNull(op, optimizer);
        if (!ReferenceEquals(optimizer.Table, table))
            ThrowHelper.Argument(op, nameof(optimizer), "the optimizer was created for another table; create it over this layer's Weight");
    }

    /// <summary>
    /// The fused form of <see cref="Step(SparseGradient)"/> that layers call from their backward pass:
    /// each row's gradient is summed from <paramref name="source"/> into a scratch row just before the
    /// row is updated, so the batch's coalesced gradient is never materialised. Same results as
    /// <c>Step(batch.ToGroups(...).Materialize(...))</c> bit for bit; see the override for the details.
    /// </summary>
    internal abstract void Step(BatchRows batch, in GradientSource source);

    /// <summary>
    /// Splits the batch by row (<see cref="BatchRows.Build"/>, leaving out positions holding
    /// <paramref name="skipIndex"/> and rows set in <paramref name="skipRow"/>) and runs the fused step;
    /// an optimizer may overlap the grouping with other work of the step. Indices must be validated.
    /// </summary>
    internal virtual void Step(ReadOnlySpan<int> indices, int skipIndex, System.Collections.BitArray? skipRow, in GradientSource source)
    {
        using BatchRows batch = BatchRows.Build(indices, Table.NumEmbeddings, skipIndex, skipRow);
        Step(batch, source);
    }

    /// <summary>
    /// Writes t, the rule's name and shape, every allocated state page and (when
    /// <paramref name="includeTable"/>) the table's storage to <paramref name="stream"/>. Not safe while
    /// Hogwild steps are running.
    /// </summary>
    public abstract void Save(Stream stream, bool includeTable = true);

    /// <summary>
    /// Restores what <see cref="Save"/> wrote. The whole stream is read and checked (magic, version,
    /// rule, shapes, page indices, lengths) before the optimizer or the table changes; a truncated or
    /// malformed stream throws <see cref="InvalidDataException"/> and leaves both untouched.
    /// </summary>
    public abstract void Load(Stream stream);

    /// <summary>Copies the state of <paramref name="row"/> (its initial value if the row was never updated) into <paramref name="destination"/>.</summary>
    public abstract void ReadState(int row, Span<float> destination);

    /// <summary>
    /// Copies the state of rows <c>[firstRow, firstRow + rowCount)</c>, <see cref="StateWidth"/> floats a
    /// row (the initial value for rows never updated), into <paramref name="destination"/>: the state that
    /// travels with those rows when they move to another store.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the table.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <c>rowCount · StateWidth</c>.</exception>
    public abstract void ExportState(int firstRow, int rowCount, Span<float> destination);

    /// <summary>
    /// Replaces the state of rows <c>[firstRow, firstRow + rowCount)</c> by <paramref name="source"/>
    /// (<see cref="StateWidth"/> floats a row, as <see cref="ExportState(int, int, Span{float})"/> wrote);
    /// every value is checked to be finite before anything changes. Not safe while steps are running.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the table.</exception>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <c>rowCount · StateWidth</c> or holds NaN or ±∞.</exception>
    public abstract void ImportState(int firstRow, int rowCount, ReadOnlySpan<float> source);

    /// <summary>
    /// Writes the state of rows <c>[firstRow, firstRow + rowCount)</c> to <paramref name="stream"/> with
    /// the rule's name, the shape and t: only the state pages that hold state are written, so a range
    /// never updated costs a byte a page (layout in <see cref="FusedSparseBackward{TRule}"/>'s remarks).
    /// </summary>
    public abstract void ExportState(int firstRow, int rowCount, Stream stream);

    /// <summary>
    /// Restores a range written by <see cref="ExportState(int, int, Stream)"/> into the same rows, and t
    /// (the bias corrections read it). Rows the export had no state for get no state here either. The
    /// stream is read and checked whole before anything changes; a truncated or malformed stream throws
    /// <see cref="InvalidDataException"/>. Not safe while steps are running.
    /// </summary>
    public abstract void ImportState(Stream stream);
}
