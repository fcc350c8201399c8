namespace EmbedSharp.Tests;

/// <summary>The folder holding EmbedSharp.slnx, found by walking up from the test binary.</summary>
public static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "EmbedSharp.slnx")))
            dir = dir.Parent;
        return dir?.FullName
            ?? throw new DirectoryNotFoundException("cannot find the repository root (EmbedSharp.slnx) above " + AppContext.BaseDirectory);
    }
}
