using System.Net.Sockets;
using System.Text;

namespace EmbedSharp.Orleans.Tests.Harness;

/// <summary>
/// A throwaway <c>redis-server --port FREE --save ""</c> plus silo processes started with
/// <c>embedsharp store silo</c>: everything is killed by its process id when the cluster is disposed.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private readonly List<ChildProcess> _children = [];

    private ProcessCluster(string snapshotRoot) => SnapshotRoot = snapshotRoot;

    public ChildProcess Redis { get; private set; } = null!;

    public int RedisPort { get; private set; }

    public string RedisAddress => $"127.0.0.1:{RedisPort}";

    public string ClusterId { get; } = "t" + Guid.NewGuid().ToString("N")[..8];

    public string SnapshotRoot { get; }

    public List<ChildProcess> Silos { get; } = [];

    public static async Task<ProcessCluster> StartRedisAsync()
    {
        string root = Path.Combine(Path.GetTempPath(), "embedsharp-orleans-proc", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var cluster = new ProcessCluster(root);
        try
        {
            string? server = FindOnPath("redis-server")
                ?? throw new InvalidOperationException("redis-server is not installed (apt-get install redis-server; .ci/run installs it)");
            cluster.RedisPort = ChildProcess.FreePort();
            cluster.Redis = await ChildProcess.StartAsync("redis", server,
                ["--port", cluster.RedisPort.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", root],
                "", TimeSpan.FromSeconds(10));
            cluster._children.Add(cluster.Redis);
            await WaitForPong(cluster.RedisPort, TimeSpan.FromSeconds(10));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts a silo process on free ports and waits for its "silo ready" line.</summary>
    public async Task<ChildProcess> StartSiloAsync(string name)
    {
        int port = ChildProcess.FreePort(), gateway = ChildProcess.FreePort();
        var silo = await ChildProcess.StartAsync(name, ChildProcess.Dotnet,
            [ChildProcess.CliDll, "store", "silo", "--redis", RedisAddress, "--cluster", ClusterId, "--port", port.ToString(), "--gateway-port", gateway.ToString(),
             "--snapshots", SnapshotRoot, "--verbose"], "silo ready", TimeSpan.FromSeconds(60));
        lock (_children)
        {
            _children.Add(silo);
            Silos.Add(silo);
        }
        return silo;
    }

    private static async Task WaitForPong(int port, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", port);
                var stream = tcp.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray());
                var buffer = new byte[16];
                int n = await stream.ReadAsync(buffer);
                if (Encoding.ASCII.GetString(buffer, 0, n).StartsWith("+PONG", StringComparison.Ordinal))
                    return;
            }
            catch (SocketException) when (clock.Elapsed < timeout)
            {
            }
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"redis on port {port} did not answer PING within {timeout.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    public ValueTask DisposeAsync()
    {
        foreach (ChildProcess child in Enumerable.Reverse(_children))
            child.Dispose();
        try
        {
            if (Directory.Exists(SnapshotRoot))
                Directory.Delete(SnapshotRoot, recursive: true);
        }
        catch (IOException)
        {
        }
        return ValueTask.CompletedTask;
    }
}
