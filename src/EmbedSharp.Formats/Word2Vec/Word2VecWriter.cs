using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using EmbedSharp.Diagnostics;
using EmbedSharp.Formats.IO;

namespace EmbedSharp.Formats.Word2Vec;

/// <summary>Checks shared by the text writers: a word must be non-empty and free of whitespace.</summary>
internal static class WordRules
{
    public static byte[] Encode(string op, string? word, long row, bool forbidSpaces, bool forbidNewlines)
    {
        if (word is null)
            ThrowHelper.Argument(op, "word", $"row {row} has no word; this format stores one word per row");
        if (word.Length == 0)
            ThrowHelper.Argument(op, "word", $"row {row} has an empty word; words must be non-empty");
        foreach (char c in word)
        {
            if ((forbidSpaces && (c == ' ' || c == '\t')) || (forbidNewlines && (c == '\n' || c == '\r')))
                ThrowHelper.Argument(op, "word", $"row {row} word '{word}' contains a {(c == ' ' ? "space" : c == '\t' ? "tab" : "line break")}, which the format cannot store");
        }
        if (word.Contains('\0'))
            ThrowHelper.Argument(op, "word", $"row {row} word contains a NUL character, which the format cannot store");
        return Encoding.UTF8.GetBytes(word);
    }
}

/// <summary>
/// Writes the word2vec text format: <c>"N D\n"</c>, then <c>word v1 … vD\n</c> with each value
/// written as the shortest text that reads back to the same float32 (so text round trips are exact).
/// </summary>
internal class Word2VecTextWriter : VectorRowWriter
{
    private readonly Stream _out;
    private readonly long _rows;
    private readonly int _dims;
    private readonly string _op;
    private readonly bool _trailingSpace;
    private readonly bool _header;
    private readonly ArrayBufferWriter<byte> _line = new();
    private long _written;
    private bool _started;

    public Word2VecTextWriter(Stream stream, long numEmbeddings, int dims, string op, bool header = true, bool trailingSpace = false)
    {
        Guard.NotNull(op, stream);
        Guard.NonNegative(op, numEmbeddings);
        Guard.InRange(op, dims, 1, Word2VecConstants.MaxDims + 1L);
        _out = stream;
        _rows = numEmbeddings;
        _dims = dims;
        _op = op;
        _header = header;
        _trailingSpace = trailingSpace;
    }

    public override void WriteRow(string? word, ReadOnlySpan<float> row, long count = -1)
    {
        Guard.Length(_op, row.Length, _dims, "one row");
        if (_header && _written >= _rows)
            ThrowHelper.InvalidOperation(_op, $"more than the {_rows} rows announced in the header");
        byte[] w = WordRules.Encode(_op, word, _written, forbidSpaces: true, forbidNewlines: true);
        StartIfNeeded();
        _line.ResetWrittenCount();
        _line.Write(w);
        foreach (float v in row)
        {
            var span = _line.GetSpan(48);
            span[0] = (byte)' ';
            int n = TextCodec.FormatSingle(v, span[1..]);
            _line.Advance(n + 1);
        }
        if (_trailingSpace)
            _line.Write(" "u8);
        _line.Write("\n"u8);
        _out.Write(_line.WrittenSpan);
        _written++;
    }

    private void StartIfNeeded()
    {
        if (_started)
            return;
        _started = true;
        if (_header)
            _out.Write(new Word2VecHeader(_rows, _dims).ToBytes());
    }

    public override void Complete()
    {
        if (_header && _written != _rows)
            ThrowHelper.InvalidOperation(_op, $"{_written} rows were written but the header announced {_rows}");
        StartIfNeeded();
        _out.Flush();
    }
}

/// <summary>
/// Writes the word2vec binary format as the C tool does: <c>"N D\n"</c>, then per row the UTF-8
/// word, a space, D little-endian float32 values and '\n'.
/// </summary>
internal sealed class Word2VecBinaryWriter : VectorRowWriter
{
    private readonly Stream _out;
    private readonly long _rows;
    private readonly int _dims;
    private readonly string _op;
    private readonly byte[] _values;
    private long _written;
    private bool _started;

    public Word2VecBinaryWriter(Stream stream, long numEmbeddings, int dims, string op)
    {
        Guard.NotNull(op, stream);
        Guard.NonNegative(op, numEmbeddings);
        Guard.InRange(op, dims, 1, Word2VecConstants.MaxDims + 1L);
        _out = stream;
        _rows = numEmbeddings;
        _dims = dims;
        _op = op;
        _values = new byte[4 * dims + 1];
    }

    public override void WriteRow(string? word, ReadOnlySpan<float> row, long count = -1)
    {
        Guard.Length(_op, row.Length, _dims, "one row");
        if (_written >= _rows)
            ThrowHelper.InvalidOperation(_op, $"more than the {_rows} rows announced in the header");
        // A space would end the word early; a leading '\n' would be stripped by every reader.
        byte[] w = WordRules.Encode(_op, word, _written, forbidSpaces: true, forbidNewlines: false);
        if (w[0] == (byte)'\n')
            ThrowHelper.Argument(_op, "word", $"row {_written} word starts with a line feed, which readers strip");
        if (!_started)
        {
            _started = true;
            _out.Write(new Word2VecHeader(_rows, _dims).ToBytes());
        }
        _out.Write(w);
        _out.WriteByte(Word2VecConstants.WordTerminator);
        for (int i = 0; i < row.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(_values.AsSpan(4 * i), row[i]);
        _values[^1] = Word2VecConstants.RowTerminator;
        _out.Write(_values);
        _written++;
    }

    public override void Complete()
    {
        if (_written != _rows)
            ThrowHelper.InvalidOperation(_op, $"{_written} rows were written but the header announced {_rows}");
        if (!_started)
        {
            _started = true;
            _out.Write(new Word2VecHeader(_rows, _dims).ToBytes());
        }
        _out.Flush();
    }
}
