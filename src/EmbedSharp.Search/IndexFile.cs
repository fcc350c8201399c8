using System.Buffers.Binary;
using EmbedSharp.Diagnostics;
using EmbedSharp.Search.Hnsw;
using EmbedSharp.Search.Ivf;

namespace EmbedSharp.Search;

/// <summary>Index files of any kind: saved atomically, opened by their magic (EEXI exact, EHNS HNSW, EIVF IVF).</summary>
public static class IndexFile
{
    /// <summary>Saves <paramref name="index"/> to <paramref name="path"/> through a temporary file renamed over it.</summary>
    public static void Save(IVectorIndex index, string path)
    {
        Guard.NotNull("index.save", index);
        AtomicFile.Write(Guard.NotNull("index.save", path), index.Save);
    }

    /// <summary>Opens an index file, memory-mapping HNSW files.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an index we write, or is damaged (the message names the file and byte).</exception>
    public static IVectorIndex Open(string path)
    {
        const string op = "index.open";
        Guard.NotNull(op, path);
        if (!File.Exists(path))
            throw new FileNotFoundException(ThrowHelper.Format(op, $"no such file: {path}"), path);
        Span<byte> magic = stackalloc byte[4];
        using (var f = File.OpenRead(path))
        {
            if (f.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4)
                throw new InvalidDataException(ThrowHelper.Format(op, $"{path} at byte 0: too short to be an index"));
        }
        switch (BinaryPrimitives.ReadUInt32LittleEndian(magic))
        {
            case 0x534E4845:
                return HnswIndex.Open(path);
            case 0x46564945:
                return IvfIndex.Open(path);
            case 0x49584545:
                using (var f = File.OpenRead(path))
                {
                    try
                    {
                        return ExactIndex.Open(f);
                    }
                    catch (InvalidDataException e)
                    {
                        throw new InvalidDataException(e.Message.Replace("] at byte", $"] {path} at byte", StringComparison.Ordinal), e);
                    }
                }
            default:
                throw new InvalidDataException(ThrowHelper.Format(op, $"{path} at byte 0: not an index file (no EEXI, EHNS or EIVF magic); build one with `embedsharp index build`"));
        }
    }

    /// <summary>Copies the stored vector of <paramref name="id"/> from any of our index kinds.</summary>
    public static bool TryGetVector(IVectorIndex index, int id, Span<float> destination) => index switch
    {
        ExactIndex e => e.TryGetVector(id, destination),
        HnswIndex h => h.TryGetVector(id, destination),
        IvfIndex i => i.TryGetVector(id, destination),
        _ => false,
    };

    /// <summary>The words sidecar of an index built from a word table: <c>INDEX.words</c>, one word per line in id order.</summary>
    public static string WordsPath(string indexPath) => indexPath + ".words";
}
