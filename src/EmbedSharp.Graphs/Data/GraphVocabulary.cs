using EmbedSharp.Diagnostics;

namespace EmbedSharp.Graphs.Data;

/// <summary>Names ↔ ids for entities or relations, ids dense from 0 in order of first appearance.</summary>
public sealed class GraphVocabulary
{
    private readonly Dictionary<string, int> _ids;
    private readonly List<string> _names;

    /// <summary>An empty vocabulary.</summary>
    public GraphVocabulary()
    {
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        _names = [];
    }

    /// <summary>A vocabulary over <paramref name="names"/> in order (id i is names[i]).</summary>
    /// <exception cref="ArgumentException">A name is repeated, empty, or holds a tab or newline.</exception>
    public GraphVocabulary(IEnumerable<string> names) : this()
    {
        const string op = "graph_vocabulary.create";
        ArgumentNullException.ThrowIfNull(names);
        foreach (string name in names)
        {
            if (string.IsNullOrEmpty(name) || name.AsSpan().IndexOfAny('\t', '\n', '\r') >= 0)
                ThrowHelper.Argument(op, nameof(names), $"name {_names.Count} is empty or holds a tab or line break; names are non-empty text without tabs or line breaks");
            if (!_ids.TryAdd(name, _names.Count))
                ThrowHelper.Argument(op, nameof(names), $"name '{name}' appears twice (ids {_ids[name]} and {_names.Count}); names must be distinct");
            _names.Add(name);
        }
    }

    /// <summary>Number of names.</summary>
    public int Count => _names.Count;

    /// <summary>The names in id order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>The name of <paramref name="id"/>.</summary>
    public string this[int id] => _names[id];

    /// <summary>The id of <paramref name="name"/>, or false.</summary>
    public bool TryGetId(string name, out int id) => _ids.TryGetValue(name, out id);

    /// <summary>The id of <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    public int GetId(string name, string op = "graph_vocabulary.get_id")
    {
        if (!_ids.TryGetValue(name, out int id))
            ThrowHelper.Argument(op, nameof(name), $"'{name}' is not in the vocabulary of {Count} names");
        return id;
    }

    internal int GetOrAdd(string name)
    {
        if (_ids.TryGetValue(name, out int id))
            return id;
        id = _names.Count;
        _ids.Add(name, id);
        _names.Add(name);
        return id;
    }
}
