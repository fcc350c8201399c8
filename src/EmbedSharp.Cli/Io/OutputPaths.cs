namespace EmbedSharp.Cli.Io;

/// <summary>Output files a command writes: their folder is created, as a user expects of a CLI.</summary>
internal static class OutputPaths
{
    public static string Prepare(string path)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new ArgumentException($"{path} is a directory; give a file name (e.g. {Path.Combine(path, "vectors.bin")})");
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return full;
    }
}
