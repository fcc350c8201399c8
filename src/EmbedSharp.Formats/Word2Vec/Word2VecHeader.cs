using System.Globalization;
using EmbedSharp.Formats.IO;

namespace EmbedSharp.Formats.Word2Vec;

/// <summary>The header line of a word2vec file, <c>"NumEmbeddings Dims\n"</c>.</summary>
/// <param name="NumEmbeddings">Rows the file declares.</param>
/// <param name="Dims">Values per row.</param>
public readonly record struct Word2VecHeader(long NumEmbeddings, int Dims)
{
    /// <summary>The header as written: <c>"N D\n"</c> in ASCII.</summary>
    public byte[] ToBytes() => System.Text.Encoding.ASCII.GetBytes($"{NumEmbeddings} {Dims}\n");

    /// <summary>Parses the two integers of a header line; null (with the problem) when it is not one.</summary>
    public static Word2VecHeader? TryParse(ReadOnlySpan<byte> line, out string? problem)
    {
        problem = null;
        int s = 0, e = line.Length;
        while (e > s && (TextCodec.IsSeparator(line[e - 1]) || line[e - 1] == (byte)'\r'))
            e--;
        while (s < e && TextCodec.IsSeparator(line[s]))
            s++;
        var body = line[s..e];
        int sep = body.IndexOfAny((byte)' ', (byte)'\t');
        if (sep < 0)
        {
            problem = $"header '{TextRow.Printable(line)}' is not 'numEmbeddings dims'";
            return null;
        }
        var a = body[..sep];
        var b = body[sep..].TrimStart(" \t"u8);
        if (!long.TryParse(a, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n) ||
            !long.TryParse(b, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long d))
        {
            problem = $"header '{TextRow.Printable(line)}' is not two integers 'numEmbeddings dims'";
            return null;
        }
        if (n < 0)
        {
            problem = $"header numEmbeddings {n} must be ≥ 0";
            return null;
        }
        if (d < 1 || d > Word2VecConstants.MaxDims)
        {
            problem = $"header dims {d} must be in 1..{Word2VecConstants.MaxDims}";
            return null;
        }
        return new Word2VecHeader(n, (int)d);
    }

    internal static Word2VecHeader Read(ByteReader reader)
    {
        long at = reader.Offset;
        var line = reader.ReadUntil((byte)'\n', Word2VecConstants.MaxHeaderBytes, "the header line", endTerminates: true, out _);
        return TryParse(line, out string? problem) ?? throw reader.Error(problem!, at);
    }
}
