using System.Buffers.Binary;
using System.Text;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Vocabularies;

public sealed partial class Vocabulary
{
    // Layout (little-endian):
    //   magic "ESVOCAB\0" (8 bytes) · version u32 = 1 · count i32 · specialCount i32 · unknownId i32 (−1 = none)
    //   · paddingId i32 (−1 = none) · then per token: count i64 · byteLength i32 · UTF-8 bytes.
    private static ReadOnlySpan<byte> Magic => "ESVOCAB\0"u8;
    private const uint FormatVersion = 1;
    private const int HeaderBytes = 8 + 4 * 5;
    private const int EntryHeaderBytes = 8 + 4;

    /// <summary>Longest token accepted by <see cref="Load"/>, in UTF-8 bytes (1 MiB).</summary>
    public const int MaxTokenBytes = 1 << 20;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Writes the vocabulary (tokens, counts, special count, unknown and padding ids) to
    /// <paramref name="stream"/> in EmbedSharp's binary vocabulary format. The stream is left open.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="ArgumentException">The stream is not writable.</exception>
    public void Save(Stream stream)
    {
        const string op = "vocabulary.save";
        Guard.NotNull(op, stream);
        if (!stream.CanWrite)
            ThrowHelper.Argument(op, nameof(stream), "stream is not writable");
        Span<byte> header = stackalloc byte[HeaderBytes];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], Count);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], SpecialCount);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], UnknownId ?? -1);
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], PaddingId ?? -1);
        stream.Write(header);
        Span<byte> entry = stackalloc byte[EntryHeaderBytes];
        for (int i = 0; i < _tokens.Length; i++)
        {
            byte[] bytes = StrictUtf8.GetBytes(_tokens[i]);
            BinaryPrimitives.WriteInt64LittleEndian(entry, _counts[i]);
            BinaryPrimitives.WriteInt32LittleEndian(entry[8..], bytes.Length);
            stream.Write(entry);
            stream.Write(bytes);
        }
    }

    /// <summary>Reads a vocabulary written by <see cref="Save"/>. The stream is left open, positioned after it.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="InvalidDataException">
    /// The data is not a vocabulary, has an unsupported version, is truncated, or is inconsistent (negative
    /// sizes, ids out of range, a token longer than <see cref="MaxTokenBytes"/> or than the rest of the stream,
    /// invalid UTF-8, duplicate tokens, negative counts).
    /// </exception>
    public static Vocabulary Load(Stream stream)
    {
        const string op = "vocabulary.load";
        Guard.NotNull(op, stream);
        Span<byte> header = stackalloc byte[HeaderBytes];
        ReadExactly(stream, header, "header");
        if (!header[..8].SequenceEqual(Magic))
            Bad($"not an EmbedSharp vocabulary (magic {Convert.ToHexString(header[..8])}, expected {Convert.ToHexString(Magic)})");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != FormatVersion)
            Bad($"version {version} is not supported (supported: {FormatVersion})");
        int count = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        int specialCount = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        int unknownId = BinaryPrimitives.ReadInt32LittleEndian(header[20..]);
        int paddingId = BinaryPrimitives.ReadInt32LittleEndian(header[24..]);
        if (count < 0)
            Bad($"token count {count} is negative");
        if (specialCount < 0 || specialCount > count)
            Bad($"special count {specialCount} is out of range; valid values are 0..{count}");
        if (unknownId < -1 || unknownId >= specialCount)
            Bad($"unknown id {unknownId} is out of range; it must be −1 or a special id 0..{specialCount - 1}");
        if (paddingId < -1 || paddingId >= specialCount)
            Bad($"padding id {paddingId} is out of range; it must be −1 or a special id 0..{specialCount - 1}");
        long remaining = stream.CanSeek ? stream.Length - stream.Position : long.MaxValue;
        if ((long)count * EntryHeaderBytes > remaining)
            Bad($"header promises {count} tokens but only {remaining} bytes follow (at least {EntryHeaderBytes} per token)");

        // Grow as entries actually arrive; the header count only bounds the loop.
        var tokens = new List<string>(Math.Min(count, 1 << 16));
        var counts = new List<long>(Math.Min(count, 1 << 16));
        Span<byte> entry = stackalloc byte[EntryHeaderBytes];
        byte[] buffer = new byte[256];
        for (int i = 0; i < count; i++)
        {
            ReadExactly(stream, entry, $"token {i}");
            long c = BinaryPrimitives.ReadInt64LittleEndian(entry);
            int length = BinaryPrimitives.ReadInt32LittleEndian(entry[8..]);
            if (c < 0)
                Bad($"token {i} has negative count {c}");
            if (length < 0 || length > MaxTokenBytes)
                Bad($"token {i} has length {length}; valid lengths are 0..{MaxTokenBytes} bytes");
            if (stream.CanSeek && length > stream.Length - stream.Position)
                Bad($"token {i} has length {length} but only {stream.Length - stream.Position} bytes follow");
            if (buffer.Length < length)
                buffer = new byte[Math.Max(length, buffer.Length * 2)];
            ReadExactly(stream, buffer.AsSpan(0, length), $"token {i}");
            string token;
            try
            {
                token = StrictUtf8.GetString(buffer, 0, length);
            }
            catch (DecoderFallbackException ex)
            {
                throw new InvalidDataException(ThrowHelper.Format(op, $"token {i} is not valid UTF-8"), ex);
            }
            tokens.Add(token);
            counts.Add(c);
        }
        try
        {
            return CreateChecked(op, [.. tokens], [.. counts], specialCount, unknownId, paddingId);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException(ex.Message, ex);
        }

        static void Bad(string text) => throw new InvalidDataException(ThrowHelper.Format(op, text));
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string what)
    {
        int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read < buffer.Length)
            throw new InvalidDataException(ThrowHelper.Format("vocabulary.load", $"truncated: {what} needs {buffer.Length} bytes but the stream ended after {read}"));
    }
}
