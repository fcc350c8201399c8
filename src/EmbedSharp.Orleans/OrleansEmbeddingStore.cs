using System.Buffers;
using System.Diagnostics;
using EmbedSharp.Orleans.Grains;
using EmbedSharp.Orleans.Placement;
using EmbedSharp.Orleans.Wire;
using EmbedSharp.Stores;
using EmbedSharp.Tables;
using Orleans.Runtime;
using Orleans.Serialization.Buffers;

namespace EmbedSharp.Orleans;

/// <summary>
/// An <see cref="IEmbeddingStore"/> over an Orleans cluster: one grain per row shard, the optimizer running in
/// the shard. Each call routes its ids through the plan's 4,096 buckets, sends one call per shard (ids
/// deduplicated, split only above <see cref="OrleansStoreOptions.MaxCallBytes"/>) to all shards at once, and
/// scatters the answers back.
/// </summary>
/// <remarks>
/// <para>Consistency: each call applies atomically per shard (a grain runs one update at a time); nothing is
/// atomic across shards. With <see cref="OrleansStoreOptions.MaxPendingUpdates"/> &gt; 0 updates are
/// asynchronous with bounded staleness.</para>
/// <para>Failures: a shard that does not answer (its silo died) is retried until
/// <see cref="OrleansStoreOptions.RetryBudget"/>, then the call fails with <see cref="TimeoutException"/>;
/// <see cref="Stats"/> counts the failed tries. Shards of a dead silo come back on a survivor from the last
/// snapshot taken with <see cref="SnapshotToSharedFolderAsync"/> (updates since then are lost); shards on the
/// survivors keep every update.</para>
/// </remarks>
// Size: one type in two files (~700 lines): the store calls with routing, retries and bounded staleness (this
// file), and snapshots/restore through the shards. They share the plan and the grain references.
public sealed partial class OrleansEmbeddingStore : IEmbeddingStore
{
    private readonly IGrainFactory _grains;
    private readonly OrleansStoreOptions _options;
    private readonly IShardGrain[] _shards;
    private readonly int[][] _rangeFirst;
    private readonly int[][] _rangeEnd;
    private readonly object _gate = new();
    private readonly Queue<Task> _pending = new();
    private Exception? _pendingError;
    private string? _snapshot;
    private OptimizerStep? _lastStep;
    private int _stateWidth;
    private long _failedTries;
    private long _retriedCalls;
    private readonly Guid _client = Guid.NewGuid();
    private long _sequence;

    /// <summary>Connects a store to the shards of <paramref name="options"/>'s table (no call is made until the first use).</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public OrleansEmbeddingStore(IGrainFactory grains, OrleansStoreOptions options)
    {
        const string op = "orleans.store";
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(options);
        if (!ShardKey.IsValidTableName(options.Table))
            throw new ArgumentException($"[{op}] table name '{options.Table}' is not valid; use 1-128 of A-Z a-z 0-9 - _ . not starting with '.'", nameof(options));
        if (options.Dims is < 1 or > (1 << 20))
            throw new ArgumentOutOfRangeException(nameof(options), options.Dims, $"[{op}] Dims {options.Dims} is out of range (1..1048576)");
        if (options.NumEmbeddings is < 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.NumEmbeddings, $"[{op}] NumEmbeddings {options.NumEmbeddings} is negative (null means unbounded)");
        if (options.Plan is null && options.ShardCount is < 1 or > BucketRouter.BucketCount)
            throw new ArgumentOutOfRangeException(nameof(options), options.ShardCount, $"[{op}] ShardCount {options.ShardCount} is out of range (1..{BucketRouter.BucketCount})");
        if (options.MaxPendingUpdates < 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxPendingUpdates, $"[{op}] MaxPendingUpdates must be ≥ 0");
        if (options.RetryBudget <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), options.RetryBudget, $"[{op}] RetryBudget must be positive");
        if (options.TryTimeout <= TimeSpan.Zero || options.TryTimeout > TimeSpan.FromMinutes(1))
            throw new ArgumentOutOfRangeException(nameof(options), options.TryTimeout, $"[{op}] TryTimeout must be positive and at most 1 minute");
        int minCall = 8 + 8 * options.Dims;
        if (options.MaxCallBytes < minCall || options.MaxCallBytes > 64 << 20)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxCallBytes, $"[{op}] MaxCallBytes {options.MaxCallBytes} must hold one row ({minCall} bytes) and stay ≤ 64 MiB (Orleans drops a connection over its 100 MB body limit)");
        if (options.StartFrom is not null)
            SnapshotNames.Check(op, options.StartFrom);
        _grains = grains;
        _options = options;
        Plan = options.Plan ?? ShardingPlan.Even(options.ShardCount);
        _snapshot = options.StartFrom;
        int shards = Plan.ShardCount;
        _shards = new IShardGrain[shards];
        _rangeFirst = new int[shards][];
        _rangeEnd = new int[shards][];
        for (int s = 0; s < shards; s++)
        {
            _shards[s] = grains.GetGrain<IShardGrain>(new ShardKey(options.Table, shards, s).ToString());
            IReadOnlyList<BucketRange> ranges = Plan.RangesOf(s);
            _rangeFirst[s] = [.. ranges.Select(r => r.First)];
            _rangeEnd[s] = [.. ranges.Select(r => r.End)];
        }
    }

    /// <summary>The plan that maps buckets to shards.</summary>
    public ShardingPlan Plan { get; }

    /// <summary>The table's shape; the optimizer once the first step was applied through this store.</summary>
    public EmbeddingStoreInfo Info => new(_options.Table, _options.NumEmbeddings, _options.Dims, DType.Float32,
        _lastStep?.Kind ?? OptimizerKind.None, _stateWidth);

    /// <summary>The snapshot a shard placed anew loads (the newest one this store took or started from), or null.</summary>
    public string? RecoverySnapshot => Volatile.Read(ref _snapshot);

    /// <summary>Tries that failed and were retried, and calls that needed a retry, since the store was made.</summary>
    public (long FailedTries, long RetriedCalls) Stats => (Interlocked.Read(ref _failedTries), Interlocked.Read(ref _retriedCalls));

    private int Dims => _options.Dims;

    private ShardSpec SpecOf(int shard) => new(_options.Table, _options.NumEmbeddings ?? -1, Dims, Plan.ShardCount, shard, Plan.Version,
        _rangeFirst[shard], _rangeEnd[shard], Volatile.Read(ref _snapshot));

    /// <summary>Ids per call so that ids plus <paramref name="floatsPerId"/> floats each stay within the call limit.</summary>
    private int IdsPerCall(int floatsPerId) => Math.Max(1, _options.MaxCallBytes / (8 + 4 * floatsPerId));

    private void CheckIds(string op, ReadOnlySpan<long> ids)
    {
        if (_options.NumEmbeddings is not long n)
            return;
        for (int i = 0; i < ids.Length; i++)
            if ((ulong)ids[i] >= (ulong)n)
                throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"[{op}] ids[{i}] = {ids[i]} is outside [0, {n})");
    }

    /// <inheritdoc/>
    public async ValueTask GatherAsync(ReadOnlyMemory<long> ids, Memory<float> destination, CancellationToken cancellationToken = default)
    {
        const string op = "orleans.gather";
        CheckIds(op, ids.Span);
        if (destination.Length < (long)ids.Length * Dims)
            throw new ArgumentException($"[{op}] destination holds {destination.Length} floats; {ids.Length} ids × {Dims} dims need {(long)ids.Length * Dims}", nameof(destination));
        ThrowPendingError();
        RoutedBatch batch = Plan.Route(ids.Span);
        // Rented: a 4,096-row batch of 128 floats is 2 MB, a new large-object-heap array each call otherwise.
        float[] gathered = ArrayPool<float>.Shared.Rent(batch.UniqueCount * Dims);
        long[] unique = batch.UniqueIds.ToArray();
        int perCall = IdsPerCall(Dims);
        var calls = new List<Task>();
        for (int s = 0; s < Plan.ShardCount; s++)
        {
            int start = batch.ShardStart[s], end = batch.ShardStart[s + 1];
            for (int at = start; at < end; at += perCall)
            {
                int shard = s, first = at, count = Math.Min(perCall, end - at);
                calls.Add(GatherPartAsync(op, shard, unique, first, count, gathered, cancellationToken));
            }
        }
        try
        {
            await Task.WhenAll(calls).ConfigureAwait(false);
            batch.Scatter(gathered, destination.Span, Dims);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(gathered);
        }
    }

    /// <summary>
    /// Reads one shard's part of a gather into <paramref name="gathered"/>. Only the answer of the try that
    /// <see cref="CallAsync{T}"/> accepted is copied, before this task ends: an abandoned try's late answer is dropped.
    /// </summary>
    private async Task GatherPartAsync(string op, int shard, long[] unique, int first, int count, float[] gathered, CancellationToken cancellationToken)
    {
        ShardRows answer = await CallAsync(op, shard, () => _shards[shard].Gather(new GatherRequest(SpecOf(shard), Payload.From<long>(unique.AsSpan(first, count)))),
            cancellationToken, boundedTries: true).ConfigureAwait(false);
        PooledBuffer rows = answer.Rows;
        try
        {
            Payload.CopyTo<float>(rows, gathered.AsSpan(first * Dims, count * Dims), op, "rows");
        }
        finally
        {
            rows.Dispose();
        }
    }

    /// <inheritdoc/>
    public async ValueTask ApplyGradientsAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> gradients, OptimizerStep step, CancellationToken cancellationToken = default)
    {
        const string op = "orleans.apply";
        step.Validate(op);
        CheckIds(op, ids.Span);
        if (gradients.Length != (long)ids.Length * Dims)
            throw new ArgumentException($"[{op}] {gradients.Length} gradient floats for {ids.Length} ids × {Dims} dims", nameof(gradients));
        CheckFinite(op, gradients.Span, ids.Span, step.Step);
        RoutedBatch batch = Plan.Route(ids.Span);
        if (batch.HasDuplicates)
            throw new ArgumentException($"[{op}] ids repeat; sum each id's gradients first (ApplyBatchGradientsAsync does it for per-position gradients)", nameof(ids));
        float[] summed = ArrayPool<float>.Shared.Rent(batch.UniqueCount * Dims);
        batch.SumByUnique(gradients.Span, summed, Dims);
        await SendApplyAsync(op, batch, summed, step, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies one step from per-position gradients of a batch whose ids may repeat: the gradients of each id are
    /// summed here on the client (in ascending position order), so each shard gets each of its ids once.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="gradients"/> is not <c>ids.Length × Dims</c> floats, or the step is invalid.</exception>
    public async ValueTask ApplyBatchGradientsAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> gradients, OptimizerStep step, CancellationToken cancellationToken = default)
    {
        const string op = "orleans.apply";
        step.Validate(op);
        CheckIds(op, ids.Span);
        if (gradients.Length != (long)ids.Length * Dims)
            throw new ArgumentException($"[{op}] {gradients.Length} gradient floats for {ids.Length} ids × {Dims} dims", nameof(gradients));
        CheckFinite(op, gradients.Span, ids.Span, step.Step);
        RoutedBatch batch = Plan.Route(ids.Span);
        float[] summed = ArrayPool<float>.Shared.Rent(batch.UniqueCount * Dims);
        batch.SumByUnique(gradients.Span, summed, Dims);
        await SendApplyAsync(op, batch, summed, step, cancellationToken).ConfigureAwait(false);
    }

    private void CheckFinite(string op, ReadOnlySpan<float> gradients, ReadOnlySpan<long> ids, long step)
    {
        if (System.Numerics.Tensors.TensorPrimitives.IsFiniteAll(gradients))
            return;
        for (int i = 0; i < gradients.Length; i++)
            if (!float.IsFinite(gradients[i]))
                throw new EmbedSharp.Diagnostics.NonFiniteException($"[{op}] gradient of id {ids[i / Dims]} holds {gradients[i]} at column {i % Dims}; nothing was sent", step, -1, i % Dims);
    }

    /// <summary>Sends one step to the shards; <paramref name="summed"/> is rented and goes back to the pool once every call ended.</summary>
    private async ValueTask SendApplyAsync(string op, RoutedBatch batch, float[] summed, OptimizerStep step, CancellationToken cancellationToken)
    {
        Task all;
        try
        {
            ThrowPendingError();
            int width = step.StateWidth(Dims);
            lock (_gate)
            {
                if (_lastStep is { } last && last.Kind != step.Kind)
                    throw new ArgumentException($"[{op}] this store trains with {last.Kind}; the step is {step.Kind}; a store keeps one rule for its life");
                _lastStep = step;
                _stateWidth = width;
            }
            long[] unique = batch.UniqueIds.ToArray();
            int perCall = IdsPerCall(Dims);
            var wire = WireStep.From(step);
            var calls = new List<Task>();
            for (int s = 0; s < Plan.ShardCount; s++)
            {
                int start = batch.ShardStart[s], end = batch.ShardStart[s + 1];
                for (int at = start; at < end; at += perCall)
                {
                    int shard = s, first = at, count = Math.Min(perCall, end - at);
                    long sequence = Interlocked.Increment(ref _sequence);
                    // Bounded tries are safe here: a shard applies each (client, sequence) once, so a try abandoned
                    // and then delivered late is skipped.
                    calls.Add(CallAsync(op, shard, () => ApplyOnShardAsync(shard, new ApplyRequest(SpecOf(shard), wire,
                        Payload.From<long>(unique.AsSpan(first, count)), Payload.From<float>(summed.AsSpan(first * Dims, count * Dims)), _client, sequence)),
                        cancellationToken, boundedTries: true));
                }
            }
            all = Task.WhenAll(calls);
        }
        catch
        {
            ArrayPool<float>.Shared.Return(summed);
            throw;
        }
        // Retries re-read the gradients, so the buffer goes back only once every call has ended.
        _ = all.ContinueWith(static (_, buffer) => ArrayPool<float>.Shared.Return((float[])buffer!), summed,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        if (_options.MaxPendingUpdates == 0)
        {
            await all.ConfigureAwait(false);
            return;
        }
        Task? oldest = null;
        lock (_gate)
        {
            _pending.Enqueue(all);
            if (_pending.Count > _options.MaxPendingUpdates)
                oldest = _pending.Dequeue();
        }
        _ = all.ContinueWith(t =>
        {
            if (t.Exception is { } ex)
                Interlocked.CompareExchange(ref _pendingError, ex.InnerException ?? ex, null);
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        if (oldest is not null)
            await oldest.ConfigureAwait(false);
    }

    /// <summary>One shard's update; a shard reports a step that made a row non-finite as ArithmeticException (see ShardGrain.Apply).</summary>
    private async Task<ShardAck> ApplyOnShardAsync(int shard, ApplyRequest request)
    {
        try
        {
            return await _shards[shard].Apply(request).ConfigureAwait(false);
        }
        catch (ArithmeticException ex) when (ex is not EmbedSharp.Diagnostics.NonFiniteException)
        {
            throw new EmbedSharp.Diagnostics.NonFiniteException(ex.Message, request.Step.Step, -1, -1);
        }
    }

    /// <summary>Waits for every update still in flight (bounded staleness) and throws the first that failed.</summary>
    public async ValueTask FlushAsync()
    {
        Task[] pending;
        lock (_gate)
        {
            pending = [.. _pending];
            _pending.Clear();
        }
        try
        {
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Exchange(ref _pendingError, null);
        }
    }

    private void ThrowPendingError()
    {
        if (Interlocked.Exchange(ref _pendingError, null) is { } error)
            throw new InvalidOperationException($"[orleans.apply] an asynchronous update failed: {error.Message}", error);
    }

    /// <inheritdoc/>
    public async ValueTask UpsertAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> rows, CancellationToken cancellationToken = default)
    {
        const string op = "orleans.upsert";
        CheckIds(op, ids.Span);
        if (rows.Length != (long)ids.Length * Dims)
            throw new ArgumentException($"[{op}] {rows.Length} row floats for {ids.Length} ids × {Dims} dims", nameof(rows));
        for (int i = 0; i < rows.Length; i++)
            if (!float.IsFinite(rows.Span[i]))
                throw new ArgumentException($"[{op}] row of ids[{i / Dims}] = {ids.Span[i / Dims]} holds {rows.Span[i]} at column {i % Dims}; rows must be finite", nameof(rows));
        ThrowPendingError();
        RoutedBatch batch = Plan.Route(ids.Span);
        // The last of repeated ids wins: take each distinct id's row from its last position.
        var last = new float[batch.UniqueCount * Dims];
        ReadOnlySpan<int> source = batch.SourceOf;
        for (int i = 0; i < source.Length; i++)
            rows.Span.Slice(i * Dims, Dims).CopyTo(last.AsSpan(source[i] * Dims, Dims));
        await WriteRowsAsync(op, batch.UniqueIds.ToArray(), batch.ShardStart.ToArray(), last, null, [], cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteRowsAsync(string op, long[] unique, int[] shardStart, float[] rows, OptimizerStep? optimizer, float[] states, CancellationToken cancellationToken)
    {
        int width = optimizer is null ? 0 : states.Length / Math.Max(1, unique.Length);
        int perCall = IdsPerCall(Dims + width);
        WireStep? wire = optimizer is { } o ? WireStep.From(o) : null;
        var calls = new List<Task>();
        for (int s = 0; s < Plan.ShardCount; s++)
        {
            int start = shardStart[s], end = shardStart[s + 1];
            for (int at = start; at < end; at += perCall)
            {
                int shard = s, first = at, count = Math.Min(perCall, end - at);
                calls.Add(CallAsync(op, shard, () => _shards[shard].Write(new WriteRequest(SpecOf(shard),
                    Payload.From<long>(unique.AsSpan(first, count)), Payload.From<float>(rows.AsSpan(first * Dims, count * Dims)),
                    wire, Payload.From<float>(width == 0 ? [] : states.AsSpan(first * width, count * width)))), cancellationToken));
            }
        }
        await Task.WhenAll(calls).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DeleteAsync(ReadOnlyMemory<long> ids, CancellationToken cancellationToken = default)
    {
        const string op = "orleans.delete";
        CheckIds(op, ids.Span);
        ThrowPendingError();
        RoutedBatch batch = Plan.Route(ids.Span);
        long[] unique = batch.UniqueIds.ToArray();
        int perCall = IdsPerCall(0);
        var calls = new List<Task>();
        for (int s = 0; s < Plan.ShardCount; s++)
        {
            int start = batch.ShardStart[s], end = batch.ShardStart[s + 1];
            for (int at = start; at < end; at += perCall)
            {
                int shard = s, first = at, count = Math.Min(perCall, end - at);
                calls.Add(CallAsync(op, shard, () => _shards[shard].Delete(new DeleteRequest(SpecOf(shard), Payload.From<long>(unique.AsSpan(first, count)))), cancellationToken));
            }
        }
        await Task.WhenAll(calls).ConfigureAwait(false);
    }

    /// <summary>Where each shard runs, its rows, its step and how its activation opened.</summary>
    public async Task<ShardStatus[]> DescribeAsync(CancellationToken cancellationToken = default)
    {
        var calls = new Task<ShardStatus>[Plan.ShardCount];
        for (int s = 0; s < calls.Length; s++)
        {
            int shard = s;
            calls[s] = CallAsync("orleans.describe", shard, () => _shards[shard].Describe(SpecOf(shard)), cancellationToken, boundedTries: true);
        }
        return await Task.WhenAll(calls).ConfigureAwait(false);
    }

    private async Task CallAsync(string op, int shard, Func<Task> call, CancellationToken cancellationToken) =>
        await CallAsync<bool>(op, shard, async () =>
        {
            await call().ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Runs a grain call, retrying transient failures (a silo that died, a shard being placed again, a timeout)
    /// until the retry budget is spent; errors in the request itself are thrown at once. With
    /// <paramref name="boundedTries"/> (reads, and updates, which shards deduplicate) try k is abandoned after
    /// <see cref="OrleansStoreOptions.TryTimeout"/> × 2^(k-1): a request lost with a killed silo is only failed by
    /// Orleans after the client's whole response timeout, and the retry reaches the shard placed anew sooner.
    /// </summary>
    private async Task<T> CallAsync<T>(string op, int shard, Func<Task<T>> call, CancellationToken cancellationToken, bool boundedTries = false)
    {
        var clock = Stopwatch.StartNew();
        int tries = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                TimeSpan bound = boundedTries ? TryBound(tries) : Timeout.InfiniteTimeSpan;
                T result = await call().WaitAsync(bound, cancellationToken).ConfigureAwait(false);
                if (tries > 0)
                    Interlocked.Increment(ref _retriedCalls);
                return result;
            }
            catch (Exception ex) when (IsTransient(ex, cancellationToken))
            {
                tries++;
                Interlocked.Increment(ref _failedTries);
                if (clock.Elapsed >= _options.RetryBudget)
                    throw new TimeoutException($"[{op}] shard {shard} of table '{_options.Table}' did not answer within {_options.RetryBudget.TotalSeconds:0.#} s ({tries} tries; last: {ex.GetType().Name}: {FirstLine(ex.Message)}); is the cluster up?", ex);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(500, 50 * tries)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>How long try <paramref name="tries"/> (0 first) may take: the try timeout doubled per earlier try, at most a minute.</summary>
    private TimeSpan TryBound(int tries) =>
        TimeSpan.FromTicks((long)Math.Min(_options.TryTimeout.Ticks * Math.Pow(2, Math.Min(tries, 16)), TimeSpan.FromMinutes(1).Ticks));

    /// <summary>
    /// Whether a failed try is worth another. A cancellation the caller did not ask for comes from the cluster: the
    /// distributed grain directory cancels a lookup in flight when membership changes (a silo was declared dead), and
    /// the shard is placed anew on the next try.
    /// </summary>
    internal static bool IsTransient(Exception ex, CancellationToken cancellationToken) => ex is TimeoutException or SiloUnavailableException or OrleansMessageRejectionException
        or global::Orleans.Runtime.Messaging.ConnectionFailedException or GatewayTooBusyException or ClientNotAvailableException
        || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        || (ex is OrleansException && ex is not OrleansConfigurationException);

    private static string FirstLine(string text)
    {
        int nl = text.IndexOf('\n');
        return (nl < 0 ? text : text[..nl]).TrimEnd('\r');
    }

    /// <summary>Waits for updates in flight; the cluster and its shards stay as they are.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await FlushAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // disposing must not throw for an update that already failed
        catch (Exception)
#pragma warning restore CA1031
        {
            // Disposing must not throw for an update that already failed; FlushAsync reports it to callers who ask.
        }
    }
}
