using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.Safetensors;

/// <summary>
/// An open safetensors file: the validated header plus random access to any tensor by name.
/// Reads only the tensors asked for. Dispose to close the stream.
/// </summary>
public sealed class SafetensorsReader : IDisposable
{
    private const string Op = "safetensors.read";
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly long _dataStart;

    private SafetensorsReader(Stream stream, bool ownsStream, SafetensorsHeader header, long dataStart)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        Header = header;
        _dataStart = dataStart;
    }

    /// <summary>The validated header.</summary>
    public SafetensorsHeader Header { get; }

    /// <summary>The tensors by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors => Header.ByName;

    /// <summary>The <c>__metadata__</c> strings.</summary>
    public IReadOnlyDictionary<string, string> Metadata => Header.Metadata;

    /// <summary>Opens a file and validates its header.</summary>
    /// <exception cref="InvalidDataException">The file is truncated, the header is malformed, or the offsets do not match the file.</exception>
    public static SafetensorsReader Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        try
        {
            return Open(stream, ownsStream: true);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads the header of a seekable stream positioned anywhere (the file starts at position 0).</summary>
    /// <exception cref="ArgumentException">The stream cannot seek or read.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, the header is malformed, or the offsets do not match the file.</exception>
    public static SafetensorsReader Open(Stream stream, bool ownsStream = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek || !stream.CanRead)
            throw new ArgumentException($"[{Op}] the stream must be readable and seekable", nameof(stream));
        long length = stream.Length;
        if (length < SafetensorsConstants.PrefixSize)
            throw new InvalidDataException($"[{Op}] the file has {length} bytes, fewer than the 8-byte header length");
        Span<byte> prefix = stackalloc byte[SafetensorsConstants.PrefixSize];
        stream.Position = 0;
        stream.ReadExactly(prefix);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > SafetensorsConstants.MaxHeaderSize)
            throw new InvalidDataException($"[{Op}] the header length {n} exceeds the limit of {SafetensorsConstants.MaxHeaderSize} bytes");
        if ((long)n > length - SafetensorsConstants.PrefixSize)
            throw new InvalidDataException($"[{Op}] the header length {n} runs past the end of the file ({length} bytes): the file is truncated or not safetensors");
        var json = new byte[n];
        stream.ReadExactly(json);
        if (n == 0 || json[0] != (byte)'{')
            throw new InvalidDataException($"[{Op}] the header does not start with '{{': not a safetensors file");
        long dataStart = SafetensorsConstants.PrefixSize + (long)n;
        var header = SafetensorsHeader.Parse(json, length - dataStart);
        return new SafetensorsReader(stream, ownsStream, header, dataStart);
    }

    /// <summary>Information on one tensor.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public SafetensorsTensorInfo GetInfo(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Header.ByName.TryGetValue(name, out var info))
            throw new KeyNotFoundException($"[{Op}] no tensor named \"{name}\" (the file has {Header.Tensors.Count}: {string.Join(", ", Header.Tensors.Take(8).Select(t => t.Name))}{(Header.Tensors.Count > 8 ? ", ..." : "")})");
        return info;
    }

    /// <summary>True when a tensor with that name exists.</summary>
    public bool Contains(string name) => Header.ByName.ContainsKey(name);

    /// <summary>The raw little-endian bytes of a tensor.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    /// <exception cref="InvalidDataException">The tensor is larger than one array can hold.</exception>
    public byte[] ReadBytes(string name)
    {
        var info = GetInfo(name);
        if (info.ByteLength > Array.MaxLength)
            throw new InvalidDataException($"[{Op}] tensor \"{name}\" has {info.ByteLength} bytes, more than one array can hold");
        var bytes = new byte[info.ByteLength];
        _stream.Position = _dataStart + info.Begin;
        _stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>
    /// A tensor's elements as <typeparamref name="T"/>, which must have the dtype's size and kind:
    /// float/F32, Half/F16, BFloat16/BF16, double/F64, byte/U8 (or F8), sbyte/I8, ushort/U16, short/I16,
    /// uint/U32, int/I32, ulong/U64, long/I64, bool/BOOL.
    /// </summary>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> does not match the tensor's dtype.</exception>
    public T[] Read<T>(string name) where T : unmanaged
    {
        var info = GetInfo(name);
        if (!Matches<T>(info.DType))
            throw new ArgumentException($"[{Op}] tensor \"{name}\" has dtype {info.DType.ToHeaderName()}, which cannot be read as {typeof(T).Name}", nameof(T));
        byte[] bytes = ReadBytes(name);
        var result = new T[info.ElementCount];
        bytes.CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException($"[{Op}] big-endian platforms are not supported");
        return result;
    }

    /// <summary>A floating tensor (F32, F16, BF16 or F64) widened or narrowed to float32.</summary>
    /// <exception cref="ArgumentException">The tensor is not floating.</exception>
    public float[] ReadSingle(string name)
    {
        var info = GetInfo(name);
        byte[] bytes = ReadBytes(name);
        var result = new float[info.ElementCount];
        switch (info.DType)
        {
            case SafetensorsDType.F32: MemoryMarshal.Cast<byte, float>(bytes).CopyTo(result); break;
            case SafetensorsDType.F16: Kernels.Widen(MemoryMarshal.Cast<byte, Half>(bytes), result); break;
            case SafetensorsDType.BF16: Kernels.Widen(MemoryMarshal.Cast<byte, BFloat16>(bytes), result); break;
            case SafetensorsDType.F64:
                var doubles = MemoryMarshal.Cast<byte, double>(bytes);
                for (int i = 0; i < result.Length; i++)
                    result[i] = (float)doubles[i];
                break;
            default:
                throw new ArgumentException($"[{Op}] tensor \"{name}\" has dtype {info.DType.ToHeaderName()}, not a floating type (F32, F16, BF16, F64)", nameof(name));
        }
        return result;
    }

    /// <summary>A 2-D floating tensor (F32, F16 or BF16) as a table of the same dtype, bit for bit.</summary>
    /// <exception cref="ArgumentException">The tensor is not 2-D or not F32/F16/BF16.</exception>
    public EmbeddingTable ReadTable(string name)
    {
        var info = GetInfo(name);
        if (info.Shape.Length != 2 || info.DType.ToTableDType() is not DType dtype)
            throw new ArgumentException($"[{Op}] tensor \"{name}\" is {info.DType.ToHeaderName()} {SafetensorsHeader.FormatShape(info.Shape)}; a table needs a 2-D F32, F16 or BF16 tensor", nameof(name));
        if (info.Shape[0] > int.MaxValue || info.Shape[1] > int.MaxValue)
            throw new InvalidDataException($"[{Op}] tensor \"{name}\" shape {SafetensorsHeader.FormatShape(info.Shape)} is too large for a table");
        byte[] bytes = ReadBytes(name);
        var table = new EmbeddingTable((int)info.Shape[0], (int)info.Shape[1], dtype);
        bytes.CopyTo(table.AsBytes());
        return table;
    }

    internal static bool Matches<T>(SafetensorsDType dtype) where T : unmanaged
    {
        Type t = typeof(T);
        return dtype switch
        {
            SafetensorsDType.F32 => t == typeof(float),
            SafetensorsDType.F16 => t == typeof(Half),
            SafetensorsDType.BF16 => t == typeof(BFloat16),
            SafetensorsDType.F64 => t == typeof(double),
            SafetensorsDType.U8 or SafetensorsDType.F8E4M3 or SafetensorsDType.F8E5M2 or SafetensorsDType.F8E8M0 => t == typeof(byte),
            SafetensorsDType.I8 => t == typeof(sbyte),
            SafetensorsDType.U16 => t == typeof(ushort),
            SafetensorsDType.I16 => t == typeof(short),
            SafetensorsDType.U32 => t == typeof(uint),
            SafetensorsDType.I32 => t == typeof(int),
            SafetensorsDType.U64 => t == typeof(ulong),
            SafetensorsDType.I64 => t == typeof(long),
            SafetensorsDType.Bool => t == typeof(bool) || t == typeof(byte),
            _ => false,
        };
    }

    /// <summary>Closes the stream if this reader opened it.</summary>
    public void Dispose()
    {
        if (_ownsStream)
            _stream.Dispose();
    }
}
