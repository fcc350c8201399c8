using EmbedSharp.Formats.IO;

namespace EmbedSharp.Formats.Glove;

/// <summary>
/// GloVe files have no header; this is what a reader infers from the data: the vector length from
/// the first line and, on a seekable stream, the row count from the number of non-blank lines.
/// </summary>
/// <param name="NumEmbeddings">Rows, or null when not counted (a stream that cannot seek).</param>
/// <param name="Dims">Values per row (tokens on the first line, minus the word).</param>
public readonly record struct GloveHeader(long? NumEmbeddings, int Dims)
{
    /// <summary>The vector length of a first line: its token count minus one; null when that is below 1.</summary>
    public static int? InferDims(ReadOnlySpan<byte> firstLine)
    {
        int tokens = TextRow.CountTokens(firstLine);
        return tokens >= 2 ? tokens - 1 : null;
    }

    /// <summary>Counts the non-blank lines of a seekable stream from its current position, then restores the position.</summary>
    internal static long CountRows(Stream stream)
    {
        long start = stream.Position;
        var buffer = new byte[1 << 20];
        long rows = 0;
        bool lineHasContent = false;
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            foreach (byte b in buffer.AsSpan(0, n))
            {
                if (b == (byte)'\n')
                {
                    if (lineHasContent)
                        rows++;
                    lineHasContent = false;
                }
                else if (!TextCodec.IsSeparator(b) && b != (byte)'\r')
                {
                    lineHasContent = true;
                }
            }
        }
        if (lineHasContent)
            rows++;
        stream.Position = start;
        return rows;
    }
}
