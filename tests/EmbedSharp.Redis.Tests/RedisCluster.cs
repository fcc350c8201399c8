using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace EmbedSharp.Redis.Tests;

/// <summary>
/// A fact that needs Debian's <c>redis-server</c>: skipped with the reason printed when it is not on PATH, unless
/// CI=true, where it runs (and fails) so CI never silently skips the cluster tests.
/// </summary>
public sealed class RedisFactAttribute : FactAttribute
{
    public RedisFactAttribute()
    {
        if (RedisCluster.ServerPath is null && Environment.GetEnvironmentVariable("CI") != "true")
            Skip = "redis-server is not on PATH (apt-get install -y redis-server; .ci/run installs it); the Redis Cluster tests need it";
    }
}

/// <summary>
/// A real Redis Cluster on loopback, started by the test itself: one <c>redis-server</c> process per node on free
/// ports, each in its own temp folder, with no persistence; the cluster is created with
/// <c>redis-cli --cluster create</c>. Every server is killed by its own PID on dispose (and at process exit).
/// </summary>
public sealed class RedisCluster : IDisposable
{
    public static readonly string? ServerPath = Find("redis-server");
    private static readonly string? CliPath = Find("redis-cli");

    private readonly List<Node> _nodes = [];
    private readonly string _dir;
    private readonly Action<string> _log;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _disposed;

    public sealed record Node(int Port, Process Process)
    {
        public string EndPoint => $"127.0.0.1:{Port}";
    }

    private RedisCluster(string dir, Action<string> log)
    {
        _dir = dir;
        _log = log;
        AppDomain.CurrentDomain.ProcessExit += OnExit;
    }

    public IReadOnlyList<Node> Nodes => _nodes;

    public string Endpoints => string.Join(",", _nodes.Select(n => n.EndPoint));

    /// <summary>Seconds since the cluster was started (for printed timelines).</summary>
    public double Elapsed => _clock.Elapsed.TotalSeconds;

    /// <summary>Starts <paramref name="masters"/> masters (and as many replicas each) and waits until every node reports cluster_state:ok.</summary>
    public static RedisCluster Start(int masters, int replicasPerMaster, bool requireFullCoverage, Action<string>? log = null)
    {
        if (ServerPath is null || CliPath is null)
            throw new InvalidOperationException("redis-server and redis-cli must be on PATH (apt-get install -y redis-server)");
        // A port found free can be taken by another process before redis-server binds it: try again on new ports.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return TryStart(masters, replicasPerMaster, requireFullCoverage, log);
            }
            catch (PortTakenException) when (attempt < 3)
            {
            }
        }
    }

    private static RedisCluster TryStart(int masters, int replicasPerMaster, bool requireFullCoverage, Action<string>? log)
    {
        string dir = Directory.CreateTempSubdirectory("embedsharp-redis-").FullName;
        var cluster = new RedisCluster(dir, log ?? (_ => { }));
        try
        {
            int count = masters * (1 + replicasPerMaster);
            foreach (int port in FreePorts(count))
                cluster.StartServer(port, requireFullCoverage);
            foreach (Node node in cluster._nodes)
                cluster.WaitForPing(node);
            string create = cluster.Cli($"--cluster create {string.Join(' ', cluster._nodes.Select(n => n.EndPoint))} --cluster-replicas {replicasPerMaster} --cluster-yes", 30);
            if (!create.Contains("All 16384 slots covered", StringComparison.Ordinal))
                throw new InvalidOperationException("redis-cli --cluster create did not cover all slots:\n" + create);
            cluster.WaitUntilOk(cluster._nodes, count, TimeSpan.FromSeconds(20));
            cluster._log($"[{cluster.Elapsed:0.00} s] cluster up: {masters} masters, {replicasPerMaster} replica(s) each, ports {string.Join(",", cluster._nodes.Select(n => n.Port))}");
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    private sealed class PortTakenException(string message) : Exception(message);

    /// <summary>SIGKILL of one server (no shutdown, no chance to save or hand off).</summary>
    public void Kill(Node node)
    {
        node.Process.Kill();
        node.Process.WaitForExit(5000);
        _log($"[{Elapsed:0.00} s] SIGKILL {node.EndPoint} (pid {node.Process.Id})");
    }

    /// <summary>The node that serves <paramref name="slot"/> as master now, as <paramref name="ask"/> (or the first live node) sees it in CLUSTER NODES.</summary>
    public Node MasterOf(int slot, Node? ask = null) =>
        SlotMasters(ask)[slot] ?? throw new InvalidOperationException($"no live master serves slot {slot}");

    /// <summary>The master of every slot (null where none), from one CLUSTER NODES.</summary>
    public Node?[] SlotMasters(Node? ask = null)
    {
        var masters = new Node?[16384];
        Node source = ask ?? _nodes.First(n => !n.Process.HasExited);
        foreach (string line in Cli($"-p {source.Port} cluster nodes", 5).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges...>
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 9 || !f[2].Contains("master", StringComparison.Ordinal) || f[2].Contains("fail", StringComparison.Ordinal))
                continue;
            foreach (string range in f[8..])
            {
                if (range.StartsWith('['))
                    continue; // a slot being migrated
                string[] ends = range.Split('-');
                int lo = int.Parse(ends[0], System.Globalization.CultureInfo.InvariantCulture);
                int hi = ends.Length > 1 ? int.Parse(ends[1], System.Globalization.CultureInfo.InvariantCulture) : lo;
                int port = int.Parse(f[1][(f[1].LastIndexOf(':') + 1)..f[1].IndexOf('@')], System.Globalization.CultureInfo.InvariantCulture);
                Node owner = _nodes.Single(n => n.Port == port);
                for (int slot = lo; slot <= hi; slot++)
                    masters[slot] = owner;
            }
        }
        return masters;
    }

    /// <summary>Waits until every live master's replicas acknowledge its writes (WAIT 1 on each master).</summary>
    public void WaitForReplicas()
    {
        foreach (Node node in _nodes.Where(n => !n.Process.HasExited))
        {
            if (Cli($"-p {node.Port} role", 5).StartsWith("master", StringComparison.Ordinal))
            {
                string acked = Cli($"-p {node.Port} wait 1 5000", 10).Trim();
                if (acked != "1")
                    throw new TimeoutException($"the replica of {node.EndPoint} did not acknowledge its writes within 5 s (WAIT returned {acked})");
            }
        }
    }

    /// <summary><c>CLUSTER INFO</c> of a node, as redis-cli prints it.</summary>
    public string Info(Node node) => Cli($"-p {node.Port} cluster info", 5);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        AppDomain.CurrentDomain.ProcessExit -= OnExit;
        KillAll();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void OnExit(object? sender, EventArgs e) => KillAll();

    private void KillAll()
    {
        foreach (Node node in _nodes)
        {
            try
            {
                if (!node.Process.HasExited)
                {
                    node.Process.Kill();
                    node.Process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
            }
            node.Process.Dispose();
        }
    }

    private void StartServer(int port, bool requireFullCoverage)
    {
        string nodeDir = Path.Combine(_dir, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(nodeDir);
        // redis-server itself is the started process (no shell in between), so Process.Id is the server's PID.
        var psi = new ProcessStartInfo(ServerPath!) { UseShellExecute = false, WorkingDirectory = nodeDir };
        foreach (string arg in new[]
        {
            "--port", $"{port}", "--bind", "127.0.0.1", "--protected-mode", "yes", "--daemonize", "no",
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
            "--cluster-require-full-coverage", requireFullCoverage ? "yes" : "no",
            "--save", "", "--appendonly", "no", "--dir", nodeDir, "--logfile", Path.Combine(nodeDir, "redis.log"), "--loglevel", "notice",
        })
            psi.ArgumentList.Add(arg);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start redis-server");
        _nodes.Add(new Node(port, process));
    }

    private void WaitForPing(Node node)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (node.Process.HasExited)
            {
                string log = ReadLog(node);
                if (log.Contains("Address already in use", StringComparison.Ordinal))
                    throw new PortTakenException($"port {node.Port} was taken: {log}");
                throw new InvalidOperationException($"redis-server on port {node.Port} exited: {log}");
            }
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, node.Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(20);
            }
        }
        throw new TimeoutException($"redis-server on port {node.Port} did not accept connections within 10 s: {ReadLog(node)}");
    }

    /// <summary>Waits until every given live node reports cluster_state:ok and knows <paramref name="known"/> nodes.</summary>
    public void WaitUntilOk(IEnumerable<Node> nodes, int known, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        foreach (Node node in nodes)
        {
            while (true)
            {
                string info = Info(node);
                if (info.Contains("cluster_state:ok", StringComparison.Ordinal) && info.Contains($"cluster_known_nodes:{known}", StringComparison.Ordinal))
                    break;
                if (deadline.Elapsed > timeout)
                    throw new TimeoutException($"node {node.EndPoint} not ok after {timeout.TotalSeconds} s:\n{info}");
                Thread.Sleep(50);
            }
        }
    }

    private string ReadLog(Node node)
    {
        string path = Path.Combine(_dir, node.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "redis.log");
        return File.Exists(path) ? File.ReadAllText(path) : "(no log)";
    }

    private string Cli(string args, int timeoutSeconds)
    {
        var psi = new ProcessStartInfo(CliPath!, args) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill();
            throw new TimeoutException($"redis-cli {args} did not finish within {timeoutSeconds} s");
        }
        return stdout.Result + stderr.Result;
    }

    private static readonly HashSet<int> Handed = [];

    /// <summary>Ports p with p and p + 10000 (the cluster bus) free on loopback, never handed to another cluster of this process.</summary>
    private static List<int> FreePorts(int count)
    {
        var ports = new List<int>();
        lock (Handed)
        {
            int start = Random.Shared.Next(10000);
            for (int i = 0; i < 10000 && ports.Count < count; i++)
            {
                int p = 20000 + (start + i) % 10000;
                if (!Handed.Contains(p) && IsFree(p) && IsFree(p + 10000))
                    ports.Add(p);
            }
            Handed.UnionWith(ports);
        }
        return ports;
    }

    private static bool IsFree(int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string? Find(string name) => (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(d => Path.Combine(d, name))
        .FirstOrDefault(File.Exists);
}
