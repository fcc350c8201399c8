namespace EmbedSharp.Docs.Tests;

/// <summary>
/// Each docs page run top to bottom as a reader would: its embedsharp commands in order (in-process,
/// exactly as written, in a folder that holds data/), then its C# block, in the same folder.
/// </summary>
public sealed class WalkthroughTests
{
    [Fact]
    public void TrainAndQuery_Runs() => Walk("train-and-query", DocsExamples.TrainAndQuery);

    [Fact]
    public void QuantizeForMlx_Runs() => Walk("quantize-for-mlx", DocsExamples.QuantizeForMlx);

    [Fact]
    public void LoadPretrained_Runs() => Walk("load-pretrained", DocsExamples.LoadPretrained);

    [Fact]
    public void LayerFromCSharp_Runs() => Walk("layer-from-csharp", DocsExamples.LayerFromCSharp);

    private static void Walk(string page, Action example)
    {
        using var folder = new WorkFolder();
        foreach (string[] args in Pages.Commands(Pages.Doc(page)))
        {
            var (code, output, error) = Pages.Run(args);
            Assert.True(code == 0, $"docs/{page}.md: `embedsharp {string.Join(' ', args)}` exited {code}: {error}{output}");
            Assert.Equal("", error);
        }
        example();
    }
}
