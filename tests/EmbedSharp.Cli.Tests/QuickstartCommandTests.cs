using System.Globalization;
using System.Text.RegularExpressions;
using EmbedSharp.Cli.Output;

namespace EmbedSharp.Cli.Tests;

public sealed class QuickstartCommandTests
{
    [Fact]
    public void Quickstart_TrainsAndRanksTheQueryGroupFirst()
    {
        var console = new BufferConsole();
        int code = EmbedSharpCli.Run(["quickstart", "--steps", "300", "--seed", "42"], console);
        Assert.Equal(0, code);
        string text = console.OutText;
        Assert.Contains("shape [2, 3, 32]", text);
        double[] losses = Regex.Matches(text, @"mean loss (\d+\.\d+)").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.True(losses.Length >= 3);
        Assert.True(losses[^1] < losses[0] - 0.15, $"loss did not fall: {string.Join(", ", losses)}");
        int inGroup = int.Parse(Regex.Match(text, @"— (\d) of 6 in id 1's group").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(inGroup >= 5, text);
    }

    [Fact]
    public void BadOptionValue_IsOneReadableLine_AndExitCode1()
    {
        var console = new BufferConsole();
        int code = EmbedSharpCli.Run(["quickstart", "--steps", "0"], console);
        Assert.Equal(EmbedSharpCli.UsageError, code);
        Assert.Equal("error: [quickstart] --steps must be ≥ 1\n", console.ErrorText);
        Assert.DoesNotContain("   at ", console.ErrorText);
    }

    [Fact]
    public void UnknownCommand_FailsWithUsage()
    {
        var console = new BufferConsole();
        Assert.NotEqual(0, EmbedSharpCli.Run(["no-such-command"], console));
    }
}
