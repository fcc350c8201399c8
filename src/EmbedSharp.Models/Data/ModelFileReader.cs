using System.Runtime.InteropServices;
using System.Text;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Models.Data;

/// <summary>
/// What every model loader of this project does before it reads a field: a seekable view of the stream (a
/// non-seekable one is copied, so counts can be checked against the bytes that remain), a reader, errors
/// that give the byte offset, and counts checked before anything is allocated for them.
/// </summary>
internal sealed class ModelFileReader : IDisposable
{
    private readonly string _op;
    private readonly long _start;

    private ModelFileReader(string op, Stream stream)
    {
        _op = op;
        Stream = stream;
        _start = stream.Position;
        Reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
    }

    /// <summary>The stream read (the caller's, or a copy of it when the caller's cannot seek).</summary>
    public Stream Stream { get; }

    /// <summary>Reads little-endian fields and UTF-8 strings from <see cref="Stream"/>.</summary>
    public BinaryReader Reader { get; }

    /// <summary>Bytes of the file from where reading began to its end.</summary>
    public long Length => Stream.Length - _start;

    /// <summary>Opens <paramref name="stream"/> for <paramref name="op"/> (null checked).</summary>
    public static ModelFileReader Open(string op, Stream stream)
    {
        Guard.NotNull(op, stream);
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }
        return new ModelFileReader(op, stream);
    }

    /// <summary>The error for a file that is not what it should be, at the current byte offset.</summary>
    public InvalidDataException Bad(string problem) => new(ThrowHelper.Format(_op, $"model file at byte {Stream.Position - _start}: {problem}"));

    /// <summary>Reads an int32 count of items of <paramref name="bytesEach"/> bytes that must fit in what remains.</summary>
    public int Count(string what, long bytesEach, long max = int.MaxValue)
    {
        int n = Reader.ReadInt32();
        if (n < 0 || n > max || (long)n * bytesEach > Stream.Length - Stream.Position)
            throw Bad($"{what} count {n} is negative, too large or longer than the file");
        return n;
    }

    /// <summary>Reads <paramref name="count"/> float32 values (the caller has checked they fit).</summary>
    public float[] Floats(long count)
    {
        var values = new float[count];
        Stream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    /// <summary>Throws unless the file ends exactly here.</summary>
    public void ExpectEnd()
    {
        if (Stream.Position != Stream.Length)
            throw Bad("unexpected bytes after the last table");
    }

    /// <inheritdoc/>
    public void Dispose() => Reader.Dispose();
}
