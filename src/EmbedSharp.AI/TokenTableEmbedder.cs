using EmbedSharp.Diagnostics;
using EmbedSharp.Search.Hybrid;
using EmbedSharp.Tables;

namespace EmbedSharp.AI;

/// <summary>
/// Text vectors from any table and tokenizer: the mean of the rows of the token ids
/// <c>tokenize(text)</c> returns (e.g. a Microsoft.ML.Tokenizers model's <c>EncodeToIds</c> over a
/// model's input embedding table); a text with no tokens gets the zero vector.
/// </summary>
public sealed class TokenTableEmbedder : ITextEmbedder
{
    private readonly EmbeddingTable _table;
    private readonly Func<string, IReadOnlyList<int>> _tokenize;

    /// <summary>An embedder over <paramref name="table"/> (not copied; keep it alive).</summary>
    public TokenTableEmbedder(EmbeddingTable table, Func<string, IReadOnlyList<int>> tokenize)
    {
        _table = Guard.NotNull("token_table_embedder", table);
        _tokenize = Guard.NotNull("token_table_embedder", tokenize);
    }

    /// <inheritdoc/>
    public int Dims => _table.Dims;

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException">The tokenizer returned an id outside the table.</exception>
    public void Embed(string text, Span<float> destination)
    {
        const string op = "token_table_embedder.embed";
        Guard.NotNull(op, text);
        Guard.Length(op, destination.Length, Dims, "Dims");
        var ids = _tokenize(text);
        destination.Clear();
        if (ids.Count == 0)
            return;
        var sum = new double[Dims];
        var row = new float[Dims];
        for (int i = 0; i < ids.Count; i++)
        {
            if ((uint)ids[i] >= (uint)_table.NumEmbeddings)
                ThrowHelper.ArgumentOutOfRange(op, "ids", ids[i], $"token {i} has id {ids[i]}; the table has rows 0..{_table.NumEmbeddings - 1}");
            _table.ReadRow(ids[i], row);
            for (int j = 0; j < Dims; j++)
                sum[j] += row[j];
        }
        for (int j = 0; j < Dims; j++)
            destination[j] = (float)(sum[j] / ids.Count);
    }
}
