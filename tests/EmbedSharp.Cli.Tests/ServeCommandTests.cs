using System.Net.Http.Json;
using System.Text.Json;
using EmbedSharp.Cli.Commands;
using EmbedSharp.Cli.Output;

namespace EmbedSharp.Cli.Tests;

public sealed class ServeCommandTests(CliFixture fx) : IClassFixture<CliFixture>
{
    [Fact]
    public void WithoutFilesOrRoot_SaysWhatToGive()
    {
        var (code, _, error) = CliFixture.Run("serve");
        Assert.Equal(1, code);
        Assert.Equal("error: [serve] give at least one vector file, or --root DIR", error.Trim());
    }

    [Fact]
    public void BadHostOrPortOrFile_AreOneLineErrors_AndAnOpenHostWarnsFirst()
    {
        var (code, _, error) = CliFixture.Run("serve", fx.Word2VecText, "--host", "example.com");
        Assert.Equal(1, code);
        Assert.StartsWith("error: [serve] --host 'example.com' is not an IP address", error.Trim());
        (code, _, error) = CliFixture.Run("serve", fx.Word2VecText, "--port", "70000");
        Assert.Equal(1, code);
        Assert.StartsWith("error: [serve] --port 70000 is not a TCP port", error.Trim());
        // The warning comes before anything is opened or bound; here the missing file then stops it.
        (code, _, error) = CliFixture.Run("serve", Path.Combine(fx.Dir, "missing.vec"), "--host", "0.0.0.0");
        Assert.Equal(1, code);
        var lines = error.Trim().Split('\n');
        Assert.StartsWith("warning: [serve] binding to 0.0.0.0", lines[0]);
        Assert.StartsWith("error: [serve] no such file", lines[1]);
    }

    [Fact]
    public async Task Serves_OnLoopback_UntilCancelled()
    {
        var console = new BufferConsole();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var started = new TaskCompletionSource<string>();
        var run = ServeCommand.RunAsync(console, new ServeCommand.Settings([fx.Word2VecText], 0, "127.0.0.1", null), stop.Token, started.SetResult);
        string url = await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("http://127.0.0.1:", url);
        using var http = new HttpClient();
        var tables = await http.GetFromJsonAsync<JsonElement>(url + "/api/tables");
        Assert.Equal("tiny.txt", tables.GetProperty("tables")[0].GetProperty("name").GetString());
        var neighbours = await http.GetFromJsonAsync<JsonElement>(url + "/api/neighbors?table=tiny.txt&word=king&k=2");
        Assert.All(neighbours.GetProperty("neighbors").EnumerateArray(), n => Assert.Contains(n.GetProperty("word").GetString(), new[] { "queen", "prince" }));
        stop.Cancel();
        Assert.Equal(0, await run);
        Assert.Contains("serving 1 table(s) at http://127.0.0.1:", console.OutText);
    }
}
