using System.Buffers;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

/// <summary>
/// The default <see cref="IEmbeddingStore"/>: a bounded table of <c>NumEmbeddings × Dims</c> float32 rows in
/// this process, split into shards by bucket (<see cref="ShardingPlan"/>), with the optimizer's state beside
/// the rows and one reader-writer lock per shard.
/// </summary>
/// <remarks>
/// <para>Rows live in one aligned <see cref="EmbeddingTable"/>; a shard is the set of ids whose bucket it owns
/// and the lock that guards them. A gather takes every shard's read lock (a consistent cut across shards) and
/// runs the table's own prefetching gather. An update on one thread (the default <see cref="InProcessStoreOptions.Threads"/>,
/// or a small batch) applies its rows under every shard's write lock, in ascending row order for batches of 1,024 ids
/// or more (batch order for smaller ones); with more threads it routes
/// its ids by shard and applies each shard's rows under that shard's write lock, shards in parallel. With <see cref="StoreConcurrency.Hogwild"/> no lock is taken.</para>
/// <para>Snapshots write one chunk per plan range; restores read any plan's chunks.</para>
/// </remarks>
// Size: one type in two files (~580 lines): the store calls with their per-shard locks (this file) and
// snapshot/restore across shard counts. They share the shard layout, which is why they are one type.
public sealed partial class InProcessShardedStore : IEmbeddingStore, IDisposable
{
    private const string GatherOp = "store.gather";
    private const string ApplyOp = "store.apply_gradients";
    private const string UpsertOp = "store.upsert";
    private const string DeleteOp = "store.delete";
    private readonly ReaderWriterLockSlim[] _locks;
    private readonly bool _hogwild;
    private readonly int _threads;
    private readonly object _optimizerGate = new();
    private EmbeddingTable _rows;
    private StateRows? _state;
    private OptimizerStep? _optimizer;
    private long _step;
    private int _disposed;

    /// <summary>Creates a store of <paramref name="numEmbeddings"/> zero rows.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size or option is out of range.</exception>
    public InProcessShardedStore(string name, int numEmbeddings, int dims, InProcessStoreOptions? options = null)
    {
        const string op = "store.create";
        Guard.NotNull(op, name);
        Guard.NonNegative(op, numEmbeddings);
        Guard.Positive(op, dims);
        options ??= new InProcessStoreOptions();
        Plan = options.ResolvePlan(op);
        _hogwild = options.Concurrency == StoreConcurrency.Hogwild;
        _threads = options.Threads;
        _locks = new ReaderWriterLockSlim[Plan.ShardCount];
        for (int s = 0; s < _locks.Length; s++)
            _locks[s] = new ReaderWriterLockSlim(LockRecursionPolicy.NoRecursion);
        Name = name;
        _rows = new EmbeddingTable(numEmbeddings, dims);
    }

    /// <summary>Creates a store holding a copy of <paramref name="table"/>'s rows (widened to float32).</summary>
    public static InProcessShardedStore FromTable(string name, EmbeddingTable table, InProcessStoreOptions? options = null)
    {
        Guard.NotNull("store.create", table);
        var store = new InProcessShardedStore(name, table.NumEmbeddings, table.Dims, options);
        var row = new float[table.Dims];
        for (int r = 0; r < table.NumEmbeddings; r++)
        {
            table.ReadRow(r, row);
            store._rows.WriteRow(r, row);
        }
        return store;
    }

    /// <summary>The table's name.</summary>
    public string Name { get; }

    /// <summary>The bucket → shard plan.</summary>
    public ShardingPlan Plan { get; }

    /// <summary>The number of shards.</summary>
    public int ShardCount => Plan.ShardCount;

    /// <summary>The largest step number applied so far (0 before the first update).</summary>
    public long StepCount => Volatile.Read(ref _step);

    /// <inheritdoc/>
    public EmbeddingStoreInfo Info => new(Name, _rows.NumEmbeddings, _rows.Dims, DType.Float32,
        _optimizer?.Kind ?? OptimizerKind.None, _state?.Width ?? 0);

    /// <summary>Bytes held by rows and optimizer state.</summary>
    public long MemoryBytes => _rows.ByteLength + (_state?.AllocatedBytes ?? 0);

    /// <summary>Copies row <paramref name="id"/> into <paramref name="destination"/> (a one-id gather, for tests and tools).</summary>
    public void ReadRow(long id, Span<float> destination) => Gather([id], destination);

    /// <summary>Copies the optimizer state of <paramref name="id"/> (its initial value if never updated; nothing without an optimizer).</summary>
    public void ReadState(long id, Span<float> destination)
    {
        CheckIds("store.read_state", [id]);
        StateRows? state = _state;
        if (state is null)
            return;
        Guard.MinLength("store.read_state", destination.Length, state.Width, "StateWidth");
        int shard = Plan.ShardOf(id);
        EnterRead(shard);
        try
        {
            state.CopyRow((int)id, destination);
        }
        finally
        {
            ExitRead(shard);
        }
    }

    /// <inheritdoc/>
    public ValueTask GatherAsync(ReadOnlyMemory<long> ids, Memory<float> destination, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Gather(ids.Span, destination.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>The synchronous form of <see cref="GatherAsync"/>.</summary>
    public void Gather(ReadOnlySpan<long> ids, Span<float> destination)
    {
        CheckDisposed(GatherOp);
        int dims = _rows.Dims;
        Guard.MinLength(GatherOp, destination.Length, (long)ids.Length * dims, $"ids.Length × Dims = {ids.Length} × {dims}");
        int[] slots = ArrayPool<int>.Shared.Rent(ids.Length);
        try
        {
            ToSlots(GatherOp, ids, slots);
            EnterReadAll();
            try
            {
                _rows.GatherUnchecked(slots.AsSpan(0, ids.Length), destination, 1f);
            }
            finally
            {
                ExitReadAll();
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(slots);
        }
    }

    /// <inheritdoc/>
    public ValueTask ApplyGradientsAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> gradients, OptimizerStep step, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ApplyGradients(ids, gradients, step);
        return ValueTask.CompletedTask;
    }

    /// <summary>The synchronous form of <see cref="ApplyGradientsAsync"/>.</summary>
    public void ApplyGradients(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> gradients, OptimizerStep step)
    {
        CheckDisposed(ApplyOp);
        int dims = _rows.Dims;
        CheckIds(ApplyOp, ids.Span);
        Guard.Length(ApplyOp, gradients.Length, (long)ids.Length * dims, $"ids.Length × Dims = {ids.Length} × {dims}");
        step.Validate(ApplyOp);
        // One thread (the default, or a small batch): rows go under every shard's lock (sorted when the batch is
        // large), so the batch needs no routing, only the duplicate check. Several threads split it by shard.
        bool oneThread = ids.Length < ParallelMinIds || _threads == 1 || ShardCount == 1;
        RoutedBatch? routed = oneThread ? null : Plan.Route(ids.Span);
        if (routed?.HasDuplicates ?? HasDuplicates(ids.Span))
            ThrowDuplicate(ApplyOp, ids.Span);
        // One thread and a large batch: rows ascending, the gradient rows copied into that order by the pass that
        // checks them finite (see ApplyAll). Otherwise the gradients are checked where they are.
        bool sorted = routed is null && ids.Length >= SortMinIds;
        int[]? sortedSlots = sorted ? ArrayPool<int>.Shared.Rent(ids.Length) : null;
        float[]? sortedGradients = sorted ? ArrayPool<float>.Shared.Rent(ids.Length * dims) : null;
        try
        {
            if (sorted)
                StoreUpdate.SortByRow(ApplyOp, ids.Span, gradients.Span, dims, step.Step, Math.Max(0, _rows.NumEmbeddings - 1), sortedSlots, sortedGradients);
            else
                StoreUpdate.CheckFinite(ApplyOp, ids.Span, gradients.Span, dims, step.Step);
            StateRows state = StateFor(step);
            var action = sorted
                ? new ApplyAction(this, ids, null, sortedGradients.AsMemory(0, ids.Length * dims), state, step.Step, sortedSlots)
                : new ApplyAction(this, ids, routed, gradients, state, step.Step);
            step.Dispatch(ref action, ApplyOp);
        }
        finally
        {
            if (sortedSlots is not null)
                ArrayPool<int>.Shared.Return(sortedSlots);
            if (sortedGradients is not null)
                ArrayPool<float>.Shared.Return(sortedGradients);
        }
        InterlockedMax(ref _step, step.Step);
    }

    /// <inheritdoc/>
    public ValueTask UpsertAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> rows, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Upsert(ids.Span, rows.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>The synchronous form of <see cref="UpsertAsync"/>.</summary>
    public void Upsert(ReadOnlySpan<long> ids, ReadOnlySpan<float> rows)
    {
        CheckDisposed(UpsertOp);
        int dims = _rows.Dims;
        CheckIds(UpsertOp, ids);
        Guard.Length(UpsertOp, rows.Length, (long)ids.Length * dims, $"ids.Length × Dims = {ids.Length} × {dims}");
        int bad = Kernels.FirstNonFinite(rows);
        if (bad >= 0)
            ThrowHelper.Argument(UpsertOp, nameof(rows), $"rows[{bad}] = {rows[bad]} (id {ids[bad / dims]}) is not finite; rows must be finite");
        EnterWriteAll();
        try
        {
            for (int i = 0; i < ids.Length; i++)
                rows.Slice(i * dims, dims).CopyTo(_rows.RowUnchecked<float>((int)ids[i]));
        }
        finally
        {
            ExitWriteAll();
        }
    }

    /// <inheritdoc/>
    public ValueTask DeleteAsync(ReadOnlyMemory<long> ids, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Delete(ids.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>The synchronous form of <see cref="DeleteAsync"/>: the rows become zero and their state initial.</summary>
    public void Delete(ReadOnlySpan<long> ids)
    {
        CheckDisposed(DeleteOp);
        CheckIds(DeleteOp, ids);
        EnterWriteAll();
        try
        {
            foreach (long id in ids)
            {
                _rows.RowUnchecked<float>((int)id).Clear();
                _state?.Reset((int)id);
            }
        }
        finally
        {
            ExitWriteAll();
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Frees the rows; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        EnterWriteAll();
        try
        {
            _rows.Dispose();
            _state?.Dispose();
        }
        finally
        {
            ExitWriteAll();
        }
    }

    /// <summary>The state for <paramref name="step"/>'s rule: created at the first update, checked to be the same rule after.</summary>
    private StateRows StateFor(OptimizerStep step)
    {
        lock (_optimizerGate)
        {
            int width = step.StateWidth(_rows.Dims);
            if (_state is null)
            {
                _state = new StateRows(_rows.NumEmbeddings, StoreUpdate.Template(step, _rows.Dims));
                _optimizer = step;
                return _state;
            }
            if (_optimizer!.Value.Kind != step.Kind || _state.Width != width)
                ThrowHelper.Argument(ApplyOp, nameof(step),
                    $"the step runs {step.Kind} with {width} floats of state a row but the store holds state for {_optimizer.Value.Kind} ({_state.Width} a row); use the store's rule, or restore or recreate the store");
            _optimizer = step;
            return _state;
        }
    }

    /// <summary>Ids from which the one-thread update sorts its rows (a small batch's rows share nothing anyway).</summary>
    private const int SortMinIds = 1024;

    /// <summary>Ids below which an update stays on one thread.</summary>
    private const int ParallelMinIds = 256;

    /// <summary>
    /// Whether an id repeats: a bitmap over the table's rows when it is small next to the batch (up to 256 bytes
    /// an id; a 4,096-id batch covers tables of up to 8 M rows), else the router's hash grouping.
    /// </summary>
    private bool HasDuplicates(ReadOnlySpan<long> ids)
    {
        int words = (_rows.NumEmbeddings + 63) >> 6;
        if ((long)words > 32L * Math.Max(ids.Length, 64))
            return Plan.Route(ids).HasDuplicates;
        ulong[] seen = ArrayPool<ulong>.Shared.Rent(words);
        try
        {
            Array.Clear(seen, 0, words);
            foreach (long id in ids)
            {
                ref ulong word = ref seen[(int)id >> 6];
                ulong bit = 1UL << (int)id;
                if ((word & bit) != 0)
                    return true;
                word |= bit;
            }
            return false;
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(seen);
        }
    }

    private readonly struct ApplyAction(InProcessShardedStore store, ReadOnlyMemory<long> ids, RoutedBatch? routed, ReadOnlyMemory<float> gradients, StateRows state, long t, int[]? sortedSlots = null) : IRuleAction
    {
        public void Run<TRule>(in TRule rule) where TRule : struct, ISparseUpdateRule
        {
            TRule r = rule;
            InProcessShardedStore self = store;
            ReadOnlyMemory<float> grads = gradients;
            StateRows st = state;
            long step = t;
            if (routed is null)
            {
                self.ApplyAll(r, ids.Span, grads.Span, st, step, sortedSlots);
                return;
            }
            RoutedBatch batch = routed;
            int shards = batch.ShardCount;
            int threads = Math.Min(self._threads, shards);
            var pos = new int[batch.Count];
            ReadOnlySpan<int> sourceOf = batch.SourceOf;
            for (int i = 0; i < pos.Length; i++)
                pos[sourceOf[i]] = i;
            ParallelWork.For(shards, 1, threads, (first, end) =>
            {
                for (int s = first; s < end; s++)
                    self.ApplyShard(s, r, batch, pos, grads.Span, st, step);
            });
        }
    }

    /// <summary>
    /// The one-thread update: every shard is write-locked in ascending order (as every multi-shard call locks
    /// them; a 4,096-id batch touches every shard of a plan anyway), with no routing. Batches of at least
    /// <see cref="SortMinIds"/> ids come sorted (<paramref name="sortedSlots"/>: rows ascending, and
    /// <paramref name="gradients"/> already in that order, from <see cref="StoreUpdate.SortByRow"/>); smaller ones
    /// are applied in batch order. Measured with StoreBench's split (one thread, 1M × 128 rows, uniform ids): the
    /// rule costs about 15 % less a row over ascending rows with their gradients in the same order (core's step
    /// over a coalesced gradient) than over the batch's random order (neighbouring rows share pages of the table
    /// and the state, and the gradients are one forward stream); sorting the rows alone and reading the gradients
    /// out of order kept only half of that. The bits are the same in any order (each row's update is independent;
    /// ids are distinct); when a row's update comes out non-finite, the rows applied before it (in that order) keep
    /// their update, as documented on the call.
    /// </summary>
    private void ApplyAll<TRule>(in TRule rule, ReadOnlySpan<long> ids, ReadOnlySpan<float> gradients, StateRows state, long t, int[]? sortedSlots)
        where TRule : struct, ISparseUpdateRule
    {
        int count = ids.Length;
        if (count == 0)
            return;
        int[] slots = sortedSlots ?? ArrayPool<int>.Shared.Rent(count), gradientRows = ArrayPool<int>.Shared.Rent(count);
        try
        {
            for (int k = 0; k < count; k++)
            {
                if (sortedSlots is null)
                    slots[k] = (int)ids[k];
                gradientRows[k] = k;
            }
            EnterWriteAll();
            try
            {
                StoreUpdate.Apply(ApplyOp, rule, t, _rows, state, slots.AsSpan(0, count), gradientRows.AsSpan(0, count), gradients, default);
            }
            finally
            {
                ExitWriteAll();
            }
        }
        finally
        {
            if (sortedSlots is null)
                ArrayPool<int>.Shared.Return(slots);
            ArrayPool<int>.Shared.Return(gradientRows);
        }
    }

    private void ApplyShard<TRule>(int shard, in TRule rule, RoutedBatch routed, int[] positions, ReadOnlySpan<float> gradients, StateRows state, long t)
        where TRule : struct, ISparseUpdateRule
    {
        int start = routed.ShardStart[shard], count = routed.ShardStart[shard + 1] - start;
        if (count == 0)
            return;
        ReadOnlySpan<long> unique = routed.UniqueIds.Slice(start, count);
        // Scratch from the pool: four arrays of a batch's rows each call would otherwise be garbage per update.
        int[] slots = ArrayPool<int>.Shared.Rent(count), gradientRows = ArrayPool<int>.Shared.Rent(count);
        int[] scratchSlots = ArrayPool<int>.Shared.Rent(count), scratchRows = ArrayPool<int>.Shared.Rent(count);
        try
        {
            for (int k = 0; k < count; k++)
                slots[k] = (int)unique[k];
            positions.AsSpan(start, count).CopyTo(gradientRows);
            // Rows in ascending order (each row's update is independent of the others, so the bits do not change):
            // neighbouring rows share pages and the hardware prefetcher sees a forward stream.
            Kernels.SortByKey(slots.AsSpan(0, count), gradientRows.AsSpan(0, count), Math.Max(0, _rows.NumEmbeddings - 1), scratchSlots, scratchRows);
            EnterWrite(shard);
            try
            {
                // Ids are the slots here, so the error message of a non-finite update names slots[k].
                StoreUpdate.Apply(ApplyOp, rule, t, _rows, state, slots.AsSpan(0, count), gradientRows.AsSpan(0, count), gradients, default);
            }
            finally
            {
                ExitWrite(shard);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(slots);
            ArrayPool<int>.Shared.Return(gradientRows);
            ArrayPool<int>.Shared.Return(scratchSlots);
            ArrayPool<int>.Shared.Return(scratchRows);
        }
    }

    private void ToSlots(string op, ReadOnlySpan<long> ids, Span<int> slots)
    {
        uint n = (uint)_rows.NumEmbeddings;
        for (int i = 0; i < ids.Length; i++)
        {
            long id = ids[i];
            if ((ulong)id >= n)
                ThrowHelper.IndexOutOfRange(op, nameof(ids), id, i, n);
            slots[i] = (int)id;
        }
    }

    private void CheckIds(string op, ReadOnlySpan<long> ids)
    {
        CheckDisposed(op);
        uint n = (uint)_rows.NumEmbeddings;
        for (int i = 0; i < ids.Length; i++)
            if ((ulong)ids[i] >= n)
                ThrowHelper.IndexOutOfRange(op, nameof(ids), ids[i], i, n);
    }

    internal static void ThrowDuplicate(string op, ReadOnlySpan<long> ids)
    {
        var seen = new Dictionary<long, int>();
        for (int i = 0; i < ids.Length; i++)
            if (!seen.TryAdd(ids[i], i))
                ThrowHelper.Argument(op, nameof(ids), $"ids[{i}] = {ids[i]} repeats ids[{seen[ids[i]]}]; gradients must be summed per id first (RoutedBatch.SumByUnique or TableCollection.SummedGradients)");
    }

    private void CheckDisposed(string op)
    {
        if (Volatile.Read(ref _disposed) != 0)
            ThrowHelper.Disposed(op, nameof(InProcessShardedStore));
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private void EnterRead(int shard)
    {
        if (!_hogwild)
            _locks[shard].EnterReadLock();
    }

    private void ExitRead(int shard)
    {
        if (!_hogwild)
            _locks[shard].ExitReadLock();
    }

    private void EnterWrite(int shard)
    {
        if (!_hogwild)
            _locks[shard].EnterWriteLock();
    }

    private void ExitWrite(int shard)
    {
        if (!_hogwild)
            _locks[shard].ExitWriteLock();
    }

    private void EnterReadAll()
    {
        for (int s = 0; s < _locks.Length; s++)
            EnterRead(s);
    }

    private void ExitReadAll()
    {
        for (int s = _locks.Length - 1; s >= 0; s--)
            ExitRead(s);
    }

    private void EnterWriteAll()
    {
        for (int s = 0; s < _locks.Length; s++)
            EnterWrite(s);
    }

    private void ExitWriteAll()
    {
        for (int s = _locks.Length - 1; s >= 0; s--)
            ExitWrite(s);
    }
}
