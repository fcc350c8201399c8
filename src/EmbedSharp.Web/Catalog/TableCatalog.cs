using System.Collections.Concurrent;
using EmbedSharp.Formats;

namespace EmbedSharp.Web.Catalog;

/// <summary>
/// The tables the explorer may read: the files named at start (opened at once, served under their
/// file names) and, with a root, files under it opened on first use. Nothing else is ever opened.
/// </summary>
public sealed class TableCatalog : IDisposable
{
    private readonly Dictionary<string, ExplorerTable> _named = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<ExplorerTable>> _underRoot = new(StringComparer.Ordinal);
    private readonly RootPaths? _root;

    /// <summary>Opens every file of <paramref name="options"/>; the first that fails throws with its name.</summary>
    /// <exception cref="ArgumentException">A file is missing, unreadable as vectors, or has no words.</exception>
    public TableCatalog(ExplorerOptions options)
    {
        Options = options;
        _root = options.Root is null ? null : new RootPaths(options.Root);
        try
        {
            foreach (var path in options.Files)
            {
                string baseName = Path.GetFileName(Path.TrimEndingDirectorySeparator(path));
                string name = baseName;
                for (int n = 2; _named.ContainsKey(name); n++)
                    name = $"{baseName} ({n})";
                _named.Add(name, ExplorerTable.Open(name, path));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The options the catalog was made with.</summary>
    public ExplorerOptions Options { get; }

    /// <summary>Names of the tables opened at start, in command-line order.</summary>
    public IReadOnlyList<string> Loaded => [.. _named.Keys];

    /// <summary>Files under the root a request may name (those not opened yet included), at most 500.</summary>
    public IReadOnlyList<string> Available => _root?.List(500) ?? [];

    /// <summary>The table called <paramref name="name"/>: one opened at start, or a file under the root.</summary>
    /// <exception cref="ArgumentException">No such table, or the name leaves the root.</exception>
    internal ExplorerTable Get(string op, string name)
    {
        if (_named.TryGetValue(name, out var table))
            return table;
        if (_root is null)
            throw new ArgumentException($"[{op}] no table '{name}'; the served tables are {string.Join(", ", _named.Keys)}");
        string path = _root.Resolve(op, name);
        var lazy = _underRoot.GetOrAdd(path, p => new Lazy<ExplorerTable>(() => ExplorerTable.Open(name, p)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            _underRoot.TryRemove(path, out _); // a bad file is retried (and reported) on the next request
            throw;
        }
    }

    private readonly CancellationTokenSource _warmStop = new();
    private Task? _warm;

    /// <summary>Warms the tables opened at start on a background task (see <see cref="ExplorerOptions.WarmUp"/>), once; the task (for tests).</summary>
    internal Task StartWarmUp()
    {
        lock (_warmStop)
        {
            if (_warm is not null)
                return _warm;
            if (_warmStop.IsCancellationRequested)
                return Task.CompletedTask;
            var tables = _named.Values.ToArray();
            var token = _warmStop.Token;
            _warm = Task.Run(() =>
            {
                foreach (var t in tables)
                {
                    try
                    {
                        t.Warm(token);
                    }
                    catch (Exception)
                    {
                        // Warming answers nothing: a table that fails here fails again, with its message, on the request that needs it.
                    }
                }
            });
            return _warm;
        }
    }

    /// <summary>Closes every table (after stopping the warm-up, which reads them).</summary>
    public void Dispose()
    {
        lock (_warmStop)
            _warmStop.Cancel();
        try
        {
            _warm?.Wait();
        }
        catch (AggregateException)
        {
        }
        foreach (var t in _named.Values)
            t.Dispose();
        foreach (var t in _underRoot.Values.Where(l => l.IsValueCreated))
            t.Value.Dispose();
    }
}
