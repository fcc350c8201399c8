using System.Text.RegularExpressions;

namespace EmbedSharp.Tests.Architecture;

/// <summary>
/// The one-way dependency rules of ../shared/STYLE.md inside Core, checked on the source: each
/// folder (= namespace) may only use the namespaces listed for it. Diagnostics (Guard,
/// ThrowHelper) is the base layer every folder may use.
/// </summary>
public sealed partial class DependencyRulesTests
{
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Diagnostics"] = [],
        ["Numerics"] = ["Diagnostics"],
        ["Tables"] = ["Diagnostics", "Numerics"],
        ["Quantization"] = ["Diagnostics", "Numerics", "Tables"],
        ["Positional"] = ["Diagnostics", "Numerics", "Tables"],
        ["Vocabularies"] = ["Diagnostics", "Numerics", "Tables"],
        ["Initializers"] = ["Diagnostics", "Numerics"],
        ["Sparse"] = ["Diagnostics", "Numerics", "Tables"],
        ["Optimizers"] = ["Diagnostics", "Numerics", "Tables", "Sparse"],
        ["Search"] = ["Diagnostics", "Numerics", "Tables", "Quantization"],
        // Issue 23: the store seam (router, snapshots, in-process sharded store, dynamic tables).
        ["Stores"] = ["Diagnostics", "Numerics", "Tables", "Sparse", "Optimizers", "Initializers"],
    };

    private static string CoreSource => Path.Combine(RepositoryRoot.Path, "src", "EmbedSharp");

    [GeneratedRegex(@"^\s*using\s+(?:static\s+)?EmbedSharp\.(\w+)", RegexOptions.Multiline)]
    private static partial Regex UsingCore();

    [GeneratedRegex(@"\bEmbedSharp\.(\w+)\.")]
    private static partial Regex QualifiedCore();

    [Fact]
    public void CoreFolders_UseOnlyTheNamespacesBelowThem()
    {
        var violations = new List<string>();
        foreach (string folder in Directory.GetDirectories(CoreSource).Select(Path.GetFileName).OfType<string>())
        {
            if (folder is "bin" or "obj")
                continue;
            Assert.True(Allowed.ContainsKey(folder), $"src/EmbedSharp/{folder} has no dependency rule; add it to {nameof(DependencyRulesTests)} and docs/ARCHITECTURE.md");
            foreach (string file in Directory.GetFiles(Path.Combine(CoreSource, folder), "*.cs", SearchOption.AllDirectories))
            {
                string text = File.ReadAllText(file);
                var used = UsingCore().Matches(text).Select(m => m.Groups[1].Value)
                    .Concat(QualifiedCore().Matches(text).Select(m => m.Groups[1].Value))
                    .Distinct();
                foreach (string ns in used)
                {
                    if (ns != folder && Allowed.ContainsKey(ns) && !Allowed[folder].Contains(ns))
                        violations.Add($"{Path.GetRelativePath(CoreSource, file)} uses EmbedSharp.{ns}");
                }
            }
        }
        Assert.Empty(violations);
    }

    [Fact]
    public void Core_DoesNoFileIo()
    {
        var offenders = Directory.GetFiles(CoreSource, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Where(f => Regex.IsMatch(File.ReadAllText(f), @"\b(File|Directory|FileStream|MemoryMappedFile)\.\w+\("))
            .ToArray();
        Assert.Empty(offenders);
    }

    // EmbedSharp.Graphs (issue 21): depends on Core only, and, like Training, does no file IO of its own.
    [Fact]
    public void Graphs_DependsOnCoreOnly_AndDoesNoFileIo()
    {
        string dir = Path.Combine(RepositoryRoot.Path, "src", "EmbedSharp.Graphs");
        var references = Regex.Matches(File.ReadAllText(Path.Combine(dir, "EmbedSharp.Graphs.csproj")), @"(?:ProjectReference|PackageReference) Include=""([^""]+)""")
            .Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(["../EmbedSharp/EmbedSharp.csproj"], references);
        var offenders = Directory.GetFiles(dir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Where(f => Regex.IsMatch(File.ReadAllText(f), @"\b(File|Directory|FileStream|MemoryMappedFile)\.\w+\(") || File.ReadAllText(f).Contains("EmbedSharp.Formats", StringComparison.Ordinal))
            .ToArray();
        Assert.Empty(offenders);
    }

    // EmbedSharp.Graphs.Neural (issue 21, message passing): the one place Graphs and Models meet below the CLI; Core,
    // Graphs and Models only, no file IO, and neither Graphs nor Models references it or each other.
    [Fact]
    public void GraphsNeural_DependsOnCoreGraphsAndModelsOnly_AndDoesNoFileIo()
    {
        string dir = Path.Combine(RepositoryRoot.Path, "src", "EmbedSharp.Graphs.Neural");
        var references = Regex.Matches(File.ReadAllText(Path.Combine(dir, "EmbedSharp.Graphs.Neural.csproj")), @"(?:ProjectReference|PackageReference) Include=""([^""]+)""")
            .Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["../EmbedSharp.Graphs/EmbedSharp.Graphs.csproj", "../EmbedSharp.Models/EmbedSharp.Models.csproj", "../EmbedSharp/EmbedSharp.csproj"], references);
        var offenders = Directory.GetFiles(dir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Where(f => Regex.IsMatch(File.ReadAllText(f), @"\b(File|Directory|FileStream|MemoryMappedFile)\.\w+\(") || File.ReadAllText(f).Contains("EmbedSharp.Formats", StringComparison.Ordinal))
            .ToArray();
        Assert.Empty(offenders);
        string models = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "src", "EmbedSharp.Models", "EmbedSharp.Models.csproj"));
        Assert.DoesNotContain("EmbedSharp.Graphs", models, StringComparison.Ordinal);
    }

    // EmbedSharp.Orleans (issue 23, distributed training store): core plus the Orleans and Redis-clustering packages only;
    // the only src project that references Orleans, and only the CLI references it (`embedsharp store silo|train`).
    [Fact]
    public void Orleans_DependsOnCoreAndOrleansOnly_AndOnlyTheCliUsesIt()
    {
        string dir = Path.Combine(RepositoryRoot.Path, "src", "EmbedSharp.Orleans");
        var references = Regex.Matches(File.ReadAllText(Path.Combine(dir, "EmbedSharp.Orleans.csproj")), @"(?:ProjectReference|PackageReference) Include=""([^""]+)""")
            .Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["../EmbedSharp/EmbedSharp.csproj", "Microsoft.Orleans.Client", "Microsoft.Orleans.Clustering.Redis", "Microsoft.Orleans.Sdk",
            "Microsoft.Orleans.Server", "StackExchange.Redis"], references);
        foreach (string project in Directory.GetFiles(Path.Combine(RepositoryRoot.Path, "src"), "*.csproj", SearchOption.AllDirectories))
        {
            string name = Path.GetFileNameWithoutExtension(project);
            if (name is "EmbedSharp.Orleans" or "EmbedSharp.Cli")
                continue;
            string text = File.ReadAllText(project);
            Assert.DoesNotContain("Microsoft.Orleans", text, StringComparison.Ordinal);
            Assert.DoesNotContain("EmbedSharp.Orleans", text, StringComparison.Ordinal);
        }
    }

    // EmbedSharp.Redis (issue 23, serving): Core and StackExchange.Redis only, and no file IO.
    [Fact]
    public void Redis_DependsOnCoreAndStackExchangeRedisOnly_AndDoesNoFileIo()
    {
        string dir = Path.Combine(RepositoryRoot.Path, "src", "EmbedSharp.Redis");
        var references = Regex.Matches(File.ReadAllText(Path.Combine(dir, "EmbedSharp.Redis.csproj")), @"(?:ProjectReference|PackageReference) Include=""([^""]+)""")
            .Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["../EmbedSharp/EmbedSharp.csproj", "StackExchange.Redis"], references);
        var offenders = Directory.GetFiles(dir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Where(f => Regex.IsMatch(File.ReadAllText(f), @"\b(File|Directory|FileStream|MemoryMappedFile)\.\w+\("))
            .ToArray();
        Assert.Empty(offenders);
    }
}
