using System.Buffers.Binary;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Formats.Npy;

/// <summary>Writes a version 1.0 C-order <c>.npy</c> of little-endian float32 (or float16) rows.</summary>
internal sealed class NpyWriter : VectorRowWriter
{
    private const string Op = "npy.write";
    private readonly Stream _out;
    private readonly NpyHeader _header;
    private readonly byte[] _row;
    private long _written;
    private bool _started;

    public NpyWriter(Stream stream, long numEmbeddings, int dims, NpyElementType type = NpyElementType.Float32)
    {
        Guard.NotNull(Op, stream);
        Guard.InRange(Op, numEmbeddings, 0, int.MaxValue + 1L);
        Guard.InRange(Op, dims, 1, Word2Vec.Word2VecConstants.MaxDims + 1L);
        _out = stream;
        _header = new NpyHeader { ElementType = type, NumEmbeddings = numEmbeddings, Dims = dims };
        _row = new byte[dims * _header.ItemSize];
    }

    public override void WriteRow(string? word, ReadOnlySpan<float> row, long count = -1)
    {
        Guard.Length(Op, row.Length, _header.Dims, "one row");
        if (_written >= _header.NumEmbeddings)
            ThrowHelper.InvalidOperation(Op, $"more than the {_header.NumEmbeddings} rows of the shape");
        Start();
        if (_header.ElementType == NpyElementType.Float16)
        {
            for (int i = 0; i < row.Length; i++)
                BinaryPrimitives.WriteHalfLittleEndian(_row.AsSpan(2 * i), (Half)row[i]);
        }
        else
        {
            for (int i = 0; i < row.Length; i++)
                BinaryPrimitives.WriteSingleLittleEndian(_row.AsSpan(4 * i), row[i]);
        }
        _out.Write(_row);
        _written++;
    }

    /// <summary>Writes a row already in the storage format (little-endian bytes of the element type).</summary>
    public void WriteRawRow(ReadOnlySpan<byte> bytes)
    {
        Guard.Length(Op, bytes.Length, _row.Length, "one row of bytes");
        if (_written >= _header.NumEmbeddings)
            ThrowHelper.InvalidOperation(Op, $"more than the {_header.NumEmbeddings} rows of the shape");
        Start();
        _out.Write(bytes);
        _written++;
    }

    private void Start()
    {
        if (_started)
            return;
        _started = true;
        _out.Write(_header.ToBytes());
    }

    public override void Complete()
    {
        if (_written != _header.NumEmbeddings)
            ThrowHelper.InvalidOperation(Op, $"{_written} rows were written but the shape says {_header.NumEmbeddings}");
        Start();
        _out.Flush();
    }
}
