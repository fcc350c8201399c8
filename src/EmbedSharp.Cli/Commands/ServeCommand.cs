using System.CommandLine;
using System.Net;
using EmbedSharp.Cli.Output;
using EmbedSharp.Web;
using EmbedSharp.Web.Catalog;
using Microsoft.AspNetCore.Builder;

namespace EmbedSharp.Cli.Commands;

/// <summary><c>embedsharp serve FILE...</c>: the web explorer over one or more tables.</summary>
internal static class ServeCommand
{
    internal sealed record Settings(string[] Files, int Port, string Host, string? Root);

    public static Command Create(IConsole console)
    {
        var files = new Argument<string[]>("file") { Description = "Vector files to serve (any format we read), MLX checkpoint folders (config.json + safetensors, quantized or not) or index files from `embedsharp index build` (with their .words), each under its file name.", Arity = ArgumentArity.ZeroOrMore };
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one).", DefaultValueFactory = _ => 5080 };
        var host = new Option<string>("--host") { Description = "Address to bind. Anything but loopback exposes the tables to the network (a warning is printed).", DefaultValueFactory = _ => "127.0.0.1" };
        var root = new Option<string?>("--root") { Description = "A folder whose files the page may also open by relative path; nothing outside it (or named here) is ever read." };
        var cmd = new Command("serve", "A web explorer for tables: 2-D maps (PCA, t-SNE), neighbours, analogies, float32 against 8-/4-bit, table facts.\n\nExamples:\n  embedsharp serve vectors.vec                  then open http://127.0.0.1:5080/\n  embedsharp serve a.vec b.bin --port 8080\n  embedsharp serve --root ./embeddings          every file under ./embeddings, opened on first use\n  embedsharp serve out/q4                       an MLX checkpoint (from embedsharp quantize): the quantized table\n  embedsharp serve words.hnsw                   neighbours through the HNSW index (approximate, re-ranked exactly)\n  embedsharp serve vectors.vec --host 0.0.0.0   reachable from other machines (read-only, no authentication)")
        {
            files, port, host, root,
        };
        cmd.SetAction((r, ct) => RunAsync(console, new Settings(r.GetValue(files) ?? [], r.GetValue(port), r.GetValue(host)!, r.GetValue(root)), ct));
        return cmd;
    }

    /// <summary>Opens the tables, binds, prints the address and serves until <paramref name="cancellationToken"/> fires.</summary>
    public static async Task<int> RunAsync(IConsole console, Settings s, CancellationToken cancellationToken, Action<string>? started = null)
    {
        const string op = "serve";
        if (s.Files.Length == 0 && s.Root is null)
            throw new ArgumentException($"[{op}] give at least one vector file, or --root DIR");
        if (s.Port is < 0 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(s.Port), s.Port, $"[{op}] --port {s.Port} is not a TCP port (0..65535)");
        bool loopback;
        if (string.Equals(s.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            loopback = true;
        else if (IPAddress.TryParse(s.Host, out var address))
            loopback = IPAddress.IsLoopback(address);
        else
            throw new ArgumentException($"[{op}] --host '{s.Host}' is not an IP address or localhost (127.0.0.1 keeps the explorer on this machine)");
        if (!loopback)
            console.Error.WriteLine($"warning: [{op}] binding to {s.Host}: anyone who can reach this machine can read the served tables (read-only, no authentication)");

        if (s.Files.Length > 0)
            console.Out.WriteLine($"opening {s.Files.Length} file(s) (large tables take a while: each is read whole, and its unit-norm copy made)…");
        using var catalog = new TableCatalog(new ExplorerOptions { Files = s.Files, Root = s.Root, WarmUp = true });
        string hostPart = s.Host.Contains(':') ? $"[{s.Host}]" : s.Host;
        var app = ExplorerHost.Build(["--urls", $"http://{hostPart}:{s.Port}"], null, catalog);
        await using (app)
        {
            await app.StartAsync(cancellationToken);
            string url = app.Urls.First();
            console.Out.WriteLine($"serving {catalog.Loaded.Count} table(s){(s.Root is null ? "" : $" and files under {s.Root}")} at {url}/ ; Ctrl-C stops");
            started?.Invoke(url);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
            await app.StopAsync(CancellationToken.None);
        }
        return EmbedSharpCli.Ok;
    }
}
