namespace EmbedSharp.Web.Catalog;

/// <summary>
/// Turns a table name from a request into a file under the root, or refuses it: no absolute paths,
/// no <c>..</c>, no backslashes or control characters, and no symbolic link (file or folder on the
/// way) whose target lies outside the root.
/// </summary>
internal sealed class RootPaths
{
    private readonly string _root;

    public RootPaths(string root)
    {
        string full = Path.GetFullPath(root);
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException($"[serve] --root {root} is not a directory");
        // The root itself may be a link: compare against where it really is.
        _root = Path.TrimEndingDirectorySeparator(new DirectoryInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full);
    }

    public string Root => _root;

    /// <summary>The full path of <paramref name="name"/> under the root; throws <see cref="ArgumentException"/> when it escapes or does not exist.</summary>
    public string Resolve(string op, string name)
    {
        if (name.Length == 0 || name.Length > 512)
            throw new ArgumentException($"[{op}] table name must be 1–512 characters");
        if (Path.IsPathRooted(name) || name.StartsWith('~'))
            throw new ArgumentException($"[{op}] table '{name}' is an absolute path; name a file relative to the served root");
        if (name.Any(c => char.IsControl(c) || c == '\\'))
            throw new ArgumentException($"[{op}] table name holds a control character or backslash; use '/' between folders");
        var parts = name.Split('/');
        if (parts.Any(p => p is ".." or "." or ""))
            throw new ArgumentException($"[{op}] table '{name}' leaves or wanders the served root ('..', '.' or an empty segment); name a file under it");
        string current = _root;
        foreach (var part in parts)
        {
            current = Path.Combine(current, part);
            var info = new FileInfo(current);
            if (info.LinkTarget is not null)
            {
                var target = info.ResolveLinkTarget(returnFinalTarget: true);
                if (target is null || !Inside(target.FullName))
                    throw new ArgumentException($"[{op}] table '{name}' is a symbolic link out of the served root; refused");
            }
        }
        string full = Path.GetFullPath(current);
        if (!Inside(full))
            throw new ArgumentException($"[{op}] table '{name}' is outside the served root");
        if (!File.Exists(full) && !(Directory.Exists(full) && TableSources.IsCheckpoint(full)))
            throw new ArgumentException($"[{op}] no table '{name}' under the served root; GET /api/tables lists them");
        return full;
    }

    /// <summary>Files under the root a request may name (relative, '/'-separated), at most <paramref name="max"/>, links out of the root left out.</summary>
    public IReadOnlyList<string> List(int max)
    {
        var found = new List<string>();
        var options = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 4, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden };
        // MLX checkpoint folders are served whole; the files inside them are not listed one by one.
        var checkpoints = Directory.EnumerateDirectories(_root, "*", options).Where(TableSources.IsCheckpoint)
            .Select(d => Path.GetRelativePath(_root, d).Replace(Path.DirectorySeparatorChar, '/')).ToList();
        foreach (var entry in checkpoints.Concat(Directory.EnumerateFiles(_root, "*", options)
                     .Select(f => Path.GetRelativePath(_root, f).Replace(Path.DirectorySeparatorChar, '/'))
                     .Where(f => !checkpoints.Any(c => f.StartsWith(c + "/", StringComparison.Ordinal)))))
        {
            string relative = entry;
            if (relative.EndsWith(".vocab", StringComparison.Ordinal) || relative.EndsWith(".json", StringComparison.Ordinal)
                || relative.EndsWith(".words", StringComparison.Ordinal))
                continue;
            try
            {
                Resolve("tables", relative);
            }
            catch (ArgumentException)
            {
                continue;
            }
            found.Add(relative);
            if (found.Count >= max)
                break;
        }
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    private bool Inside(string path)
    {
        string full = Path.GetFullPath(path);
        return full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }
}
