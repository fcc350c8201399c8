namespace EmbedSharp.Formats.Npy;

/// <summary>Recognises <c>.npy</c> files by their magic string.</summary>
public static class NpyDetector
{
    /// <summary><see cref="FormatMatch.Certain"/> when the bytes start with <c>\x93NUMPY</c> and a known major version.</summary>
    public static FormatMatch Detect(ReadOnlySpan<byte> head) =>
        head.Length >= 8 && head[..6].SequenceEqual(NpyConstants.Magic) && head[6] is >= 1 and <= 3
            ? FormatMatch.Certain
            : FormatMatch.No;
}
