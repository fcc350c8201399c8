using EmbedSharp.Formats.IO;

namespace EmbedSharp.Formats.Glove;

/// <summary>
/// Reads GloVe text: no header, one <c>word v1 … vD</c> line per row, D taken from the first line.
/// The values are the last D tokens of a line, so a word that itself holds spaces (a few exist in
/// the Common Crawl releases) is read whole. Blank lines are skipped.
/// </summary>
internal sealed class GloveReader : VectorRowReader
{
    private readonly ByteReader _in;
    private readonly ReadOptions _options;
    private readonly RowChecks _checks;
    private readonly long _limit;
    private readonly int _maxLine;
    private long _read;
    private long _line;

    public GloveReader(Stream stream, ReadOptions options, string? source, string op)
    {
        options.Validate(op);
        long? rows = null;
        if (stream.CanSeek)
            rows = GloveHeader.CountRows(stream);
        _in = new ByteReader(stream, op, source);
        _options = options;
        _checks = new RowChecks(options);
        _limit = options.Limit ?? long.MaxValue;
        // Find the vector length from the first non-blank line without consuming it: read it, then
        // parse it as row 0 on the first call.
        while (true)
        {
            long at = _in.Offset;
            if (!_in.TryReadLine(GloveConstants.MaxFirstLineBytes, "the first line", out var line))
                throw _in.Error("the file has no rows, so the vector length cannot be inferred", at);
            _line++;
            if (TextRow.CountTokens(line) == 0)
                continue;
            int? dims = GloveHeader.InferDims(line);
            if (dims is null)
                throw _in.Error("the first line has a single token; a GloVe row is 'word v1 … vD'", at);
            if (dims > GloveConstants.MaxDims)
                throw _in.Error($"the first line has {dims} values, more than the {GloveConstants.MaxDims} supported", at);
            Dims = dims.Value;
            _firstLine = line.ToArray();
            _firstLineAt = at;
            break;
        }
        _maxLine = Word2Vec.Word2VecConstants.MaxLineBytes(Dims);
        Count = rows is long r ? Math.Min(r, _limit) : null;
    }

    private byte[]? _firstLine;
    private long _firstLineAt;

    public override int Dims { get; }
    public override long? Count { get; }
    internal override bool CountIsVerified => Count is not null;

    public override bool TryReadRow(Span<float> destination, out string? word, out long count)
    {
        count = -1;
        while (_read < _limit)
        {
            ReadOnlySpan<byte> line;
            long at;
            if (_firstLine is not null)
            {
                line = _firstLine;
                at = _firstLineAt;
                _firstLine = null;
            }
            else
            {
                at = _in.Offset;
                if (!_in.TryReadLine(_maxLine, $"line {_line + 1}", out line))
                    break;
                _line++;
                if (TextRow.CountTokens(line) == 0)
                    continue;
            }
            string? problem = TextRow.Parse(line, Dims, destination, wordMayContainSpaces: true, out var wordBytes);
            if (problem is not null)
                throw _in.Error($"row {_read}: {problem} (the first line has {Dims})", at);
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
