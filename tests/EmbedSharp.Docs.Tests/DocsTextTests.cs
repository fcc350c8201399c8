namespace EmbedSharp.Docs.Tests;

/// <summary>What the pages say is what the tests run, and the pages are reachable from the README.</summary>
public sealed class DocsTextTests
{
    [Theory]
    [InlineData("train-and-query")]
    [InlineData("quantize-for-mlx")]
    [InlineData("load-pretrained")]
    [InlineData("layer-from-csharp")]
    public void CSharpBlock_IsTheCodeTheTestRuns(string page)
    {
        var blocks = Pages.Blocks(Pages.Doc(page), "csharp");
        Assert.Single(blocks);
        Assert.Equal(Pages.Normalise(blocks[0]), Pages.Region("DocsExamples.cs", page));
    }

    [Fact]
    public void EveryDocsPage_IsAWalkthroughAndLinkedFromTheReadme()
    {
        string readme = Pages.Read("README.md");
        var pages = Directory.GetFiles(Path.Combine(Pages.Root, "docs"), "*.md").Select(f => Path.GetFileNameWithoutExtension(f)!)
            .Where(n => n != "ARCHITECTURE").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(Pages.Walkthroughs.Order(StringComparer.Ordinal), pages);
        foreach (string page in pages)
            Assert.Contains($"(docs/{page}.md)", readme);
    }

    [Fact]
    public void EveryDocsCommand_NamesACommandTheToolHas()
    {
        var commands = ReadmeTests.ToolCommands();
        foreach (string page in Pages.Walkthroughs)
        {
            foreach (string[] args in Pages.Commands(Pages.Doc(page)))
                Assert.Contains(args[0], commands);
        }
    }

    [Fact]
    public void Split_HandlesQuotes()
    {
        Assert.Equal(["a", "b c", "d'e", ""], Pages.Split("a 'b c' \"d'e\" ''"));
        Assert.Throws<FormatException>(() => Pages.Split("a 'b"));
    }
}
