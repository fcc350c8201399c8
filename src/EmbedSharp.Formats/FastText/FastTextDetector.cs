using System.Buffers.Binary;
using EmbedSharp.Formats.Word2Vec;

namespace EmbedSharp.Formats.FastText;

/// <summary>Recognises fastText model files by their magic number and version.</summary>
public static class FastTextDetector
{
    /// <summary><see cref="FormatMatch.Certain"/> when the file starts with fastText's magic and a supported version.</summary>
    public static FormatMatch DetectBin(ReadOnlySpan<byte> head)
    {
        if (head.Length < 8)
            return FormatMatch.No;
        int magic = BinaryPrimitives.ReadInt32LittleEndian(head);
        int version = BinaryPrimitives.ReadInt32LittleEndian(head[4..]);
        return magic == FastTextConstants.Magic && version is >= FastTextConstants.OldestVersion and <= FastTextConstants.Version
            ? FormatMatch.Certain
            : FormatMatch.No;
    }

    /// <summary>
    /// A <c>.vec</c> file is word2vec text, so content alone cannot tell them apart: this gives the
    /// same verdict as <see cref="Word2VecDetector.DetectText"/>, and the file extension breaks the tie.
    /// </summary>
    public static FormatMatch DetectVec(ReadOnlySpan<byte> head) => Word2VecDetector.DetectText(head);
}
