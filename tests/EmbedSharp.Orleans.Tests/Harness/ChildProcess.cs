using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;

namespace EmbedSharp.Orleans.Tests.Harness;

/// <summary>
/// A process this test started: output kept for messages, killed by its own id (SIGKILL) on <see cref="Kill"/>
/// and always on <see cref="Dispose"/>.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _readyPrefix;

    private ChildProcess(string name, string file, IEnumerable<string> args, string readyPrefix)
    {
        Name = name;
        _readyPrefix = readyPrefix;
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_gcServer"] = "0";
        _process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException($"{Name} exited before it was ready:\n{Output}"));
        if (!_process.Start())
            throw new InvalidOperationException($"could not start {file}");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public bool HasExited => _process.HasExited;

    private void OnLine(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
        if (line.StartsWith(_readyPrefix, StringComparison.Ordinal))
            _ready.TrySetResult();
    }

    /// <summary>Starts a process and waits until it prints a line starting with <paramref name="readyPrefix"/>.</summary>
    public static async Task<ChildProcess> StartAsync(string name, string file, IEnumerable<string> args, string readyPrefix, TimeSpan timeout)
    {
        var child = new ChildProcess(name, file, args, readyPrefix);
        try
        {
            await child._ready.Task.WaitAsync(timeout);
            return child;
        }
        catch (TimeoutException)
        {
            child.Dispose();
            throw new TimeoutException($"{name} was not ready within {timeout.TotalSeconds} s:\n{child.Output}");
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: the process ends at once, without running any shutdown code.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: false);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }

    /// <summary>A TCP port nobody listens on now (the OS picks it).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The CLI build the test project depends on (it starts silos with <c>embedsharp store silo</c>).</summary>
    public static string CliDll
    {
        get
        {
            string dir = typeof(ChildProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "CliDirectory").Value!;
            string dll = Path.GetFullPath(Path.Combine(dir, "EmbedSharp.Cli.dll"));
            if (!File.Exists(dll))
                throw new FileNotFoundException($"the CLI is not built at {dll}; build tests/EmbedSharp.Orleans.Tests (it builds the CLI)", dll);
            return dll;
        }
    }

    public static string Dotnet => Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
}
