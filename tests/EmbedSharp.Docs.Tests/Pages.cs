using EmbedSharp.Cli;
using EmbedSharp.Cli.Output;

// The walk-throughs change the working directory (their commands use relative paths, as a reader
// types them), so the tests of this assembly run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace EmbedSharp.Docs.Tests;

/// <summary>The repository's Markdown pages, the command lines and C# blocks in them, and a way to run those commands.</summary>
internal static class Pages
{
    public static string Root { get; } = FindRoot();

    /// <summary>The docs pages that are walk-throughs (every page in docs/ except the architecture notes).</summary>
    public static readonly string[] Walkthroughs = ["train-and-query", "quantize-for-mlx", "load-pretrained", "layer-from-csharp"];

    public static string Read(string relativePath) => File.ReadAllText(Path.Combine(Root, relativePath)).ReplaceLineEndings("\n");

    public static string Doc(string name) => Read(Path.Combine("docs", name + ".md"));

    /// <summary>The lines of every fenced block of <paramref name="language"/> in <paramref name="markdown"/>, block by block.</summary>
    public static List<string[]> Blocks(string markdown, string language)
    {
        var blocks = new List<string[]>();
        string fence = "```" + language + "\n";
        for (int at = markdown.IndexOf(fence, StringComparison.Ordinal); at >= 0; at = markdown.IndexOf(fence, at, StringComparison.Ordinal))
        {
            int start = at + fence.Length;
            int end = markdown.IndexOf("```", start, StringComparison.Ordinal);
            blocks.Add(markdown[start..end].TrimEnd('\n').Split('\n'));
            at = end + 3;
        }
        return blocks;
    }

    /// <summary>The embedsharp command lines of a page's sh blocks, without the program name.</summary>
    public static List<string[]> Commands(string markdown) =>
        Blocks(markdown, "sh").SelectMany(b => b).Where(l => l.StartsWith("embedsharp ", StringComparison.Ordinal))
            .Select(l => Split(l["embedsharp ".Length..])).ToList();

    /// <summary>Splits a command line as a POSIX shell would for the quoting our pages use (single and double quotes).</summary>
    public static string[] Split(string line)
    {
        var args = new List<string>();
        var current = new System.Text.StringBuilder();
        bool inArg = false;
        char quote = '\0';
        foreach (char c in line)
        {
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else current.Append(c);
            }
            else if (c is '\'' or '"') { quote = c; inArg = true; }
            else if (char.IsWhiteSpace(c))
            {
                if (inArg) { args.Add(current.ToString()); current.Clear(); inArg = false; }
            }
            else { current.Append(c); inArg = true; }
        }
        if (quote != '\0')
            throw new FormatException("unbalanced quote in: " + line);
        if (inArg)
            args.Add(current.ToString());
        return [.. args];
    }

    /// <summary>Runs the tool in-process, as <c>embedsharp ARGS</c> typed at a shell.</summary>
    public static (int Code, string Out, string Error) Run(params string[] args)
    {
        var console = new BufferConsole();
        int code = EmbedSharpCli.Run(args, console);
        return (code, console.OutText, console.ErrorText);
    }

    /// <summary>The lines of C# between <c>// docs-begin NAME</c> and <c>// docs-end NAME</c> in a test source file.</summary>
    public static string[] Region(string sourceFile, string name)
    {
        string text = Read(Path.Combine("tests", "EmbedSharp.Docs.Tests", sourceFile));
        int b = text.IndexOf("// docs-begin " + name + "\n", StringComparison.Ordinal);
        int e = text.IndexOf("// docs-end " + name + "\n", StringComparison.Ordinal);
        Assert.True(b >= 0 && e > b, $"no docs-begin/docs-end region '{name}' in {sourceFile}");
        return Normalise(text[b..e].Split('\n').Skip(1));
    }

    /// <summary>Code lines to compare: trimmed, blank lines and using directives dropped (a test file has its usings at the top).</summary>
    public static string[] Normalise(IEnumerable<string> lines) =>
        lines.Select(l => l.Trim()).Where(l => l.Length > 0 && !(l.StartsWith("using ", StringComparison.Ordinal) && l.EndsWith(';') && !l.Contains('='))).ToArray();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EmbedSharp.slnx")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("cannot find the repository root (EmbedSharp.slnx) above " + AppContext.BaseDirectory);
    }
}

/// <summary>
/// A fresh folder that stands in for the repository root while a walk-through runs: the working
/// directory, with <c>data/</c> linked to the repository's, so a page's relative paths resolve as
/// they do for a reader.
/// </summary>
internal sealed class WorkFolder : IDisposable
{
    private readonly string _previous = Environment.CurrentDirectory;

    public WorkFolder()
    {
        Path = Directory.CreateTempSubdirectory("es-docs-").FullName;
        Directory.CreateSymbolicLink(System.IO.Path.Combine(Path, "data"), System.IO.Path.Combine(Pages.Root, "data"));
        Environment.CurrentDirectory = Path;
    }

    public string Path { get; }

    public void Dispose()
    {
        Environment.CurrentDirectory = _previous;
        Directory.Delete(Path, recursive: true);
    }
}
