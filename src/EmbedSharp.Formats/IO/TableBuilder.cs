using EmbedSharp.Tables;

namespace EmbedSharp.Formats.IO;

/// <summary>
/// Collects rows into an <see cref="EmbeddingTable"/>. With a verified row count it allocates once;
/// otherwise it grows by doubling from a small start, so an unverified header cannot size the allocation.
/// </summary>
internal sealed class TableBuilder : IDisposable
{
    private const int InitialRows = 1024;

    private readonly int _dims;
    private readonly DType _dtype;
    private EmbeddingTable _table;
    private readonly List<string>? _words;
    private List<long>? _counts;
    private int _rows;

    public TableBuilder(int dims, DType dtype, long? expectedRows, bool verified, bool hasWords)
    {
        _dims = dims;
        _dtype = dtype;
        int capacity = expectedRows is long n && (verified || n <= InitialRows) ? (int)Math.Min(n, int.MaxValue) : InitialRows;
        _table = new EmbeddingTable(capacity, dims, dtype);
        _words = hasWords ? new List<string>(Math.Min(capacity, 1 << 20)) : null;
    }

    public int Rows => _rows;

    public void Add(string? word, ReadOnlySpan<float> row, long count)
    {
        if (_rows == _table.NumEmbeddings)
            Grow();
        _table.WriteRow(_rows, row);
        if (_words is not null)
            _words.Add(word ?? throw new InvalidOperationException("[embeddings.read] a row without a word in a format with a vocabulary"));
        if (count >= 0 && _counts is null)
        {
            _counts = new List<long>(_rows + 1);
            for (int i = 0; i < _rows; i++)
                _counts.Add(-1);
        }
        _counts?.Add(count);
        _rows++;
    }

    private void Grow()
    {
        if (_rows == int.MaxValue)
            throw new InvalidOperationException("[embeddings.read] more than int.MaxValue rows");
        long next = Math.Min((long)Math.Max(_rows, 1) * 2, int.MaxValue);
        var bigger = new EmbeddingTable((int)next, _dims, _dtype);
        TableCopy.CopyRows(_table, bigger, _rows);
        _table.Dispose();
        _table = bigger;
    }

    /// <summary>The finished embeddings; the builder gives up the table.</summary>
    public WordEmbeddings Build()
    {
        if (_rows != _table.NumEmbeddings)
        {
            var exact = new EmbeddingTable(_rows, _dims, _dtype);
            TableCopy.CopyRows(_table, exact, _rows);
            _table.Dispose();
            _table = exact;
        }
        var table = _table;
        _table = null!;
        IReadOnlyList<long>? counts = _counts is not null && _counts.TrueForAll(c => c >= 0) ? _counts : null;
        return new WordEmbeddings(_words, table, counts);
    }

    public void Dispose() => _table?.Dispose();
}

/// <summary>Row copies between tables of the same dtype and dims, through the public row API.</summary>
internal static class TableCopy
{
    public static void CopyRows(EmbeddingTable source, EmbeddingTable destination, int rows)
    {
        for (int r = 0; r < rows; r++)
        {
            switch (source.DType)
            {
                case DType.Float32: source.GetRow<float>(r).CopyTo(destination.GetRow<float>(r)); break;
                case DType.Float16: source.GetRow<Half>(r).CopyTo(destination.GetRow<Half>(r)); break;
                default: source.GetRow<Numerics.BFloat16>(r).CopyTo(destination.GetRow<Numerics.BFloat16>(r)); break;
            }
        }
    }
}
