using System.Diagnostics;
using EmbedSharp.Diagnostics;
using StackExchange.Redis;

namespace EmbedSharp.Redis;

/// <summary>The pointer key (which version is current), block keys, and what a failed read reports.</summary>
public sealed partial class RedisServingStore
{
    /// <summary>Reads the pointer key: the layout of the current version (a gather then reads that version).</summary>
    /// <exception cref="RedisStoreException">The table has no published version, or Redis did not answer.</exception>
    public async ValueTask<RedisTableLayout> CurrentLayoutAsync(CancellationToken cancellationToken = default)
    {
        const string op = "redis.layout";
        RedisValue value;
        try
        {
            value = await _db.StringGetAsync(_pointer, _readFlags).WaitAsync(Options.OperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            RequestReconfigure();
            throw new RedisStoreException(ThrowHelper.Format(op,
                $"could not read {_pointer} ({e.GetType().Name}: {RedisServing.FirstLine(e.Message)}); check that the cluster is up"), e);
        }
        return Adopt(value);
    }

    /// <summary>Makes a pointer value the layout in use (parsing it only when it changed).</summary>
    private RedisTableLayout Adopt(RedisValue value)
    {
        const string op = "redis.layout";
        if (value.IsNull)
            throw new RedisStoreException(ThrowHelper.Format(op,
                $"table '{Table}' has no published version ({_pointer} does not exist); publish it with RedisTableWriter first"));
        string text = value!;
        lock (_lock)
        {
            if (_layout is not null && text == _layoutText)
            {
                _layoutReadAt = Stopwatch.GetTimestamp();
                return _layout;
            }
        }
        RedisTableLayout layout;
        try
        {
            layout = RedisTableLayout.Parse(Table, text);
        }
        catch (FormatException e)
        {
            throw new RedisStoreException(e.Message, e);
        }
        lock (_lock)
        {
            _layout = layout;
            _layoutText = text;
            _layoutReadAt = Stopwatch.GetTimestamp();
            _blockKeys = null;
        }
        return layout;
    }

    /// <summary>
    /// The last layout read (null before the first), whether it is younger than
    /// <see cref="RedisServingOptions.VersionCheckInterval"/> (then the pointer is not read), and whether the
    /// pointer's master failed a moment ago (then the batch is served from the last version seen, marked stale,
    /// and the pointer is tried again after a second or the interval, whichever is longer).
    /// </summary>
    private (RedisTableLayout? Known, bool Fresh, bool PointerDown) LayoutState()
    {
        lock (_lock)
        {
            if (_layout is null)
                return (null, false, false);
            bool fresh = Options.VersionCheckInterval > TimeSpan.Zero && Stopwatch.GetElapsedTime(_layoutReadAt) < Options.VersionCheckInterval;
            return (_layout, fresh, Stopwatch.GetTimestamp() < _pointerDownUntil);
        }
    }

    /// <summary>The pointer read beside a batch: its layout, or null when the pointer's master did not answer.</summary>
    private async ValueTask<RedisTableLayout?> ResolvePointerAsync(Task<RedisValue> pointer, CancellationToken cancellationToken)
    {
        RedisValue value;
        try
        {
            value = await pointer.WaitAsync(Options.OperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or TimeoutException)
        {
            RequestReconfigure();
            lock (_lock)
                _pointerDownUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency * Math.Max(1, (long)Options.VersionCheckInterval.TotalSeconds);
            return null;
        }
        return Adopt(value);
    }

    /// <summary>The block keys of <paramref name="layout"/>, formatted once per version.</summary>
    private RedisKey[] BlockKeys(RedisTableLayout layout)
    {
        lock (_lock)
        {
            if (_blockKeys is { } cached && cached.Version == layout.Version && cached.Keys.Length == layout.Blocks)
                return cached.Keys;
        }
        var keys = new RedisKey[layout.Blocks];
        for (int b = 0; b < keys.Length; b++)
            keys[b] = layout.BlockKey(b);
        lock (_lock)
            _blockKeys = (layout.Version, keys);
        return keys;
    }

    private async Task WaitAsync(Request request, RedisTableLayout layout, CancellationToken cancellationToken)
    {
        if (request.Blocks.Length == 0)
            return;
        Task all = Task.WhenAll(request.Replies);
        try
        {
            await all.WaitAsync(Options.OperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw Failure(request, layout, e);
        }
    }

    private RedisStoreException Failure(Request request, RedisTableLayout layout, Exception first)
    {
        RequestReconfigure();
        var slots = new SortedSet<int>();
        int failed = 0, pending = 0;
        Exception cause = first;
        for (int i = 0; i < request.Replies.Length; i++)
        {
            Task t = request.Replies[i];
            if (t.IsFaulted)
            {
                failed++;
                slots.Add(_redis.HashSlot(layout.BlockKey(request.Blocks[i])));
                cause = t.Exception!.InnerException ?? cause;
            }
            else if (!t.IsCompleted)
            {
                pending++;
                slots.Add(_redis.HashSlot(layout.BlockKey(request.Blocks[i])));
            }
        }
        string which = slots.Count == 0 ? "" : $" (slots {string.Join(", ", slots.Take(8))}{(slots.Count > 8 ? ", …" : "")})";
        string state = pending > 0 ? $"{failed} failed and {pending} did not answer within {Options.OperationTimeout.TotalMilliseconds:0} ms" : $"{failed} failed";
        string advice = cause.Message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal)
            ? "the cluster refuses every read because a master is down and cluster-require-full-coverage is yes; set cluster-require-full-coverage no (and give each master a replica) so the other slots stay readable"
            : "the master serving those slots is down or unreachable; the other slots still answer (with cluster-require-full-coverage no), and its replica takes over after failover";
        return new RedisStoreException(ThrowHelper.Format("redis.gather",
            $"{state} of {request.Blocks.Length} block reads of table '{Table}' version {layout.Version}{which}: {cause.GetType().Name}: {RedisServing.FirstLine(cause.Message)}; {advice}"), cause);
    }

    /// <summary>After a connection error, asks the client to reread the cluster's topology (at most once a second), so a promoted replica is found.</summary>
    private void RequestReconfigure()
    {
        long now = Environment.TickCount64;
        long last = Interlocked.Read(ref _lastReconfigure);
        if (now - last < 1000 || Interlocked.CompareExchange(ref _lastReconfigure, now, last) != last)
            return;
        _ = _redis.ConfigureAsync().ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }
}
