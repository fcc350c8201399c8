using EmbedSharp.Diagnostics;
using EmbedSharp.Formats.Word2Vec;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.FastText;

/// <summary>
/// Writes fastText model files in the order the reader reads them (version 12), and the
/// <c>.vec</c> text format fastText writes (word2vec text with a space after the last value).
/// </summary>
internal static class FastTextWriter
{
    public static void Write(Stream stream, FastTextModel model)
    {
        const string op = "fasttext.write";
        Guard.NotNull(op, stream);
        if (model.Output is null)
            ThrowHelper.InvalidOperation(op, "the model was opened without its output matrix (memory-mapped); load it fully to save it");
        using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        new FastTextHeader(FastTextConstants.Version, model.Args).Write(w);
        model.Dictionary.Write(w);
        w.Write(model.Input is FastTextQuantizedMatrix);
        model.Input.Write(w);
        w.Write(model.Output is FastTextQuantizedMatrix);
        model.Output.Write(w);
        w.Flush();
    }
}

/// <summary>Collects rows, then writes a no-n-gram fastText model of them on <see cref="Complete"/>.</summary>
internal sealed class FastTextBinRowWriter : VectorRowWriter
{
    private readonly Stream _out;
    private readonly long _rows;
    private readonly int _dims;
    private readonly EmbeddingTable _table;
    private readonly List<string> _words;
    private readonly List<long> _counts;

    public FastTextBinRowWriter(Stream stream, long numEmbeddings, int dims)
    {
        const string op = "fasttext-bin.write";
        Guard.NotNull(op, stream);
        Guard.InRange(op, numEmbeddings, 0, int.MaxValue);
        Guard.InRange(op, dims, 1, FastTextConstants.MaxDims + 1L);
        _out = stream;
        _rows = numEmbeddings;
        _dims = dims;
        _table = new EmbeddingTable((int)numEmbeddings, dims);
        _words = new List<string>((int)Math.Min(numEmbeddings, 1 << 20));
        _counts = new List<long>(_words.Capacity);
    }

    public override void WriteRow(string? word, ReadOnlySpan<float> row, long count = -1)
    {
        const string op = "fasttext-bin.write";
        if (_words.Count >= _rows)
            ThrowHelper.InvalidOperation(op, $"more than the {_rows} rows announced");
        WordRules.Encode(op, word, _words.Count, forbidSpaces: true, forbidNewlines: true);
        _table.WriteRow(_words.Count, row);
        _words.Add(word!);
        _counts.Add(count);
    }

    public override void Complete()
    {
        if (_words.Count != _rows)
            ThrowHelper.InvalidOperation("fasttext-bin.write", $"{_words.Count} rows were written but {_rows} were announced");
        bool haveCounts = _counts.TrueForAll(c => c >= 0);
        using var emb = new WordEmbeddings(_words, _table, haveCounts ? _counts : null, ownsTable: false);
        using var model = FastTextModel.FromEmbeddings(emb);
        FastTextWriter.Write(_out, model);
    }

    public override void Dispose()
    {
        _table.Dispose();
        base.Dispose();
    }
}
