namespace EmbedSharp.Models.Tests;

/// <summary>The repository root, found by walking up from the test binary to EmbedSharp.slnx.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "EmbedSharp.slnx")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("EmbedSharp.slnx not found above the test binary");
    }
}
