using Microsoft.Extensions.Configuration;

namespace EmbedSharp.Web;

/// <summary>What the explorer serves and its limits. Bound from the <c>Explorer</c> configuration section when not given.</summary>
public sealed class ExplorerOptions
{
    /// <summary>Files opened at start, each served under its file name.</summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary>A directory whose files (and only those) a request may name, relative to it; null allows none.</summary>
    public string? Root { get; init; }

    /// <summary>Largest <c>k</c> a neighbour or analogy request may ask for.</summary>
    public int MaxK { get; init; } = 100;

    /// <summary>Largest number of points a projection may hold (t-SNE and PCA run on the server).</summary>
    public int MaxPoints { get; init; } = 5000;

    /// <summary>Longest query string accepted, in bytes; longer requests get 400.</summary>
    public int MaxQueryLength { get; init; } = 2048;

    /// <summary>Largest request body accepted (the API takes none; bodies past this get 413).</summary>
    public long MaxBodyBytes { get; init; } = 16 * 1024;

    /// <summary>Time a projection may take before it is cancelled (503).</summary>
    public TimeSpan ProjectionTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Time any other request may take before it is cancelled.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether the server, once started, warms each opened table in the background (the exact index's 8-bit copy
    /// and compiled search, PCA and t-SNE code), so the first requests do not pay for it. On for <c>embedsharp serve</c>.
    /// </summary>
    public bool WarmUp { get; init; }

    /// <summary>Reads <c>Explorer:Files:N</c> and <c>Explorer:Root</c> (used when the host runs on its own).</summary>
    public static ExplorerOptions FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection("Explorer");
        var files = section.GetSection("Files").GetChildren().Select(c => c.Value).OfType<string>().ToArray();
        return new ExplorerOptions { Files = files, Root = section["Root"] };
    }
}
