using EmbedSharp.Diagnostics;
using EmbedSharp.Search;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats;

/// <summary>
/// What an embedding file holds: a <c>NumEmbeddings × Dims</c> table, the word of each row (row
/// <c>i</c> is the vector of <c>Words[i]</c>), and optional per-word counts.
/// </summary>
/// <remarks>
/// Formats without a vocabulary (a bare NumPy <c>.npy</c> with no <c>.vocab</c> sidecar) give
/// <see cref="Words"/> = null. Words are unique. Disposing frees the table when this object owns it.
/// </remarks>
public sealed class WordEmbeddings : IDisposable
{
    private readonly bool _ownsTable;

    /// <summary>Wraps a table and its vocabulary.</summary>
    /// <param name="words">One word per row, all distinct; null when there is no vocabulary.</param>
    /// <param name="table">The vectors.</param>
    /// <param name="counts">Optional per-row counts (fastText and word2vec vocab files carry them).</param>
    /// <param name="ownsTable">Dispose the table with this object.</param>
    /// <exception cref="ArgumentException">Lengths disagree or a word repeats.</exception>
    public WordEmbeddings(IReadOnlyList<string>? words, EmbeddingTable table, IReadOnlyList<long>? counts = null, bool ownsTable = true)
    {
        const string op = "embeddings.create";
        Guard.NotNull(op, table);
        if (words is not null)
        {
            Guard.Length(op, words.Count, table.NumEmbeddings, "one word per table row");
            var seen = new HashSet<string>(words.Count, StringComparer.Ordinal);
            for (int i = 0; i < words.Count; i++)
            {
                string w = words[i] ?? throw new ArgumentException(ThrowHelper.Format(op, $"words[{i}] is null"), nameof(words));
                if (!seen.Add(w))
                    ThrowHelper.Argument(op, nameof(words), $"words[{i}] = '{w}' repeats an earlier word; words must be distinct");
            }
        }
        if (counts is not null)
            Guard.Length(op, counts.Count, table.NumEmbeddings, "one count per table row");
        Words = words;
        Table = table;
        Counts = counts;
        _ownsTable = ownsTable;
    }

    /// <summary>The word of each row, or null when the file carried none.</summary>
    public IReadOnlyList<string>? Words { get; }

    /// <summary>The vectors, one row per word.</summary>
    public EmbeddingTable Table { get; }

    /// <summary>Per-row counts, or null.</summary>
    public IReadOnlyList<long>? Counts { get; }

    /// <summary>Number of rows.</summary>
    public int NumEmbeddings => Table.NumEmbeddings;

    /// <summary>Length of each vector.</summary>
    public int Dims => Table.Dims;

    /// <summary>
    /// A <see cref="KeyedVectors"/> over the same table (no copy). The result shares the table, so
    /// keep this object alive (undisposed) while it is used.
    /// </summary>
    /// <exception cref="InvalidOperationException">There is no vocabulary.</exception>
    public KeyedVectors ToKeyedVectors()
    {
        if (Words is null)
            ThrowHelper.InvalidOperation("embeddings.keyed_vectors", "these embeddings have no vocabulary (a bare .npy needs a .vocab sidecar)");
        return new KeyedVectors(Words, Table);
    }

    /// <summary>Frees the table if this object owns it.</summary>
    public void Dispose()
    {
        if (_ownsTable)
            Table.Dispose();
    }
}
