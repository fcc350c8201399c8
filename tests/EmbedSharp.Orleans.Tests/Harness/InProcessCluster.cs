using EmbedSharp.Orleans.Hosting;
using Orleans.Configuration;
using Orleans.TestingHost;

namespace EmbedSharp.Orleans.Tests.Harness;

/// <summary>Two silos in this process (Orleans' in-memory transport) configured with UseEmbedSharpShards, and a client.</summary>
public sealed class InProcessCluster : IAsyncLifetime
{
    public string SnapshotRoot { get; } = Path.Combine(Path.GetTempPath(), "embedsharp-orleans-tests", Guid.NewGuid().ToString("N"));

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(SnapshotRoot);
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) => silo.UseEmbedSharpShards(o => o.SnapshotRoot = SnapshotRoot));
        builder.ConfigureClient(client => client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5)));
        Cluster = builder.Build();
        using var deploy = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Cluster.DeployAsync(deploy.Token);
    }

    public async Task DisposeAsync()
    {
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await Cluster.StopAllSilosAsync(stop.Token);
        }
        finally
        {
            await Cluster.DisposeAsync();
            if (Directory.Exists(SnapshotRoot))
                Directory.Delete(SnapshotRoot, recursive: true);
        }
    }
}
