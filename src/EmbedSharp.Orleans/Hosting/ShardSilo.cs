using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using StackExchange.Redis;

namespace EmbedSharp.Orleans.Hosting;

/// <summary>Where a silo process joins and listens (see <see cref="ShardSilo"/>).</summary>
public sealed record ShardSiloSettings
{
    /// <summary>The Redis server that holds the cluster's membership table, as <c>host:port</c> (StackExchange.Redis syntax).</summary>
    public required string Redis { get; init; }

    /// <summary>The cluster's id: silos and clients with the same id and Redis form one cluster.</summary>
    public string ClusterId { get; init; } = "embedsharp";

    /// <summary>The service id (stable across cluster restarts).</summary>
    public string ServiceId { get; init; } = "embedsharp";

    /// <summary>
    /// The address this silo binds to and advertises to the others. Loopback by default: give the machine's
    /// address to let silos and clients on other machines reach it.
    /// </summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>Silo-to-silo port.</summary>
    public int SiloPort { get; init; } = 11111;

    /// <summary>Port clients connect to.</summary>
    public int GatewayPort { get; init; } = 30000;

    /// <summary>Shard configuration (snapshot folder, lease, failure detection).</summary>
    public ShardSiloOptions Shards { get; init; } = new();

    /// <summary>Orleans' log level written to standard error (Warning by default).</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Warning;
}

/// <summary>Runs a silo process that hosts embedding shards, with its membership in Redis.</summary>
public static class ShardSilo
{
    /// <summary>
    /// Checks <paramref name="settings"/> and builds the silo's host (not started). Start it with
    /// <c>StartAsync</c>; <see cref="RunAsync"/> does that and waits for cancellation.
    /// </summary>
    /// <exception cref="ArgumentException">A port, the Redis address or an option is invalid.</exception>
    public static IHost Build(ShardSiloSettings settings)
    {
        const string op = "orleans.silo";
        ArgumentNullException.ThrowIfNull(settings);
        CheckPort(op, settings.SiloPort, "silo port");
        CheckPort(op, settings.GatewayPort, "gateway port");
        if (settings.SiloPort == settings.GatewayPort)
            throw new ArgumentException($"[{op}] the silo port and the gateway port are both {settings.SiloPort}; give two different ports");
        ConfigurationOptions redis = ParseRedis(op, settings.Redis);
        CheckId(op, settings.ClusterId, "cluster id");
        CheckId(op, settings.ServiceId, "service id");

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";   // UTC, to the millisecond: a failure's timeline can be read from the logs of several silos
            o.UseUtcTimestamp = true;
        });
        builder.Logging.SetMinimumLevel(settings.LogLevel);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = settings.ServiceId;
            });
            silo.UseRedisClustering(o => o.ConfigurationOptions = redis);
            silo.ConfigureEndpoints(settings.Address, settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: false);
            silo.UseEmbedSharpShards(o =>
            {
                o.SnapshotRoot = settings.Shards.SnapshotRoot;
                o.RangeLeaseDuration = settings.Shards.RangeLeaseDuration;
                o.ProbeTimeout = settings.Shards.ProbeTimeout;
                o.NumMissedProbesLimit = settings.Shards.NumMissedProbesLimit;
                o.NumVotesForDeathDeclaration = settings.Shards.NumVotesForDeathDeclaration;
                o.ActivationTimeout = settings.Shards.ActivationTimeout;
            });
        });
        return builder.Build();
    }

    /// <summary>Starts a silo, calls <paramref name="started"/> once it has joined, and runs until <paramref name="cancellationToken"/> fires.</summary>
    public static async Task RunAsync(ShardSiloSettings settings, Action? started, CancellationToken cancellationToken)
    {
        using IHost host = Build(settings);
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        started?.Invoke();
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(stop.Token).ConfigureAwait(false);
    }

    internal static ConfigurationOptions ParseRedis(string op, string redis)
    {
        if (string.IsNullOrWhiteSpace(redis))
            throw new ArgumentException($"[{op}] give the Redis server that holds the membership table, e.g. 127.0.0.1:6379");
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(redis);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"[{op}] Redis address '{redis}' is not valid ({ex.Message}); e.g. 127.0.0.1:6379", ex);
        }
        if (options.EndPoints.Count == 0)
            throw new ArgumentException($"[{op}] Redis address '{redis}' names no server; e.g. 127.0.0.1:6379");
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = Math.Min(options.ConnectTimeout, 5000);
        return options;
    }

    private static void CheckPort(string op, int port, string what)
    {
        if (port is < 1 or > 65535)
            throw new ArgumentOutOfRangeException(what, port, $"[{op}] {what} {port} is not a TCP port (1..65535)");
    }

    private static void CheckId(string op, string id, string what)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Length > 128 || id.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new ArgumentException($"[{op}] {what} '{id}' must be 1–128 characters without spaces");
    }
}
