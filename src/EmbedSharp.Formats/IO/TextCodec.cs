using System.Buffers;
using System.Globalization;
using System.Text;

namespace EmbedSharp.Formats.IO;

/// <summary>UTF-8 word decoding under a <see cref="UnicodeErrors"/> policy, and float text parsing/formatting.</summary>
internal static class TextCodec
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly UTF8Encoding Lenient = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>Decodes a word; returns null (with a reason) when the policy is strict and the bytes are invalid.</summary>
    public static string? DecodeWord(ReadOnlySpan<byte> bytes, UnicodeErrors policy, out string? problem)
    {
        problem = null;
        if (Ascii.IsValid(bytes))
            return Encoding.ASCII.GetString(bytes);
        switch (policy)
        {
            case UnicodeErrors.Strict:
                if (System.Text.Unicode.Utf8.IsValid(bytes))
                    return Strict.GetString(bytes);
                int bad = FirstInvalid(bytes);
                problem = $"word is not valid UTF-8 (invalid byte 0x{bytes[bad]:X2} at position {bad} of the word); " +
                          "pass UnicodeErrors.Replace or UnicodeErrors.Ignore to read it anyway";
                return null;
            case UnicodeErrors.Replace:
                return Lenient.GetString(bytes);
            default:
                var sb = new StringBuilder(bytes.Length);
                var rest = bytes;
                while (!rest.IsEmpty)
                {
                    var status = Rune.DecodeFromUtf8(rest, out Rune rune, out int consumed);
                    if (status == OperationStatus.Done)
                        sb.Append(rune.ToString());
                    rest = rest[consumed..];
                }
                return sb.ToString();
        }
    }

    private static int FirstInvalid(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            var status = Rune.DecodeFromUtf8(bytes[i..], out _, out int consumed);
            if (status != OperationStatus.Done)
                return i;
            i += consumed;
        }
        return 0;
    }

    /// <summary>
    /// Parses one float token. The text is parsed to double and then rounded to float, which is
    /// what NumPy (and so gensim) does, so both read bit-identical values. Also accepts Python's
    /// <c>nan</c>, <c>inf</c>, <c>-inf</c> spellings.
    /// </summary>
    public static bool TryParseSingle(ReadOnlySpan<byte> token, out float value)
    {
        if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
        {
            value = (float)d;
            return true;
        }
        return TryParseSpecial(token, out value);
    }

    private static bool TryParseSpecial(ReadOnlySpan<byte> token, out float value)
    {
        value = 0;
        bool negative = false;
        if (!token.IsEmpty && (token[0] == (byte)'-' || token[0] == (byte)'+'))
        {
            negative = token[0] == (byte)'-';
            token = token[1..];
        }
        if (Ascii.EqualsIgnoreCase(token, "inf"u8) || Ascii.EqualsIgnoreCase(token, "infinity"u8))
        {
            value = negative ? float.NegativeInfinity : float.PositiveInfinity;
            return true;
        }
        if (Ascii.EqualsIgnoreCase(token, "nan"u8))
        {
            value = float.NaN;
            return true;
        }
        return false;
    }

    /// <summary>Writes a float as the shortest text that reads back to the same value (invariant culture).</summary>
    public static int FormatSingle(float value, Span<byte> destination)
    {
        if (float.IsNaN(value))
        {
            "nan"u8.CopyTo(destination);
            return 3;
        }
        if (float.IsInfinity(value))
        {
            var text = value > 0 ? "inf"u8 : "-inf"u8;
            text.CopyTo(destination);
            return text.Length;
        }
        if (!value.TryFormat(destination, out int written, default, CultureInfo.InvariantCulture))
            throw new InvalidOperationException("float formatting buffer too small");
        return written;
    }

    /// <summary>True for the field separators of the text formats: space and tab.</summary>
    public static bool IsSeparator(byte b) => b == (byte)' ' || b == (byte)'\t';
}
