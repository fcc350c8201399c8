using System.Text.Json;
using EmbedSharp.Cli.Output;

namespace EmbedSharp.Cli.Tests;

public sealed class BenchCommandTests
{
    [Fact]
    public void Json_HasOneObjectPerWorkload_WithTheDocumentedFields()
    {
        var console = new BufferConsole();
        int code = EmbedSharpCli.Run(["bench", "--json", "--seconds", "0.05", "--rows", "5000"], console);
        Assert.Equal(0, code);
        string[] lines = console.OutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, lines.Length);
        foreach (string line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var o = doc.RootElement;
            foreach (string field in new[] { "workload", "throughput", "unit", "bytes_per_second", "limit_bytes_per_second", "fraction_of_limit" })
                Assert.True(o.TryGetProperty(field, out _), $"{field} missing in {line}");
            Assert.True(o.GetProperty("throughput").GetDouble() > 0);
        }
        Assert.Contains("\"workload\":\"gather_fp32\"", console.OutText);
    }

    [Fact]
    public void Table_ListsEveryWorkload()
    {
        var console = new BufferConsole();
        Assert.Equal(0, EmbedSharpCli.Run(["bench", "--seconds", "0.05", "--rows", "3000"], console));
        foreach (string w in new[] { "stream_read", "gather_fp32", "bag_sum_32", "gather_affine4_g64", "sparse_adam_step", "gemv_50257x768" })
            Assert.Contains(w, console.OutText);
    }

    [Theory]
    [InlineData("--seconds", "0")]
    [InlineData("--rows", "0")]
    public void BadValues_AreOneLineErrors(string option, string value)
    {
        var console = new BufferConsole();
        Assert.Equal(EmbedSharpCli.UsageError, EmbedSharpCli.Run(["bench", option, value], console));
        Assert.StartsWith($"error: [bench] {option}", console.ErrorText);
    }
}
