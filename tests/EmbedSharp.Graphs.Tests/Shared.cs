namespace EmbedSharp.Graphs.Tests;

/// <summary>Where the shared data sets are: <c>../shared/data</c> beside the repository, or <c>$EMBEDSHARP_DATA_DIR</c>.</summary>
internal static class Shared
{
    private static readonly Lazy<string> Root = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EmbedSharp.slnx")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("cannot find the repository root (EmbedSharp.slnx) above " + AppContext.BaseDirectory);
    });

    public static string Data =>
        Environment.GetEnvironmentVariable("EMBEDSHARP_DATA_DIR") is { Length: > 0 } env
            ? env
            : Path.GetFullPath(Path.Combine(Root.Value, "..", "shared", "data"));
}
