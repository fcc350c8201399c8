using EmbedSharp.Formats.IO;

namespace EmbedSharp.Formats.Word2Vec;

/// <summary>
/// Reads the word2vec text format (also fastText's <c>.vec</c>): a header line <c>"N D"</c>, then
/// N lines <c>word v1 … vD</c>. Follows gensim's <c>load_word2vec_format</c>: the header count,
/// optional <c>limit</c>, a trailing '\r' or space on a line is ignored, blank lines after the N
/// rows are ignored, fewer rows than the header states is an error.
/// </summary>
internal sealed class Word2VecTextReader : VectorRowReader
{
    private readonly ByteReader _in;
    private readonly ReadOptions _options;
    private readonly RowChecks _checks;
    private readonly long _rows;
    private readonly int _maxLine;
    private long _read;

    public Word2VecTextReader(Stream stream, ReadOptions options, string? source, string op)
    {
        options.Validate(op);
        _in = new ByteReader(stream, op, source);
        _options = options;
        _checks = new RowChecks(options);
        var header = Word2VecHeader.Read(_in);
        Dims = header.Dims;
        _rows = Math.Min(header.NumEmbeddings, options.Limit ?? long.MaxValue);
        _maxLine = Word2VecConstants.MaxLineBytes(Dims);
        // Every row needs at least a one-byte word and D separator+digit pairs.
        if (_in.Remaining is long left && _rows > 0 && (_rows > left || _rows * (2L * Dims + 1) > left))
            throw _in.Error($"header declares {header.NumEmbeddings} rows of {Dims} values but only {left} bytes follow (each row needs at least {2L * Dims + 1})");
        CountIsVerified = _in.Remaining is not null;
    }

    public override int Dims { get; }
    public override long? Count => _rows;
    internal override bool CountIsVerified { get; }

    public override bool TryReadRow(Span<float> destination, out string? word, out long count)
    {
        count = -1;
        while (_read < _rows)
        {
            long at = _in.Offset;
            if (!_in.TryReadLine(_maxLine, $"row {_read}", out var line))
                throw _in.Error($"file ends after {_read} rows but the header declares {_rows}; is the count wrong or the file truncated?");
            string? problem = TextRow.Parse(line, Dims, destination, wordMayContainSpaces: false, out var wordBytes);
            if (problem is not null)
                throw _in.Error($"row {_read}: {problem} (is this really the word2vec text format?)", at);
            word = TextCodec.DecodeWord(wordBytes, _options.UnicodeErrors, out problem)
                   ?? throw _in.Error($"row {_read}: {problem}", at);
            long index = _read++;
            if (_checks.Accept(_in.Op, _in.Source, at, index, word, destination[..Dims]))
                return true;
        }
        word = null;
        return false;
    }
}

/// <summary>
/// Reads the word2vec binary format: a header line <c>"N D\n"</c>, then per row the word's bytes, a
/// space and D little-endian float32 values, usually followed by '\n'. As in gensim, line feeds
/// in front of a word are dropped (they are the previous row's terminator).
/// </summary>
internal sealed class Word2VecBinaryReader : VectorRowReader
{
    private readonly ByteReader _in;
    private readonly ReadOptions _options;
    private readonly RowChecks _checks;
    private readonly long _rows;
    private long _read;

    public Word2VecBinaryReader(Stream stream, ReadOptions options, string? source, string op)
    {
        options.Validate(op);
        _in = new ByteReader(stream, op, source);
        _options = options;
        _checks = new RowChecks(options);
        var header = Word2VecHeader.Read(_in);
        Dims = header.Dims;
        _rows = Math.Min(header.NumEmbeddings, options.Limit ?? long.MaxValue);
        long perRow = 4L * Dims + 2;
        if (_in.Remaining is long left && _rows > 0 && (_rows > left || _rows * perRow > left))
            throw _in.Error($"header declares {header.NumEmbeddings} rows of {Dims} values but only {left} bytes follow (each row needs at least {perRow})");
        CountIsVerified = _in.Remaining is not null;
    }

    public override int Dims { get; }
    public override long? Count => _rows;
    internal override bool CountIsVerified { get; }

    public override bool TryReadRow(Span<float> destination, out string? word, out long count)
    {
        count = -1;
        while (_read < _rows)
        {
            while (_in.Peek() == Word2VecConstants.RowTerminator)
                _in.ReadByte("a row terminator");
            long at = _in.Offset;
            if (_in.AtEnd)
                throw _in.Error($"file ends after {_read} rows but the header declares {_rows}; is the count wrong or the file truncated?");
            var bytes = _in.ReadUntil(Word2VecConstants.WordTerminator, Word2VecConstants.MaxWordBytes, $"the word of row {_read}", endTerminates: false, out _);
            if (bytes.IsEmpty)
                throw _in.Error($"row {_read} has an empty word", at);
            word = TextCodec.DecodeWord(bytes, _options.UnicodeErrors, out string? problem)
                   ?? throw _in.Error($"row {_read}: {problem}", at);
            _in.ReadSingles(destination[..Dims], $"the {Dims} values of row {_read} ('{word}')");
            long index = _read++;
            if (_checks.Accept(_in.Op, _in.Source, at, index, word, destination[..Dims]))
                return true;
        }
        word = null;
        return false;
    }
}
