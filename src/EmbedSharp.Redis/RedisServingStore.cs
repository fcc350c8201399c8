using System.Diagnostics;
using EmbedSharp.Diagnostics;
using EmbedSharp.Stores;
using EmbedSharp.Tables;
using StackExchange.Redis;

namespace EmbedSharp.Redis;

/// <summary>
/// Reads rows of a table published to Redis (usually a Redis Cluster) by <see cref="RedisTableWriter"/>: the read
/// side of a serving tier. Each gather reads the pointer key beside the rows of the version it saw last and rereads
/// the batch if the pointer moved, so every row of a batch comes from one published version; distinct ids are read
/// once, cache misses grouped by block into one HMGET per block, all pipelined.
/// </summary>
/// <remarks>
/// Effectively computes <c>destination[i·Dims .. (i+1)·Dims) = row_v(ids[i])</c> for the current version <c>v</c>,
/// decoded to float32 (bit-exact for float32 rows; float16 rounding or row-wise int8 error otherwise).
/// It implements the read side of the store seam, <see cref="IEmbeddingRowReader"/>, and only that.
/// Serving only: there is no write path here. Redis is not a training store (a client-side read-modify-write
/// would lose concurrent updates); publish a new version instead.
/// On failure (a dead master without a replica, a timeout, an unreachable cluster) a gather throws
/// <see cref="RedisStoreException"/> within <see cref="RedisServingOptions.OperationTimeout"/>; the
/// destination's contents are then unspecified. When only the pointer key's master is unreachable, a store that has
/// read the pointer before keeps serving the last version it saw (<see cref="RedisGatherResult.StaleVersion"/>).
/// </remarks>
// Size: one type in three files (~600 lines) by concern — opening and options (this file), the versioned
// pointer, and one batch's pipelined HMGETs and decoding. They share the connection and the version seen last.
public sealed partial class RedisServingStore : IEmbeddingRowReader
{
    /// <summary>Versions a batch may follow before it gives up (only when old versions expire at once).</summary>
    private const int MaxVersionChanges = 8;

    private readonly IConnectionMultiplexer _redis;
    private readonly IDatabase _db;
    private readonly CommandFlags _readFlags;
    private readonly RedisKey _pointer;
    private readonly Lock _lock = new();
    private RedisTableLayout? _layout;
    private long _layoutReadAt;
    private long _pointerDownUntil;
    private string? _layoutText;
    private (long Version, RedisKey[] Keys)? _blockKeys;
    private HotRowCache? _cache;
    private long _lastReconfigure;
    private readonly bool _ownsConnection;
    private int _disposed;

    /// <summary>Creates a reader of <paramref name="table"/>; nothing is read until the first call.</summary>
    /// <param name="redis">A connection (see <see cref="RedisServing.ConnectAsync(string, TimeSpan?)"/> for fail-fast settings).</param>
    /// <param name="table">The published table's name.</param>
    /// <param name="options">Cache, replica reads, missing-row policy, timeouts.</param>
    public RedisServingStore(IConnectionMultiplexer redis, string table, RedisServingOptions? options = null)
        : this(redis, table, options, ownsConnection: false)
    {
    }

    private RedisServingStore(IConnectionMultiplexer redis, string table, RedisServingOptions? options, bool ownsConnection)
    {
        const string op = "redis.store";
        Guard.NotNull(op, redis);
        RedisTableLayout.CheckTableName(op, table);
        options ??= new RedisServingOptions();
        options.Validate(op);
        _redis = redis;
        _db = redis.GetDatabase();
        Table = table;
        Options = options;
        _readFlags = options.ReadFromReplicas ? CommandFlags.PreferReplica : CommandFlags.None;
        _pointer = RedisTableLayout.PointerKey(table);
        _ownsConnection = ownsConnection;
    }

    /// <summary>
    /// Opens a reader of <paramref name="table"/> over <paramref name="redis"/> and reads the current layout, so
    /// <see cref="Info"/> is known without another round trip. The connection stays the caller's.
    /// </summary>
    /// <exception cref="RedisStoreException">The table has no published version, or Redis did not answer.</exception>
    public static async Task<RedisServingStore> OpenAsync(IConnectionMultiplexer redis, string table, RedisServingOptions? options = null, CancellationToken cancellationToken = default)
    {
        var store = new RedisServingStore(redis, table, options);
        await store.CurrentLayoutAsync(cancellationToken).ConfigureAwait(false);
        return store;
    }

    /// <summary>
    /// Connects to <paramref name="endpoints"/> with <see cref="RedisServing.Configuration"/>'s fail-fast settings and
    /// opens a reader of <paramref name="table"/> that owns the connection (disposing the store closes it).
    /// </summary>
    /// <exception cref="RedisStoreException">No endpoint answered, or the table has no published version.</exception>
    public static async Task<RedisServingStore> ConnectAsync(string endpoints, string table, RedisServingOptions? options = null, CancellationToken cancellationToken = default)
    {
        RedisTableLayout.CheckTableName("redis.store", table);
        options?.Validate("redis.store");
        ConnectionMultiplexer redis = await RedisServing.ConnectAsync(endpoints).ConfigureAwait(false);
        var store = new RedisServingStore(redis, table, options, ownsConnection: true);
        try
        {
            await store.CurrentLayoutAsync(cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The current version's name and shape as the store seam describes it: <c>NumEmbeddings</c> when the table was
    /// published bounded (null for any int64 id), <c>Dims</c>, and the storage type (float32 or float16; int8 rows,
    /// which have no <see cref="DType"/>, report float32, the type gathers return). Read from the last layout seen;
    /// the pointer is read (synchronously) only when no layout has been read yet.
    /// </summary>
    /// <exception cref="RedisStoreException">No layout is known and the pointer cannot be read.</exception>
    public EmbeddingStoreInfo Info
    {
        get
        {
            RedisTableLayout? layout;
            lock (_lock)
                layout = _layout;
            layout ??= CurrentLayoutAsync().AsTask().GetAwaiter().GetResult();
            return new EmbeddingStoreInfo(Table, layout.NumEmbeddings, layout.Dims, layout.Format == RedisRowFormat.Float16 ? DType.Float16 : DType.Float32);
        }
    }

    /// <summary>The layout of the version this store read last (null before its first read).</summary>
    public RedisTableLayout? Layout
    {
        get
        {
            lock (_lock)
                return _layout;
        }
    }

    /// <summary>The table's name.</summary>
    public string Table { get; }

    /// <summary>The options.</summary>
    public RedisServingOptions Options { get; }

    /// <summary>Rows held by the hot-row cache now (0 when it is off).</summary>
    public int CachedRows => Volatile.Read(ref _cache)?.Count ?? 0;

    /// <inheritdoc cref="GatherAsync(ReadOnlyMemory{long}, Memory{float}, CancellationToken)"/>
    async ValueTask IEmbeddingRowReader.GatherAsync(ReadOnlyMemory<long> ids, Memory<float> destination, CancellationToken cancellationToken) =>
        await GatherAsync(ids, destination, cancellationToken).ConfigureAwait(false);

    /// <summary>Closes the connection when this store opened it (<see cref="ConnectAsync"/>); otherwise nothing, the connection is the caller's.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _ownsConnection)
            await _redis.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Gathers rows: <c>destination[i·Dims .. (i+1)·Dims) = row(ids[i])</c> (see the class remarks). Repeated ids
    /// are read once; cached rows are not read at all.
    /// </summary>
    /// <returns>The version read and what the batch cost.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <c>ids.Length · Dims</c>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The table is bounded and an id is outside <c>[0, NumEmbeddings)</c>; nothing was written.</exception>
    /// <exception cref="KeyNotFoundException">An id is not in the version and <see cref="RedisServingOptions.MissingRows"/> is Throw.</exception>
    /// <exception cref="RedisStoreException">Redis did not answer for some blocks (their slots and the cause are named) or the layout is unreadable.</exception>
    public async ValueTask<RedisGatherResult> GatherAsync(ReadOnlyMemory<long> ids, Memory<float> destination, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _disposed) != 0)
            ThrowHelper.Disposed("redis.gather", nameof(RedisServingStore));
        // The pointer is read beside the rows of the version seen last (one round trip, not two); when it names
        // another version, the rows read are dropped and the batch is read again from that version.
        (RedisTableLayout? known, bool fresh, bool pointerDown) = LayoutState();
        bool stale = pointerDown;
        RedisTableLayout layout = known ?? await CurrentLayoutAsync(cancellationToken).ConfigureAwait(false);
        Task<RedisValue>? pointer = known is null || fresh || pointerDown ? null : _db.StringGetAsync(_pointer, _readFlags);
        try
        {
            CheckBatch(ids.Span, destination.Length, layout);
            var batch = new Batch(ids.Span);
            for (int attempt = 0; ; attempt++)
            {
                HotRowCache? cache = CacheFor(layout);
                int hits = batch.LookupCache(cache, destination.Span, layout.Dims);
                Request request = batch.Send(_db, layout, BlockKeys(layout), _readFlags);
                try
                {
                    await WaitAsync(request, layout, cancellationToken).ConfigureAwait(false);
                }
                catch (RedisStoreException) when (_readFlags == CommandFlags.PreferReplica)
                {
                    // Right after a master dies, the client can still route some of its slots' reads to it while it
                    // reconnects (PreferReplica picks the master when it has not yet marked it down): ask the
                    // replicas alone, once. Without a replica this fails again, with that error.
                    request = batch.Send(_db, layout, BlockKeys(layout), CommandFlags.DemandReplica);
                    await WaitAsync(request, layout, cancellationToken).ConfigureAwait(false);
                }
                if (pointer is not null)
                {
                    RedisTableLayout? current = await ResolvePointerAsync(pointer, cancellationToken).ConfigureAwait(false);
                    pointer = null;
                    if (current is null)
                    {
                        stale = true;
                    }
                    else if (current.Version != layout.Version)
                    {
                        layout = current;
                        CheckBatch(ids.Span, destination.Length, layout);
                        batch.Reset();
                        continue;
                    }
                }
                int missing = batch.Decode(request, layout, destination.Span, out int firstMissing);
                if (missing > 0 && !stale)
                {
                    // The version may have been replaced (and expired) between reading the pointer and the rows: read
                    // the whole batch again from the newer version, so a batch never mixes versions.
                    RedisTableLayout now = await CurrentLayoutAsync(cancellationToken).ConfigureAwait(false);
                    if (now.Version != layout.Version)
                    {
                        if (attempt >= MaxVersionChanges)
                            throw new RedisStoreException(ThrowHelper.Format("redis.gather",
                                $"table '{Table}' changed version {attempt + 1} times during one batch and each old version was gone before it was read; publish with a longer OldVersionTtl"));
                        layout = now;
                        CheckBatch(ids.Span, destination.Length, layout);
                        batch.Reset();
                        continue;
                    }
                }
                if (missing > 0 && Options.MissingRows == MissingRowPolicy.Throw)
                {
                    throw new KeyNotFoundException(ThrowHelper.Format("redis.gather",
                        $"id {ids.Span[firstMissing]} (ids[{firstMissing}]) is not in table '{Table}' version {layout.Version} ({layout.Rows} rows; {missing} distinct ids of this batch are missing); " +
                        "gather only published ids, or leave MissingRows at Zeros to read zeros for them"));
                }
                batch.Finish(cache, destination.Span, layout.Dims);
                return new RedisGatherResult(layout.Version, batch.UniqueCount, hits, request.Blocks.Length, missing, stale);
            }
        }
        finally
        {
            // A pointer read left behind by an error is observed, so its failure is not an unobserved task exception.
            pointer?.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    private static void CheckBatch(ReadOnlySpan<long> ids, int destinationLength, RedisTableLayout layout)
    {
        const string op = "redis.gather";
        Guard.MinLength(op, destinationLength, (long)ids.Length * layout.Dims, $"ids.Length × Dims = {ids.Length} × {layout.Dims}");
        if (layout.NumEmbeddings is { } bound)
        {
            for (int i = 0; i < ids.Length; i++)
            {
                if ((ulong)ids[i] >= (ulong)bound)
                    ThrowHelper.IndexOutOfRange(op, nameof(ids), ids[i], i, bound);
            }
        }
    }

    private HotRowCache? CacheFor(RedisTableLayout layout)
    {
        if (Options.HotRowCacheRows == 0)
            return null;
        HotRowCache? cache = Volatile.Read(ref _cache);
        if (cache is not null && cache.Version == layout.Version && cache.Dims == layout.Dims)
            return cache;
        if ((long)Options.HotRowCacheRows * layout.Dims > Array.MaxLength)
            ThrowHelper.ArgumentOutOfRange("redis.gather", nameof(Options.HotRowCacheRows), Options.HotRowCacheRows,
                $"a cache of {Options.HotRowCacheRows} rows × {layout.Dims} dims does not fit in one array; use at most {Array.MaxLength / layout.Dims} rows");
        lock (_lock)
        {
            // A new version invalidates every cached row: the new cache replaces the old one whole.
            if (_cache is null || _cache.Version < layout.Version || _cache.Dims != layout.Dims)
                _cache = new HotRowCache(Options.HotRowCacheRows, layout.Dims, layout.Version);
            return _cache.Version == layout.Version ? _cache : null;
        }
    }
}
