using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

public sealed partial class DynamicTable
{
    private const string ApplyOp = "dynamic_table.apply_gradients";
    private const string UpsertOp = "dynamic_table.upsert";

    /// <inheritdoc/>
    public ValueTask GatherAsync(ReadOnlyMemory<long> ids, Memory<float> destination, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Gather(ids.Span, destination.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>Copies row <paramref name="id"/> (the default row when it has none) without counting a lookup.</summary>
    public void ReadRow(long id, Span<float> destination)
    {
        Guard.MinLength("dynamic_table.read_row", destination.Length, _rows.Dims, "Dims");
        lock (_gate)
        {
            int pos = Find(id);
            int slot = pos >= 0 && !Expired(_map[pos], _options.TimeProvider.GetUtcNow().UtcTicks) ? _map[pos].SlotPlusOne - 1 : _defaultSlot;
            _rows.RowUnchecked<float>(slot).CopyTo(destination);
        }
    }

    /// <summary>Copies the optimizer state of <paramref name="id"/> (the initial state when it has no row or was never updated).</summary>
    public void ReadState(long id, Span<float> destination)
    {
        lock (_gate)
        {
            if (_state is null)
                return;
            Guard.MinLength("dynamic_table.read_state", destination.Length, _state.Width, "StateWidth");
            int pos = Find(id);
            if (pos >= 0)
                _state.CopyRow(_map[pos].SlotPlusOne - 1, destination);
            else
                _state.Template.CopyTo(destination);
        }
    }

    /// <inheritdoc/>
    public ValueTask ApplyGradientsAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> gradients, OptimizerStep step, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ApplyGradients(ids.Span, gradients.Span, step);
        return ValueTask.CompletedTask;
    }

    /// <summary>The synchronous form of <see cref="ApplyGradientsAsync"/>; rows of ids without a row are dropped (counted in <see cref="DroppedGradientRows"/>).</summary>
    public void ApplyGradients(ReadOnlySpan<long> ids, ReadOnlySpan<float> gradients, OptimizerStep step)
    {
        int dims = _rows.Dims;
        lock (_gate)
        {
            CheckIds(ApplyOp, ids);
            Guard.Length(ApplyOp, gradients.Length, (long)ids.Length * dims, $"ids.Length × Dims = {ids.Length} × {dims}");
            step.Validate(ApplyOp);
            CheckDistinct(ApplyOp, ids);
            StoreUpdate.CheckFinite(ApplyOp, ids, gradients, dims, step.Step);
            StateRows state = StateFor(step);
            uint tick = NextTick();
            long now = _options.TimeProvider.GetUtcNow().UtcTicks;
            var slots = new List<int>(ids.Length);
            var rows = new List<int>(ids.Length);
            var found = new List<long>(ids.Length);
            for (int i = 0; i < ids.Length; i++)
            {
                int pos = Find(ids[i]);
                if (pos < 0 || Expired(_map[pos], now))
                {
                    _dropped++;
                    continue;
                }
                Touch(ref _map[pos], tick, now);
                slots.Add(_map[pos].SlotPlusOne - 1);
                rows.Add(i);
                found.Add(ids[i]);
            }
            var action = new ApplyAction(_rows, state, [.. slots], [.. rows], gradients.ToArray(), [.. found], step.Step);
            step.Dispatch(ref action, ApplyOp);
            if (step.Step > _step)
                Volatile.Write(ref _step, step.Step);
        }
    }

    private readonly struct ApplyAction(EmbeddingTable rows, StateRows state, int[] slots, int[] gradientRows, float[] gradients, long[] ids, long t) : IRuleAction
    {
        public void Run<TRule>(in TRule rule) where TRule : struct, ISparseUpdateRule =>
            StoreUpdate.Apply(ApplyOp, rule, t, rows, state, slots, gradientRows, gradients, ids);
    }

    private StateRows StateFor(OptimizerStep step)
    {
        int width = step.StateWidth(_rows.Dims);
        if (_state is null)
        {
            _state = new StateRows(_options.MaxRows, StoreUpdate.Template(step, _rows.Dims));
            _optimizer = step;
            return _state;
        }
        if (_optimizer!.Value.Kind != step.Kind || _state.Width != width)
            ThrowHelper.Argument(ApplyOp, nameof(step),
                $"the step runs {step.Kind} with {width} floats of state a row but the table holds state for {_optimizer.Value.Kind} ({_state.Width} a row); use the table's rule, or restore or recreate the table");
        _optimizer = step;
        return _state;
    }

    private static void CheckDistinct(string op, ReadOnlySpan<long> ids)
    {
        var seen = new HashSet<long>(ids.Length);
        for (int i = 0; i < ids.Length; i++)
            if (!seen.Add(ids[i]))
                InProcessShardedStore.ThrowDuplicate(op, ids);
    }

    /// <inheritdoc/>
    public ValueTask UpsertAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> rows, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Upsert(ids.Span, rows.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>The synchronous form of <see cref="UpsertAsync"/>: rows are created without admission (evicting if the budget is full).</summary>
    /// <exception cref="ArgumentException">More distinct ids than <see cref="DynamicTableOptions.MaxRows"/>, or a row is not finite.</exception>
    public void Upsert(ReadOnlySpan<long> ids, ReadOnlySpan<float> rows) => Upsert(ids, rows, default, UpsertOp);

    private void Upsert(ReadOnlySpan<long> ids, ReadOnlySpan<float> rows, ReadOnlySpan<float> states, string op)
    {
        int dims = _rows.Dims;
        lock (_gate)
        {
            CheckIds(op, ids);
            Guard.Length(op, rows.Length, (long)ids.Length * dims, $"ids.Length × Dims = {ids.Length} × {dims}");
            int bad = Kernels.FirstNonFinite(rows);
            if (bad >= 0)
                ThrowHelper.Argument(op, nameof(rows), $"rows[{bad}] = {rows[bad]} (id {ids[bad / dims]}) is not finite; rows must be finite");
            int distinct = new HashSet<long>(ids.ToArray()).Count;
            if (distinct > _options.MaxRows)
                ThrowHelper.Argument(op, nameof(ids), $"{distinct} distinct ids do not fit the row budget MaxRows = {_options.MaxRows}; upsert at most that many");
            uint tick = NextTick();
            long now = _options.TimeProvider.GetUtcNow().UtcTicks;
            int width = _state?.Width ?? 0;
            for (int i = 0; i < ids.Length; i++)
            {
                long id = ids[i];
                int pos = Find(id);
                if (pos >= 0 && Expired(_map[pos], now))
                {
                    RemoveRow(pos);
                    pos = -1;
                }
                int slot;
                if (pos >= 0)
                {
                    Touch(ref _map[pos], tick, now);
                    slot = _map[pos].SlotPlusOne - 1;
                }
                else
                {
                    slot = Admit(id, tick, now, 1);
                    ForgetCandidate(id);
                }
                rows.Slice(i * dims, dims).CopyTo(_rows.RowUnchecked<float>(slot));
                if (!states.IsEmpty && width > 0)
                    states.Slice(i * width, width).CopyTo(_state!.Row(slot));
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask DeleteAsync(ReadOnlyMemory<long> ids, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Delete(ids.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>The synchronous form of <see cref="DeleteAsync"/>: frees the rows (and forgets pending sightings).</summary>
    public void Delete(ReadOnlySpan<long> ids)
    {
        lock (_gate)
        {
            CheckIds("dynamic_table.delete", ids);
            foreach (long id in ids)
            {
                int pos = Find(id);
                if (pos >= 0)
                    RemoveRow(pos);
                ForgetCandidate(id);
            }
        }
    }

    /// <summary>
    /// The live rows (expired ones left out) whose bucket lies in <paramref name="buckets"/> (all when null): ids
    /// ascending, their rows and their optimizer state.
    /// </summary>
    public SnapshotRecords ExportRows(BucketRange? buckets = null)
    {
        lock (_gate)
        {
            if (_disposed)
                ThrowHelper.Disposed("dynamic_table.export", nameof(DynamicTable));
            long now = _options.TimeProvider.GetUtcNow().UtcTicks;
            var live = new List<(long Id, int Slot)>();
            foreach (ref Entry e in _map.AsSpan())
                if (e.SlotPlusOne != 0 && !Expired(e, now) && (buckets is not BucketRange r || r.Contains(BucketRouter.BucketOf(e.Key))))
                    live.Add((e.Key, e.SlotPlusOne - 1));
            live.Sort((a, b) => a.Id.CompareTo(b.Id));
            int dims = _rows.Dims, width = _state?.Width ?? 0;
            var ids = new long[live.Count];
            var rows = new float[(long)live.Count * dims];
            var states = new float[(long)live.Count * width];
            for (int k = 0; k < live.Count; k++)
            {
                ids[k] = live[k].Id;
                _rows.RowUnchecked<float>(live[k].Slot).CopyTo(rows.AsSpan(k * dims, dims));
                _state?.CopyRow(live[k].Slot, states.AsSpan(k * width, width));
            }
            return new SnapshotRecords(ids, rows, states);
        }
    }

    /// <summary>
    /// Writes <paramref name="records"/> (as <see cref="ExportRows"/> gives them) into the table: rows created or
    /// replaced, and their optimizer state when the records carry it; <paramref name="optimizer"/> names the rule
    /// of that state when the table has none yet.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths that do not match, state without a rule or for another rule, more rows than the budget.</exception>
    public void ImportRows(SnapshotRecords records, OptimizerStep? optimizer = null)
    {
        const string op = "dynamic_table.import";
        Guard.NotNull(op, records);
        int n = records.Ids.Length;
        int width = n == 0 ? 0 : records.States.Length / n;
        if (records.States.Length != (long)n * width)
            ThrowHelper.Argument(op, nameof(records), $"{records.States.Length} state floats do not divide into {n} rows");
        lock (_gate)
        {
            if (width > 0)
            {
                if (_state is null)
                {
                    OptimizerStep rule = optimizer ?? throw new ArgumentException(ThrowHelper.Format(op, "the records carry optimizer state but the table has no rule yet; pass the OptimizerStep that made the state"), nameof(optimizer));
                    if (rule.StateWidth(_rows.Dims) != width)
                        ThrowHelper.Argument(op, nameof(optimizer), $"{rule.Kind} keeps {rule.StateWidth(_rows.Dims)} floats a row but the records carry {width}");
                    _state = new StateRows(_options.MaxRows, StoreUpdate.Template(rule, _rows.Dims));
                    _optimizer = rule;
                }
                else if (_state.Width != width)
                {
                    ThrowHelper.Argument(op, nameof(records), $"the records carry {width} floats of state a row but the table keeps {_state.Width}");
                }
            }
            Upsert(records.Ids, records.Rows, records.States, op);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Frees the rows and optimizer state; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _rows.Dispose();
            _state?.Dispose();
            // The map stays until the collector frees it: Contains, LiveIds and Count still read it after Dispose.
        }
    }
}
