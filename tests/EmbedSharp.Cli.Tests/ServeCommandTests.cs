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

    [Fact]
    public async Task Serves_AnMlx4BitCheckpointFolder_ShowingItsPacking()
    {
        string dir = Path.Combine(fx.Dir, "serve-mlx-" + Guid.NewGuid().ToString("N"));
        var r = new EmbedSharp.Numerics.SeededRandom(5);
        using var table = new EmbedSharp.Tables.EmbeddingTable(40, 64);
        var row = new float[64];
        for (int i = 0; i < 40; i++)
        {
            for (int d = 0; d < 64; d++)
                row[d] = (float)r.NextNormal() + (i % 2 == 0 ? 3f : -3f) * (d % 2);
            table.WriteRow(i, row);
        }
        new EmbedSharp.Formats.Mlx.MlxCheckpointWriter().AddQuantized("model.embed_tokens", EmbedSharp.Quantization.QuantizedTable.Quantize(table, 64, 4)).Save(dir);
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), Enumerable.Range(0, 40).Select(i => $"t{i}"));
        var console = new BufferConsole();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var started = new TaskCompletionSource<string>();
        var run = ServeCommand.RunAsync(console, new ServeCommand.Settings([dir], 0, "127.0.0.1", null), stop.Token, started.SetResult);
        string url = await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using var http = new HttpClient();
        string name = Path.GetFileName(dir);
        var facts = await http.GetFromJsonAsync<JsonElement>($"{url}/api/tables?table={name}");
        Assert.Equal("mlx checkpoint", facts.GetProperty("table").GetProperty("format").GetString());
        Assert.Contains("MLX affine 4-bit, group size 64", facts.GetProperty("table").GetProperty("stored").GetString());
        var neighbours = await http.GetFromJsonAsync<JsonElement>($"{url}/api/neighbors?table={name}&word=t0&k=5");
        // Even rows lean one way, odd rows the other: t0's neighbours are even.
        Assert.All(neighbours.GetProperty("neighbors").EnumerateArray(), n => Assert.Equal(0, int.Parse(n.GetProperty("word").GetString()![1..], System.Globalization.CultureInfo.InvariantCulture) % 2));
        stop.Cancel();
        Assert.Equal(0, await run);
    }

    [Fact]
    public void AFolderThatIsNoCheckpoint_IsAOneLineError()
    {
        string dir = Path.Combine(fx.Dir, "serve-empty-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var (code, _, error) = CliFixture.Run("serve", dir);
        Assert.Equal(1, code);
        Assert.StartsWith("error: [", error.Trim());
        Assert.Contains("no model.safetensors", error);
        Assert.Single(error.Trim().Split('\n'));
    }
}
