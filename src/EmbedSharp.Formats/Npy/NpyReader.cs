using System.Buffers.Binary;
using System.Text;
using EmbedSharp.Formats.IO;

namespace EmbedSharp.Formats.Npy;

/// <summary>
/// Reads a 2-D float <c>.npy</c> array row by row (C order) or whole (Fortran order), narrowing
/// float64 to float32 and swapping big-endian data. A bare <c>.npy</c> has no words.
/// </summary>
internal sealed class NpyReader : VectorRowReader
{
    private readonly ByteReader _in;
    private readonly NpyHeader _header;
    private readonly RowChecks _checks;
    private readonly long _rows;
    private readonly byte[] _rowBytes;
    private readonly float[]? _fortranValues;
    private long _next;

    public NpyReader(Stream stream, ReadOptions options, string? source)
    {
        options.Validate("npy.read");
        _in = new ByteReader(stream, "npy.read", source);
        _header = ReadHeader(_in);
        _checks = new RowChecks(options);
        _rows = Math.Min(_header.NumEmbeddings, options.Limit ?? long.MaxValue);
        _rowBytes = new byte[_header.Dims * _header.ItemSize];
        if (_header.FortranOrder)
            _fortranValues = ReadColumnMajor();
    }

    public NpyHeader Header => _header;
    public override int Dims => _header.Dims;
    public override long? Count => _rows;
    public override bool HasWords => false;
    internal override bool CountIsVerified => _in.Remaining is not null || _fortranValues is not null;

    internal static NpyHeader ReadHeader(ByteReader r)
    {
        Span<byte> magic = stackalloc byte[6];
        r.ReadExactly(magic, "the magic string");
        if (!magic.SequenceEqual(NpyConstants.Magic))
            throw r.Error("the file does not start with \\x93NUMPY; not a .npy file", 0);
        byte major = r.ReadByte("the major version");
        r.ReadByte("the minor version");
        long lenAt = r.Offset;
        long headerLength;
        if (major == 1)
        {
            Span<byte> b = stackalloc byte[2];
            r.ReadExactly(b, "the header length");
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(b);
        }
        else if (major is 2 or 3)
        {
            Span<byte> b = stackalloc byte[4];
            r.ReadExactly(b, "the header length");
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(b);
        }
        else
        {
            throw r.Error($"format version {major} is not supported (valid values are 1, 2, 3)", 6);
        }
        if (headerLength > NpyConstants.MaxHeaderBytes || (r.Remaining is long left && headerLength > left))
            throw r.Error($"header length {headerLength} is larger than the file or the {NpyConstants.MaxHeaderBytes}-byte limit", lenAt);
        var bytes = new byte[headerLength];
        long textAt = r.Offset;
        r.ReadExactly(bytes, "the header");
        string text = major == 3 ? Encoding.UTF8.GetString(bytes) : Encoding.Latin1.GetString(bytes);
        string? problem = NpyHeader.ParseDictionary(text, out string? descr, out bool fortran, out long[]? shape);
        if (problem is not null)
            throw r.Error(problem, textAt);
        if (NpyHeader.ParseDescr(descr!) is not { } dt)
            throw r.Error($"dtype '{descr}' is not supported (valid values are <f2, <f4, <f8 and their > big-endian forms)", textAt);
        if (shape!.Length != 2)
            throw r.Error($"shape ({string.Join(", ", shape)}) has {shape.Length} dimensions; an embedding table is 2-D (numEmbeddings, dims)", textAt);
        if (shape[0] > int.MaxValue || shape[1] < 1 || shape[1] > Word2Vec.Word2VecConstants.MaxDims)
            throw r.Error($"shape ({shape[0]}, {shape[1]}) is out of range (rows 0..{int.MaxValue}, dims 1..{Word2Vec.Word2VecConstants.MaxDims})", textAt);
        var header = new NpyHeader
        {
            MajorVersion = major,
            ElementType = dt.Type,
            BigEndian = dt.BigEndian,
            FortranOrder = fortran,
            NumEmbeddings = shape[0],
            Dims = (int)shape[1],
            DataOffset = r.Offset,
        };
        if (r.Remaining is long rest && rest < header.DataBytes)
            throw r.Error($"shape ({header.NumEmbeddings}, {header.Dims}) of {descr} needs {header.DataBytes} bytes of data but only {rest} follow");
        return header;
    }

    private float[] ReadColumnMajor()
    {
        // Column-major data cannot be streamed by rows; read it all, in blocks so that an
        // unverified shape runs out of data before it runs out of memory.
        long total = _header.NumEmbeddings * _header.Dims;
        if (total > Array.MaxLength)
            throw _in.Error($"a Fortran-order array of {total} elements is too large to reorder in memory");
        var blocks = new List<float[]>();
        var buffer = new byte[1 << 16];
        long done = 0;
        while (done < total)
        {
            int take = (int)Math.Min(buffer.Length / _header.ItemSize, total - done);
            var block = new float[take];
            _in.ReadExactly(buffer.AsSpan(0, take * _header.ItemSize), "the array data");
            Decode(buffer.AsSpan(0, take * _header.ItemSize), block);
            blocks.Add(block);
            done += take;
        }
        var all = new float[total];
        int pos = 0;
        foreach (var b in blocks)
        {
            b.CopyTo(all, pos);
            pos += b.Length;
        }
        return all;
    }

    public override bool TryReadRow(Span<float> destination, out string? word, out long count)
    {
        word = null;
        count = -1;
        if (_next >= _rows)
            return false;
        long at = _in.Offset;
        var row = destination[.._header.Dims];
        if (_fortranValues is not null)
        {
            long n = _header.NumEmbeddings;
            for (int j = 0; j < row.Length; j++)
                row[j] = _fortranValues[j * n + _next];
        }
        else
        {
            _in.ReadExactly(_rowBytes, $"row {_next}");
            Decode(_rowBytes, row);
        }
        _checks.Accept(_in.Op, _in.Source, at, _next, null, row);
        _next++;
        return true;
    }

    private void Decode(ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        bool big = _header.BigEndian;
        switch (_header.ElementType)
        {
            case NpyElementType.Float32:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = big ? BinaryPrimitives.ReadSingleBigEndian(bytes[(4 * i)..]) : BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                break;
            case NpyElementType.Float16:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = (float)(big ? BinaryPrimitives.ReadHalfBigEndian(bytes[(2 * i)..]) : BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]));
                break;
            default:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = (float)(big ? BinaryPrimitives.ReadDoubleBigEndian(bytes[(8 * i)..]) : BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]));
                break;
        }
    }
}
