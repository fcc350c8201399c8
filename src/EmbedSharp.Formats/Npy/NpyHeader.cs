using System.Globalization;
using System.Text;

namespace EmbedSharp.Formats.Npy;

/// <summary>Element types a <c>.npy</c> table may hold.</summary>
public enum NpyElementType
{
    /// <summary>IEEE binary16 (<c>f2</c>).</summary>
    Float16,
    /// <summary>IEEE binary32 (<c>f4</c>).</summary>
    Float32,
    /// <summary>IEEE binary64 (<c>f8</c>); narrowed to float32 on read.</summary>
    Float64,
}

/// <summary>
/// The header of a <c>.npy</c> file: version, element type and byte order (<c>descr</c>), memory
/// order (<c>fortran_order</c>) and the 2-D shape <c>(NumEmbeddings, Dims)</c>.
/// </summary>
public sealed record NpyHeader
{
    /// <summary>Major format version (1, 2 or 3).</summary>
    public int MajorVersion { get; init; } = 1;
    /// <summary>Element type.</summary>
    public NpyElementType ElementType { get; init; } = NpyElementType.Float32;
    /// <summary>True for big-endian data (<c>&gt;f4</c>).</summary>
    public bool BigEndian { get; init; }
    /// <summary>True when the data is column-major.</summary>
    public bool FortranOrder { get; init; }
    /// <summary>Rows.</summary>
    public long NumEmbeddings { get; init; }
    /// <summary>Columns.</summary>
    public int Dims { get; init; }
    /// <summary>Byte offset of the first element.</summary>
    public long DataOffset { get; init; }

    /// <summary>Bytes per element.</summary>
    public int ItemSize => ElementType switch { NpyElementType.Float16 => 2, NpyElementType.Float32 => 4, _ => 8 };

    /// <summary>Bytes of data the shape implies.</summary>
    public long DataBytes => NumEmbeddings * Dims * ItemSize;

    /// <summary>The <c>descr</c> string, e.g. <c>&lt;f4</c>.</summary>
    public string Descr => (BigEndian ? ">" : "<") + ElementType switch { NpyElementType.Float16 => "f2", NpyElementType.Float32 => "f4", _ => "f8" };

    /// <summary>
    /// The version 1.0 header bytes (magic through padding), padded with spaces and ended by '\n' so
    /// the data starts at a multiple of <see cref="NpyConstants.HeaderAlignment"/>.
    /// </summary>
    public byte[] ToBytes()
    {
        string dict = $"{{'descr': '{Descr}', 'fortran_order': {(FortranOrder ? "True" : "False")}, 'shape': ({NumEmbeddings}, {Dims}), }}";
        int unpadded = 10 + dict.Length + 1;
        int total = (unpadded + NpyConstants.HeaderAlignment - 1) / NpyConstants.HeaderAlignment * NpyConstants.HeaderAlignment;
        string text = dict + new string(' ', total - unpadded) + "\n";
        var bytes = new byte[total];
        NpyConstants.Magic.CopyTo(bytes);
        bytes[6] = 1;
        bytes[7] = 0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)text.Length);
        Encoding.ASCII.GetBytes(text, bytes.AsSpan(10));
        return bytes;
    }

    /// <summary>Parses the header dictionary text; returns the problem, or null on success.</summary>
    internal static string? ParseDictionary(string text, out string? descr, out bool fortran, out long[]? shape)
    {
        descr = null;
        fortran = false;
        shape = null;
        bool haveFortran = false;
        int i = 0;
        SkipSpace(text, ref i);
        if (i >= text.Length || text[i] != '{')
            return "the header is not a Python dict literal";
        i++;
        while (true)
        {
            SkipSpace(text, ref i);
            if (i < text.Length && text[i] == '}')
                break;
            string? key = ReadString(text, ref i);
            if (key is null)
                return $"expected a quoted key at header character {i}";
            SkipSpace(text, ref i);
            if (i >= text.Length || text[i] != ':')
                return $"expected ':' after key '{key}'";
            i++;
            SkipSpace(text, ref i);
            switch (key)
            {
                case "descr":
                    descr = ReadString(text, ref i);
                    if (descr is null)
                        return "descr is not a string (structured dtypes are not supported)";
                    break;
                case "fortran_order":
                    if (Match(text, ref i, "True")) fortran = true;
                    else if (Match(text, ref i, "False")) fortran = false;
                    else return "fortran_order is neither True nor False";
                    haveFortran = true;
                    break;
                case "shape":
                    shape = ReadTuple(text, ref i, out string? problem);
                    if (shape is null)
                        return problem;
                    break;
                default:
                    return $"unexpected header key '{key}'";
            }
            SkipSpace(text, ref i);
            if (i < text.Length && text[i] == ',')
            {
                i++;
                continue;
            }
            SkipSpace(text, ref i);
            if (i < text.Length && text[i] == '}')
                break;
            return $"expected ',' or '}}' at header character {i}";
        }
        if (descr is null || shape is null || !haveFortran)
            return "the header must have the keys descr, fortran_order and shape";
        return null;
    }

    /// <summary>Maps a <c>descr</c> to an element type; null when not a supported float type.</summary>
    internal static (NpyElementType Type, bool BigEndian)? ParseDescr(string descr)
    {
        if (descr.Length != 3)
            return null;
        bool? big = descr[0] switch { '<' => false, '>' => true, '=' => !BitConverter.IsLittleEndian, '|' => null, _ => null };
        if (big is null)
            return null;
        return descr[1..] switch
        {
            "f2" => (NpyElementType.Float16, big.Value),
            "f4" => (NpyElementType.Float32, big.Value),
            "f8" => (NpyElementType.Float64, big.Value),
            _ => null,
        };
    }

    private static void SkipSpace(string s, ref int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i]))
            i++;
    }

    private static bool Match(string s, ref int i, string word)
    {
        if (string.CompareOrdinal(s, i, word, 0, word.Length) != 0)
            return false;
        i += word.Length;
        return true;
    }

    private static string? ReadString(string s, ref int i)
    {
        if (i >= s.Length || (s[i] != '\'' && s[i] != '"'))
            return null;
        char q = s[i];
        int end = s.IndexOf(q, i + 1);
        if (end < 0)
            return null;
        string value = s.Substring(i + 1, end - i - 1);
        i = end + 1;
        return value;
    }

    private static long[]? ReadTuple(string s, ref int i, out string? problem)
    {
        problem = null;
        if (i >= s.Length || s[i] != '(')
        {
            problem = "shape is not a tuple";
            return null;
        }
        i++;
        var dims = new List<long>();
        while (true)
        {
            SkipSpace(s, ref i);
            if (i < s.Length && s[i] == ')')
            {
                i++;
                return [.. dims];
            }
            int start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
                i++;
            if (i == start || !long.TryParse(s.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out long v))
            {
                problem = $"shape entry at header character {start} is not a non-negative integer";
                return null;
            }
            if (dims.Count >= 32)
            {
                problem = "shape has more than 32 dimensions";
                return null;
            }
            dims.Add(v);
            SkipSpace(s, ref i);
            if (i < s.Length && s[i] == ',')
                i++;
            else if (i >= s.Length || s[i] != ')')
            {
                problem = "shape tuple is not closed";
                return null;
            }
        }
    }
}
