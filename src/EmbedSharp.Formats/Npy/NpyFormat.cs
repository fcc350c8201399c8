using EmbedSharp.Diagnostics;
using EmbedSharp.Formats.IO;
using EmbedSharp.Formats.Mapping;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.Npy;

/// <summary>
/// NumPy <c>.npy</c> 2-D float tables (what gensim's <c>KeyedVectors.save</c> stores its vectors
/// in). The words live in a sidecar <c>path.vocab</c> (see <see cref="NpyVocabulary"/>); the path
/// overloads read and write it when present. C-order little-endian float32/float16 files can be
/// memory-mapped with <see cref="Open"/>.
/// </summary>
public sealed class NpyFormat : EmbeddingFormat
{
    private NpyFormat()
    {
    }

    /// <summary>The format.</summary>
    public static NpyFormat Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => "npy";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Extensions => [".npy"];

    /// <inheritdoc/>
    public override bool UsesVocabularySidecar => true;

    /// <inheritdoc/>
    public override FormatMatch Detect(ReadOnlySpan<byte> head, long? length) => NpyDetector.Detect(head);

    /// <inheritdoc/>
    public override VectorRowReader OpenReader(Stream stream, ReadOptions? options = null, string? source = null)
    {
        Guard.NotNull("npy.read", stream);
        return new NpyReader(stream, options ?? ReadOptions.Default, source);
    }

    /// <inheritdoc/>
    public override VectorRowWriter OpenWriter(Stream stream, long numEmbeddings, int dims) => new NpyWriter(stream, numEmbeddings, dims);

    /// <summary>Reads the table and, when <c>path.vocab</c> exists, its words.</summary>
    public override WordEmbeddings Read(string path, ReadOptions? options = null)
    {
        Guard.NotNull("npy.read", path);
        options ??= ReadOptions.Default;
        WordEmbeddings table;
        using (var fs = OpenRead(path))
            table = Read(fs, options, path);
        return AttachVocabulary(path, table, options);
    }

    /// <summary>Writes the table exactly in its storage type (float16 stays <c>&lt;f2</c>; bfloat16 widens to <c>&lt;f4</c>).</summary>
    public override void Write(Stream stream, WordEmbeddings embeddings)
    {
        Guard.NotNull("npy.write", stream);
        Guard.NotNull("npy.write", embeddings);
        var table = embeddings.Table;
        if (table.DType != DType.Float16)
        {
            base.Write(stream, embeddings);
            return;
        }
        using var writer = new NpyWriter(stream, table.NumEmbeddings, table.Dims, NpyElementType.Float16);
        var bytes = new byte[table.Dims * 2];
        for (int r = 0; r < table.NumEmbeddings; r++)
        {
            var row = table.GetRow<Half>(r);
            for (int i = 0; i < row.Length; i++)
                System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), row[i]);
            writer.WriteRawRow(bytes);
        }
        writer.Complete();
    }

    /// <summary>Writes the table and, when it has words, the <c>path.vocab</c> sidecar (both through temporary files).</summary>
    public override void Write(string path, WordEmbeddings embeddings)
    {
        Guard.NotNull("npy.write", path);
        Guard.NotNull("npy.write", embeddings);
        if (embeddings.Words is { } words)
            AtomicFile.Write(NpyVocabulary.PathFor(path), s => NpyVocabulary.Write(s, words, embeddings.Counts));
        AtomicFile.Write(path, s => Write(s, embeddings));
    }

    /// <summary>
    /// Memory-maps a C-order little-endian float32 or float16 <c>.npy</c>: only the header (and the
    /// vocabulary sidecar, when present) is read now; rows become resident as they are touched.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="access">Read-only, or copy-on-write (writes stay private to this process).</param>
    /// <param name="options">Policies for the vocabulary sidecar.</param>
    /// <param name="randomAccess">True (default) for lookups: Linux is told not to read ahead, so only touched rows become resident. False for a front-to-back scan.</param>
    /// <exception cref="EmbeddingFormatException">The header is invalid or the file is shorter than the shape needs.</exception>
    /// <exception cref="NotSupportedException">Fortran order, big-endian or float64 data, which must be converted while reading.</exception>
    public WordEmbeddings Open(string path, MapAccess access = MapAccess.ReadOnly, ReadOptions? options = null, bool randomAccess = true)
    {
        const string op = "npy.open";
        Guard.NotNull(op, path);
        options ??= ReadOptions.Default;
        NpyHeader header;
        using (var fs = OpenRead(path))
            header = NpyReader.ReadHeader(new ByteReader(fs, op, path));
        if (header.FortranOrder || header.BigEndian || header.ElementType == NpyElementType.Float64)
            ThrowHelper.NotSupported(op, $"{path}: {header.Descr} data in {(header.FortranOrder ? "Fortran" : "C")} order cannot be mapped as a table; only C-order <f4 and <f2 can (read it with Read instead)");
        var dtype = header.ElementType == NpyElementType.Float16 ? DType.Float16 : DType.Float32;
        var table = MappedFile.MapTable(path, header.DataOffset, (int)header.NumEmbeddings, header.Dims, dtype, access, randomAccess);
        return AttachVocabulary(path, new WordEmbeddings(null, table), options);
    }

    private static WordEmbeddings AttachVocabulary(string path, WordEmbeddings table, ReadOptions options)
    {
        string vocabPath = NpyVocabulary.PathFor(path);
        if (!File.Exists(vocabPath))
            return table;
        try
        {
            using var vs = OpenRead(vocabPath);
            var (words, counts) = NpyVocabulary.Read(vs, options, vocabPath, table.NumEmbeddings, allowMore: options.Limit is not null);
            return new WordEmbeddings(words, table.Table, counts);
        }
        catch
        {
            table.Dispose();
            throw;
        }
    }
}
