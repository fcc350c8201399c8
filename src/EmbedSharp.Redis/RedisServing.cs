using EmbedSharp.Diagnostics;
using StackExchange.Redis;

namespace EmbedSharp.Redis;

/// <summary>Connects to Redis (a cluster or one server) with settings that fail fast instead of queueing.</summary>
public static class RedisServing
{
    /// <summary>
    /// The client settings this library recommends for serving: connect and command timeouts of
    /// <paramref name="timeout"/>, no queueing of commands while a node is disconnected
    /// (<see cref="BacklogPolicy.FailFast"/>), so reads of a dead master's slots fail at once with a clear error
    /// while the other slots keep answering.
    /// </summary>
    /// <param name="endpoints">Comma-separated <c>host:port</c> list (any nodes of a cluster), or a full StackExchange.Redis configuration string.</param>
    /// <param name="timeout">Connect and per-command timeout; default 2 s.</param>
    public static ConfigurationOptions Configuration(string endpoints, TimeSpan? timeout = null)
    {
        const string op = "redis.connect";
        Guard.NotNull(op, endpoints);
        int ms = (int)(timeout ?? TimeSpan.FromSeconds(2)).TotalMilliseconds;
        if (ms < 1)
            ThrowHelper.ArgumentOutOfRange(op, nameof(timeout), timeout, "timeout must be at least 1 ms");
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(endpoints);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException(ThrowHelper.Format(op, $"'{endpoints}' is not a Redis endpoint list ({e.Message}); expected host:port[,host:port...]"), nameof(endpoints), e);
        }
        if (options.EndPoints.Count == 0)
            ThrowHelper.Argument(op, nameof(endpoints), $"'{endpoints}' names no endpoint; expected host:port[,host:port...]");
        options.ConnectTimeout = ms;
        options.AsyncTimeout = ms;
        options.SyncTimeout = ms;
        options.ConnectRetry = 1;
        options.AbortOnConnectFail = true;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        return options;
    }

    /// <summary>Connects with <see cref="Configuration"/>'s settings.</summary>
    /// <exception cref="RedisStoreException">No endpoint answered within the timeout.</exception>
    public static Task<ConnectionMultiplexer> ConnectAsync(string endpoints, TimeSpan? timeout = null) =>
        ConnectAsync(Configuration(endpoints, timeout));

    /// <summary>Connects; an unreachable cluster is a <see cref="RedisStoreException"/> within about the connect timeout, not a hang.</summary>
    /// <exception cref="RedisStoreException">No endpoint answered within the timeout.</exception>
    public static async Task<ConnectionMultiplexer> ConnectAsync(ConfigurationOptions configuration)
    {
        const string op = "redis.connect";
        Guard.NotNull(op, configuration);
        string where = string.Join(",", configuration.EndPoints.Select(e => e.ToString()));
        var bound = TimeSpan.FromMilliseconds(configuration.ConnectTimeout * (configuration.ConnectRetry + 1) + 2000);
        Task<ConnectionMultiplexer> connect = ConnectionMultiplexer.ConnectAsync(configuration);
        try
        {
            return await connect.WaitAsync(bound).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _ = connect.ContinueWith(t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            throw new RedisStoreException(ThrowHelper.Format(op,
                $"could not reach Redis at {where} within {configuration.ConnectTimeout} ms ({e.GetType().Name}: {FirstLine(e.Message)}); check that the servers run and the endpoints are right"), e);
        }
    }

    internal static string FirstLine(string message)
    {
        int nl = message.IndexOfAny(['\r', '\n']);
        string line = nl < 0 ? message : message[..nl];
        return line.Length > 300 ? line[..300] + "…" : line;
    }
}
