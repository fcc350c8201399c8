using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace EmbedSharp.Orleans.Hosting;

/// <summary>How a client finds and talks to a shard cluster (see <see cref="ShardClusterClient.ConnectAsync"/>).</summary>
public sealed record ShardClientSettings
{
    /// <summary>The Redis server holding the cluster's membership table, as <c>host:port</c>.</summary>
    public required string Redis { get; init; }

    /// <summary>The cluster's id (the silos' <see cref="ShardSiloSettings.ClusterId"/>).</summary>
    public string ClusterId { get; init; } = "embedsharp";

    /// <summary>The service id (the silos' <see cref="ShardSiloSettings.ServiceId"/>).</summary>
    public string ServiceId { get; init; } = "embedsharp";

    /// <summary>How long <see cref="ShardClusterClient.ConnectAsync"/> keeps trying before it fails with a clear error.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long one call may wait for its answer (Orleans' default is 30 s). A call to a shard of a crashed
    /// silo fails after this long at most; the store retries within its own budget.
    /// </summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>A connected Orleans client; disposing it closes the connection.</summary>
public sealed class ShardClusterClient : IAsyncDisposable
{
    private readonly IHost _host;

    private ShardClusterClient(IHost host)
    {
        _host = host;
        Client = host.Services.GetRequiredService<IClusterClient>();
    }

    /// <summary>The Orleans client (pass it to <see cref="OrleansEmbeddingStore"/>).</summary>
    public IClusterClient Client { get; }

    /// <summary>
    /// Connects to the cluster whose membership lives in <see cref="ShardClientSettings.Redis"/>, retrying until
    /// <see cref="ShardClientSettings.ConnectTimeout"/>.
    /// </summary>
    /// <exception cref="TimeoutException">No silo answered in time (Redis down, wrong cluster id, no silo running).</exception>
    /// <exception cref="ArgumentException">The settings are invalid.</exception>
    public static async Task<ShardClusterClient> ConnectAsync(ShardClientSettings settings, CancellationToken cancellationToken = default)
    {
        const string op = "orleans.connect";
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.ConnectTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(settings), settings.ConnectTimeout, $"[{op}] ConnectTimeout must be positive");
        if (settings.ResponseTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(settings), settings.ResponseTimeout, $"[{op}] ResponseTimeout must be positive");
        var redis = ShardSilo.ParseRedis(op, settings.Redis);
        var deadline = Stopwatch.StartNew();
        Exception? last = null;

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = settings.ServiceId;
            });
            client.UseRedisClustering(o => o.ConfigurationOptions = redis);
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = settings.ResponseTimeout);
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1));
            client.UseConnectionRetryFilter(async (ex, ct) =>
            {
                last = ex;
                if (deadline.Elapsed >= settings.ConnectTimeout)
                    return false;
                await Task.Delay(TimeSpan.FromMilliseconds(250), ct).ConfigureAwait(false);
                return true;
            });
        });
        IHost host = builder.Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.ConnectTimeout + TimeSpan.FromSeconds(2));
        try
        {
            await host.StartAsync(timeout.Token).ConfigureAwait(false);
            return new ShardClusterClient(host);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            host.Dispose();
            Exception cause = last ?? ex;
            throw new TimeoutException(
                $"[{op}] could not reach cluster '{settings.ClusterId}' through Redis {settings.Redis} (gave up after {deadline.Elapsed.TotalSeconds:0.0} s; " +
                $"{cause.GetType().Name}: {Short(cause.Message)}); check that Redis is up and that a silo runs (embedsharp store silo --redis {settings.Redis})", ex);
        }
    }

    /// <summary>The first line of <paramref name="text"/>, cut to 160 characters (Redis' messages carry a full status dump).</summary>
    private static string Short(string text)
    {
        int nl = text.IndexOf('\n');
        string line = (nl < 0 ? text : text[..nl]).TrimEnd('\r');
        return line.Length <= 160 ? line : line[..157] + "...";
    }

    /// <summary>Closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _host.StopAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _host.Dispose();
    }
}
