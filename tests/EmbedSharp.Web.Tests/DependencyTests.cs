namespace EmbedSharp.Web.Tests;

public sealed class DependencyTests
{
    [Fact]
    public void Web_DependsOnCoreFormatsAndSearchOnly_AmongOurAssemblies()
    {
        var ours = typeof(ExplorerHost).Assembly.GetReferencedAssemblies()
            .Select(a => a.Name!)
            .Where(n => n.StartsWith("EmbedSharp", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(["EmbedSharp", "EmbedSharp.Formats", "EmbedSharp.Search"], ours);
    }
}
