using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.Safetensors;

/// <summary>
/// Collects tensors and writes them as one safetensors file: header (metadata first, tensors in the
/// order added, padded to 8 bytes) then the data, each tensor's bytes in the same order.
/// </summary>
/// <remarks>Saving to a path writes <c>path.tmp-…</c> first and renames it over the target, so a crash never leaves a half-written file.</remarks>
public sealed class SafetensorsWriter
{
    private const string Op = "safetensors.write";
    private readonly List<(string Name, SafetensorsDType DType, long[] Shape, byte[] Data)> _tensors = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>The <c>__metadata__</c> strings to write (MLX writes <c>{"format": "mlx"}</c>).</summary>
    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    /// <summary>True when a tensor of that name has been added.</summary>
    public bool Contains(string name) => _names.Contains(name);

    /// <summary>Adds a tensor from raw little-endian bytes (copied).</summary>
    /// <exception cref="ArgumentException">The name is empty, reserved or already used, or the byte count does not match the shape.</exception>
    public SafetensorsWriter Add(string name, SafetensorsDType dtype, ReadOnlySpan<long> shape, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name == SafetensorsHeader.MetadataKey)
            throw new ArgumentException($"[{Op}] tensor name \"{name}\" is empty or reserved", nameof(name));
        if (!Enum.IsDefined(dtype))
            throw new ArgumentOutOfRangeException(nameof(dtype), dtype, $"[{Op}] unknown dtype; valid values are {SafetensorsDTypes.ValidNames}");
        long elements = 1;
        foreach (long d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"[{Op}] tensor \"{name}\" has a negative dimension {d}", nameof(shape));
            elements = checked(elements * d);
        }
        long bytes = checked(elements * dtype.SizeInBytes());
        if (bytes != data.Length)
            throw new ArgumentException($"[{Op}] tensor \"{name}\" shape [{string.Join(", ", shape.ToArray())}] of {dtype.ToHeaderName()} needs {bytes} bytes but {data.Length} were given", nameof(data));
        if (!_names.Add(name))
            throw new ArgumentException($"[{Op}] tensor \"{name}\" was already added", nameof(name));
        _tensors.Add((name, dtype, shape.ToArray(), data.ToArray()));
        return this;
    }

    /// <summary>Adds a tensor of <typeparamref name="T"/> elements; the dtype follows from T (float → F32, Half → F16, BFloat16 → BF16, uint → U32, byte → U8, int → I32, long → I64, ...).</summary>
    /// <exception cref="NotSupportedException">T has no safetensors dtype.</exception>
    public SafetensorsWriter Add<T>(string name, ReadOnlySpan<long> shape, ReadOnlySpan<T> data) where T : unmanaged =>
        Add(name, DTypeOf<T>(), shape, MemoryMarshal.AsBytes(data));

    /// <summary>Adds a table as a 2-D tensor of its own dtype.</summary>
    public SafetensorsWriter Add(string name, EmbeddingTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        return Add(name, SafetensorsDTypes.FromTableDType(table.DType), [table.NumEmbeddings, table.Dims], table.AsBytes());
    }

    /// <summary>Writes the file to <paramref name="path"/> through a temporary file and a rename.</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.Write(path, WriteTo);
    }

    /// <summary>Writes the file to a stream.</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var infos = new List<SafetensorsTensorInfo>(_tensors.Count);
        long offset = 0;
        foreach (var t in _tensors)
        {
            infos.Add(new SafetensorsTensorInfo(t.Name, t.DType, t.Shape, offset, offset + t.Data.Length));
            offset += t.Data.Length;
        }
        byte[] header = SafetensorsHeader.Serialize(infos, Metadata);
        Span<byte> prefix = stackalloc byte[SafetensorsConstants.PrefixSize];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var t in _tensors)
            stream.Write(t.Data);
    }

    internal static SafetensorsDType DTypeOf<T>() where T : unmanaged
    {
        Type t = typeof(T);
        if (t == typeof(float)) return SafetensorsDType.F32;
        if (t == typeof(Half)) return SafetensorsDType.F16;
        if (t == typeof(BFloat16)) return SafetensorsDType.BF16;
        if (t == typeof(double)) return SafetensorsDType.F64;
        if (t == typeof(byte)) return SafetensorsDType.U8;
        if (t == typeof(sbyte)) return SafetensorsDType.I8;
        if (t == typeof(ushort)) return SafetensorsDType.U16;
        if (t == typeof(short)) return SafetensorsDType.I16;
        if (t == typeof(uint)) return SafetensorsDType.U32;
        if (t == typeof(int)) return SafetensorsDType.I32;
        if (t == typeof(ulong)) return SafetensorsDType.U64;
        if (t == typeof(long)) return SafetensorsDType.I64;
        if (t == typeof(bool)) return SafetensorsDType.Bool;
        throw new NotSupportedException($"[{Op}] element type {typeof(T).Name} has no safetensors dtype");
    }
}

/// <summary>Writes a file through a temporary sibling and an atomic rename.</summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string temp = full + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // Best effort: the temporary file may not exist.
            }
            throw;
        }
    }
}
