using System.Text.RegularExpressions;

namespace EmbedSharp.Docs.Tests;

/// <summary>
/// The README's commands are the ones that run: its shell lines are run verbatim by .ci/run (the
/// quick start there is timed and held under 60 s), its tool table lists exactly the commands
/// `embedsharp --help` lists, and every command has help that names the tool embedsharp.
/// </summary>
public sealed partial class ReadmeTests
{
    [Fact]
    public void EveryShellLineOfTheReadme_IsRunVerbatimByCi()
    {
        string readme = Pages.Read("README.md");
        string ci = Pages.Read(Path.Combine(".ci", "run"));
        var lines = Pages.Blocks(readme, "sh").SelectMany(b => b).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        Assert.Contains("dotnet run --project src/EmbedSharp.Cli -- quickstart", lines);
        Assert.Contains("dotnet test EmbedSharp.slnx", lines);
        // Whole words: `dotnet run ... -c Release -- quickstart` would not count as the README's command.
        foreach (string line in lines)
            Assert.True(Regex.IsMatch(ci, @"(^|\s)" + Regex.Escape(line) + @"(\s|$)", RegexOptions.Multiline), $".ci/run does not run the README's `{line}`");
    }

    [Fact]
    public void ReadmeToolTable_ListsExactlyTheToolsCommands()
    {
        string readme = Pages.Read("README.md");
        int start = readme.IndexOf("| command | does |", StringComparison.Ordinal);
        Assert.True(start >= 0, "README has no tool table ('| command | does |')");
        int end = readme.IndexOf("\n\n", start, StringComparison.Ordinal);
        var listed = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string row in readme[start..end].Split('\n').Skip(2))
        {
            string first = row.Split('|', StringSplitOptions.TrimEntries)[1];
            foreach (Match m in CodeSpan().Matches(first))
                listed.Add(m.Groups[1].Value.Split(' ')[0]);
        }
        Assert.Equal(ToolCommands(), listed);
    }

    [Fact]
    public void EveryHelpText_NamesTheToolEmbedsharp()
    {
        var (code, help, _) = Pages.Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("Usage:\n  embedsharp [command] [options]", help.ReplaceLineEndings("\n"));
        foreach (string command in ToolCommands())
        {
            var (c, text, error) = Pages.Run(command, "--help");
            Assert.Equal(0, c);
            Assert.Equal("", error);
            Assert.Contains($"  embedsharp {command}", text);
            Assert.Contains("Example", text);
            Assert.DoesNotContain("EmbedSharp.Cli", text);
            Assert.DoesNotContain("testhost", text);
        }
        // A malformed command line gets the parser's usage text, which names the tool the same way.
        var (bad, output, err) = Pages.Run("train");
        Assert.NotEqual(0, bad);
        Assert.Contains("embedsharp train <corpus> [options]", output + err);
    }

    [Fact]
    public void TrainThreads_DefaultsToTheMachinesCores()
    {
        var (_, help, _) = Pages.Run("train", "--help");
        Assert.Matches($@"--threads <threads>\s+Worker threads \(default: this machine's core count\)\. \[default: {Environment.ProcessorCount}\]", help);
        Assert.Contains("--threads` defaults to the machine's cores", Pages.Read("README.md"));
    }

    /// <summary>The commands `embedsharp --help` lists.</summary>
    internal static SortedSet<string> ToolCommands()
    {
        var (_, help, _) = Pages.Run("--help");
        string text = help.ReplaceLineEndings("\n");
        int at = text.IndexOf("Commands:\n", StringComparison.Ordinal);
        Assert.True(at >= 0);
        return new SortedSet<string>(text[(at + "Commands:\n".Length)..].Split('\n')
            .Where(l => l.StartsWith("  ", StringComparison.Ordinal) && l.Trim().Length > 0)
            .Select(l => l.Trim().Split(' ')[0]), StringComparer.Ordinal);
    }

    [GeneratedRegex("`([a-z][a-z-]*(?: [^`]*)?)`")]
    private static partial Regex CodeSpan();
}
