using EmbedSharp.Diagnostics;
using EmbedSharp.Formats.FastText;
using EmbedSharp.Formats.Glove;
using EmbedSharp.Formats.Npy;
using EmbedSharp.Formats.Word2Vec;

namespace EmbedSharp.Formats;

/// <summary>
/// The formats EmbedSharp can read and write, looked up by name or extension. Detection and
/// conversion go through a registry, so adding a format is one <see cref="Register"/> call.
/// </summary>
public sealed class FormatRegistry
{
    private readonly List<EmbeddingFormat> _formats = [];
    private readonly object _gate = new();

    /// <summary>An empty registry.</summary>
    public FormatRegistry()
    {
    }

    /// <summary>
    /// The built-in formats, in tie-break order: fastText model, NumPy, word2vec binary, word2vec
    /// text, fastText .vec, GloVe.
    /// </summary>
    public static FormatRegistry Default { get; } = CreateDefault();

    private static FormatRegistry CreateDefault()
    {
        var r = new FormatRegistry();
        r.Register(FastTextFormat.Bin);
        r.Register(NpyFormat.Instance);
        r.Register(Word2VecFormat.Binary);
        r.Register(Word2VecFormat.Text);
        r.Register(FastTextFormat.Vec);
        r.Register(GloveFormat.Instance);
        r.Register(Safetensors.SafetensorsFormat.Instance);
        return r;
    }

    /// <summary>The registered formats, in registration order.</summary>
    public IReadOnlyList<EmbeddingFormat> Formats
    {
        get
        {
            lock (_gate)
                return _formats.ToArray();
        }
    }

    /// <summary>Adds a format; a later format with the same name replaces the earlier one.</summary>
    public void Register(EmbeddingFormat format)
    {
        Guard.NotNull("formats.register", format);
        lock (_gate)
        {
            int i = _formats.FindIndex(f => f.Name == format.Name);
            if (i >= 0)
                _formats[i] = format;
            else
                _formats.Add(format);
        }
    }

    /// <summary>The format called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No such format.</exception>
    public EmbeddingFormat Get(string name)
    {
        Guard.NotNull("formats.get", name);
        var all = Formats;
        foreach (var f in all)
        {
            if (string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase))
                return f;
        }
        ThrowHelper.Argument("formats.get", nameof(name), $"format '{name}' is unknown; valid values are {string.Join(", ", all.Select(f => f.Name))}");
        return null!;
    }

    /// <summary>The formats whose extensions match the path's, in registration order.</summary>
    public IReadOnlyList<EmbeddingFormat> ByExtension(string path)
    {
        Guard.NotNull("formats.by_extension", path);
        string ext = Path.GetExtension(path);
        return Formats.Where(f => f.Extensions.Any(e => string.Equals(e, ext, StringComparison.OrdinalIgnoreCase))).ToArray();
    }

    /// <summary>The format a file should be written in, from its extension (first registered match).</summary>
    /// <exception cref="ArgumentException">No format uses that extension.</exception>
    public EmbeddingFormat ForWriting(string path)
    {
        var matches = ByExtension(path);
        if (matches.Count == 0)
            ThrowHelper.Argument("formats.for_writing", nameof(path),
                $"no format uses the extension '{Path.GetExtension(path)}'; valid extensions are {string.Join(", ", Formats.SelectMany(f => f.Extensions).Distinct())} (or name the format)");
        return matches[0];
    }
}
