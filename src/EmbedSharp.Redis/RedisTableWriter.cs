using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;
using StackExchange.Redis;

namespace EmbedSharp.Redis;

/// <summary>
/// Publishes a new version of a table: rows are written under a fresh version number that no reader sees, then
/// <see cref="CommitAsync"/> flips the pointer key in one atomic step and lets the replaced version expire.
/// </summary>
/// <remarks>
/// Readers (<see cref="RedisServingStore"/>) read the pointer once per batch, so a batch sees the old version or
/// the new one, never a mix. Disposing an uncommitted writer deletes what it wrote. Two writers of one table get
/// different versions; a commit never replaces a newer version (it fails instead).
/// </remarks>
public sealed partial class RedisTableWriter : IAsyncDisposable
{
    private const string Op = "redis.publish";

    // Compare-and-set of the pointer: flips only to a newer version and returns the value it replaced.
    private const string FlipScript = """
        local cur = redis.call('GET', KEYS[1])
        if cur then
          local v = tonumber(string.match(cur, 'version=(%d+)'))
          if v and v >= tonumber(ARGV[1]) then return {0, cur} end
        end
        redis.call('SET', KEYS[1], ARGV[2])
        return {1, cur or ''}
        """;

    private readonly IDatabase _db;
    private readonly RedisPublishOptions _options;
    private readonly List<HashEntry>[] _pending;
    private readonly List<Task> _inFlight = [];
    private long _rowsWritten;
    private bool _committed;
    private bool _disposed;

    private RedisTableWriter(IDatabase db, RedisTableLayout layout, RedisPublishOptions options)
    {
        _db = db;
        Layout = layout;
        _options = options;
        _pending = new List<HashEntry>[layout.Blocks];
        for (int b = 0; b < _pending.Length; b++)
            _pending[b] = [];
    }

    /// <summary>The version being written (its <see cref="RedisTableLayout.Rows"/> is filled in by <see cref="CommitAsync"/>).</summary>
    public RedisTableLayout Layout { get; private set; }

    /// <summary>Rows passed to <see cref="WriteAsync"/> so far (an id written twice counts twice).</summary>
    public long RowsWritten => _rowsWritten;

    /// <summary>Allocates the next version of <paramref name="table"/> (INCR on its version counter) and returns a writer for it.</summary>
    /// <exception cref="ArgumentException">A bad table name, dims or option.</exception>
    /// <exception cref="RedisStoreException">Redis did not answer.</exception>
    /// <param name="redis">The connection.</param>
    /// <param name="table">The table's name in Redis.</param>
    /// <param name="dims">Floats per row.</param>
    /// <param name="numEmbeddings">When set, ids must lie in <c>[0, numEmbeddings)</c> and readers reject others before reading; null for any int64 id.</param>
    /// <param name="options">Layout and write options.</param>
    /// <param name="cancellationToken">Stops the call.</param>
    public static async Task<RedisTableWriter> BeginAsync(IConnectionMultiplexer redis, string table, int dims, long? numEmbeddings = null,
        RedisPublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        Guard.NotNull(Op, redis);
        RedisTableLayout.CheckTableName(Op, table);
        options ??= new RedisPublishOptions();
        options.Validate(Op);
        if (dims < 1 || dims > 65536)
            ThrowHelper.ArgumentOutOfRange(Op, nameof(dims), dims, $"dims {dims} is out of range; valid values are 1..65536");
        if (numEmbeddings is { } bound)
            Guard.NonNegative(Op, bound, nameof(numEmbeddings));
        IDatabase db = redis.GetDatabase();
        long version = await Run(db.StringIncrementAsync(RedisTableLayout.VersionCounterKey(table)), options.Timeout, "allocate a version", cancellationToken).ConfigureAwait(false);
        return new RedisTableWriter(db, new RedisTableLayout(table, version, options.Format, dims, options.Blocks, 0, numEmbeddings), options);
    }

    /// <summary>
    /// Publishes every row of <paramref name="rows"/> (ids <c>0 .. NumEmbeddings-1</c>) as a new version and flips to it.
    /// </summary>
    /// <param name="redis">The connection.</param>
    /// <param name="table">The table's name in Redis.</param>
    /// <param name="rows">Any in-process table (dense, quantized): each row is read as float32, then stored in <see cref="RedisPublishOptions.Format"/>.</param>
    /// <param name="options">Layout and write options.</param>
    /// <param name="progress">Receives the number of rows written so far.</param>
    /// <param name="cancellationToken">Stops the publish; the unpublished version is deleted.</param>
    /// <returns>The published layout.</returns>
    public static async Task<RedisTableLayout> PublishAsync(IConnectionMultiplexer redis, string table, IEmbeddingRows rows, RedisPublishOptions? options = null,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        Guard.NotNull(Op, rows);
        await using RedisTableWriter writer = await BeginAsync(redis, table, rows.Dims, rows.NumEmbeddings, options, cancellationToken).ConfigureAwait(false);
        const int chunk = 1024;
        int dims = rows.Dims;
        var ids = new long[chunk];
        var values = new float[chunk * dims];
        for (int start = 0; start < rows.NumEmbeddings; start += chunk)
        {
            int n = Math.Min(chunk, rows.NumEmbeddings - start);
            for (int i = 0; i < n; i++)
            {
                ids[i] = start + i;
                rows.ReadRow(start + i, values.AsSpan(i * dims, dims));
            }
            await writer.WriteAsync(ids.AsMemory(0, n), values.AsMemory(0, n * dims), cancellationToken).ConfigureAwait(false);
            progress?.Report(start + n);
        }
        return await writer.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes rows <c>rows[i·Dims .. (i+1)·Dims)</c> under <c>ids[i]</c> to the new version (checked first: lengths, finite values).</summary>
    /// <exception cref="ArgumentException">The lengths disagree or a value is NaN or infinite.</exception>
    /// <exception cref="RedisStoreException">Redis did not accept the writes in time.</exception>
    public async ValueTask WriteAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> rows, CancellationToken cancellationToken = default)
    {
        CheckOpen();
        int dims = Layout.Dims;
        Guard.Length(Op, rows.Length, (long)ids.Length * dims, $"ids.Length × Dims = {ids.Length} × {dims}");
        ReadOnlySpan<float> span = rows.Span;
        if (Layout.NumEmbeddings is { } bound)
        {
            ReadOnlySpan<long> check = ids.Span;
            for (int i = 0; i < check.Length; i++)
            {
                if ((ulong)check[i] >= (ulong)bound)
                    ThrowHelper.IndexOutOfRange(Op, nameof(ids), check[i], i, bound);
            }
        }
        for (int i = 0; i < span.Length; i++)
        {
            if (!float.IsFinite(span[i]))
                ThrowHelper.Argument(Op, nameof(rows), $"row of id {ids.Span[i / dims]} holds {span[i]} at element {i % dims}; only finite values are published");
        }
        byte[][] values = RowCodec.Encode(Layout.Format, span, ids.Length, dims);
        ReadOnlySpan<long> idSpan = ids.Span;
        var full = new List<int>();
        for (int i = 0; i < idSpan.Length; i++)
        {
            int block = Layout.BlockOf(idSpan[i]);
            _pending[block].Add(new HashEntry(idSpan[i], values[i]));
            if (_pending[block].Count == _options.RowsPerCommand)
                full.Add(block);
        }
        _rowsWritten += ids.Length;
        foreach (int block in full)
            await FlushAsync(block, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Finishes the version and makes it current: waits for every write, counts the rows (HLEN), flips the pointer
    /// (only to a newer version), and expires the replaced version after <see cref="RedisPublishOptions.OldVersionTtl"/>.
    /// </summary>
    /// <returns>The published layout, with its row count.</returns>
    /// <exception cref="RedisStoreException">Redis did not answer, or a newer version was published meanwhile.</exception>
    public async Task<RedisTableLayout> CommitAsync(CancellationToken cancellationToken = default)
    {
        CheckOpen();
        for (int b = 0; b < _pending.Length; b++)
            await FlushAsync(b, cancellationToken).ConfigureAwait(false);
        await DrainAsync(cancellationToken).ConfigureAwait(false);
        var lengths = new Task<long>[Layout.Blocks];
        for (int b = 0; b < lengths.Length; b++)
            lengths[b] = _db.HashLengthAsync(Layout.BlockKey(b));
        long[] counts = await Run(Task.WhenAll(lengths), _options.Timeout, "count the rows", cancellationToken).ConfigureAwait(false);
        Layout = new RedisTableLayout(Layout.Table, Layout.Version, Layout.Format, Layout.Dims, Layout.Blocks, counts.Sum(), Layout.NumEmbeddings);

        RedisKey pointer = RedisTableLayout.PointerKey(Layout.Table);
        RedisResult flip = await Run(_db.ScriptEvaluateAsync(FlipScript, [pointer], [Layout.Version, Layout.ToString()]), _options.Timeout, "flip the pointer", cancellationToken).ConfigureAwait(false);
        var reply = (RedisResult[])flip!;
        string previous = (string?)reply[1] ?? "";
        if ((long)reply[0] == 0)
            throw new RedisStoreException(ThrowHelper.Format(Op,
                $"table '{Layout.Table}' already has a newer version than {Layout.Version} ({pointer} = '{previous}'); this version was not published and its keys are deleted"));
        _committed = true;
        if (previous.Length > 0)
        {
            RedisTableLayout? old = null;
            try
            {
                old = RedisTableLayout.Parse(Layout.Table, previous);
            }
            catch (FormatException)
            {
                // A pointer this library did not write names no keys to expire.
            }
            if (old is not null && old.Version != Layout.Version)
                await ExpireAsync(old, _options.OldVersionTtl, cancellationToken).ConfigureAwait(false);
        }
        return Layout;
    }

    /// <summary>Deletes the version's keys if it was not committed (best effort), then releases the writer.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (_committed)
            return;
        try
        {
            await Task.WhenAll(_inFlight).WaitAsync(_options.Timeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Deleting below is best effort either way.
        }
        try
        {
            await ExpireAsync(Layout, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
        }
        catch (RedisStoreException)
        {
            // The cluster is unreachable: the unpublished keys stay until someone deletes emb:<table>:v<version>:*.
        }
    }

    private async Task ExpireAsync(RedisTableLayout layout, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var tasks = new Task[layout.Blocks];
        for (int b = 0; b < layout.Blocks; b++)
            tasks[b] = ttl == TimeSpan.Zero ? _db.KeyDeleteAsync(layout.BlockKey(b)) : _db.KeyExpireAsync(layout.BlockKey(b), ttl);
        await Run(Task.WhenAll(tasks).ContinueWith(_ => true, cancellationToken, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default),
            _options.Timeout, $"expire version {layout.Version}", cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask FlushAsync(int block, CancellationToken cancellationToken)
    {
        List<HashEntry> entries = _pending[block];
        if (entries.Count == 0)
            return;
        _inFlight.Add(_db.HashSetAsync(Layout.BlockKey(block), [.. entries]));
        entries.Clear();
        if (_inFlight.Count >= _options.MaxInFlight)
            await DrainAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        Task all = Task.WhenAll(_inFlight);
        await Run(all.ContinueWith(_ => true, cancellationToken, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default), _options.Timeout, "write rows", cancellationToken, all).ConfigureAwait(false);
        _inFlight.Clear();
    }

    private static async Task<T> Run<T>(Task<T> task, TimeSpan timeout, string what, CancellationToken cancellationToken, Task? source = null)
    {
        try
        {
            return await task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Exception cause = source?.Exception?.InnerException ?? e;
            throw new RedisStoreException(ThrowHelper.Format(Op,
                $"could not {what} within {timeout.TotalSeconds:0.#} s ({cause.GetType().Name}: {RedisServing.FirstLine(cause.Message)}); check that every master is up"), cause);
        }
    }

    private void CheckOpen()
    {
        if (_disposed)
            ThrowHelper.Disposed(Op, nameof(RedisTableWriter));
        if (_committed)
            ThrowHelper.InvalidOperation(Op, $"version {Layout.Version} of '{Layout.Table}' is already committed; begin a new writer for the next version");
    }
}
