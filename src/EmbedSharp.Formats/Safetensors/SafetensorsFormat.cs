using EmbedSharp.Diagnostics;
using EmbedSharp.Formats.IO;
using EmbedSharp.Formats.Npy;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.Safetensors;

/// <summary>
/// A word-vector table in safetensors: one 2-D float tensor (F32, F16 or BF16), the words in a
/// <c>path.vocab</c> sidecar (<c>word count</c> per line, the same sidecar as <c>.npy</c>).
/// </summary>
/// <remarks>
/// Reading picks the tensor named <see cref="TensorName"/> (<c>weight</c>) when present, otherwise
/// the only 2-D float tensor, and fails listing the candidates when there are several. Writing
/// stores the table under <c>weight</c> in its own dtype. MLX checkpoints with quantized layers are
/// read by <see cref="Mlx.MlxCheckpoint"/>, not here.
/// </remarks>
public sealed class SafetensorsFormat : EmbeddingFormat
{
    /// <summary>The tensor name used when writing, and preferred when reading.</summary>
    public const string TensorName = "weight";

    private SafetensorsFormat()
    {
    }

    /// <summary>The one instance.</summary>
    public static SafetensorsFormat Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => "safetensors";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Extensions => [".safetensors"];

    /// <inheritdoc/>
    public override bool UsesVocabularySidecar => true;

    /// <inheritdoc/>
    public override FormatMatch Detect(ReadOnlySpan<byte> head, long? length) =>
        SafetensorsDetector.IsSafetensors(head, length ?? long.MaxValue) ? FormatMatch.Certain : FormatMatch.No;

    /// <inheritdoc/>
    public override VectorRowReader OpenReader(Stream stream, ReadOptions? options = null, string? source = null)
    {
        Guard.NotNull("safetensors.read", stream);
        // Safetensors needs random access; a forward-only stream is buffered first.
        Stream seekable = stream.CanSeek ? stream : Buffer(stream);
        var reader = SafetensorsReader.Open(seekable, ownsStream: !ReferenceEquals(seekable, stream));
        try
        {
            string name = PickTensor(reader, source);
            return new RowReader(reader, reader.ReadTable(name));
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public override VectorRowWriter OpenWriter(Stream stream, long numEmbeddings, int dims)
    {
        Guard.NotNull("safetensors.write", stream);
        Guard.InRange("safetensors.write", numEmbeddings, 0, (long)int.MaxValue + 1);
        return new RowWriter(stream, (int)numEmbeddings, dims);
    }

    /// <inheritdoc/>
    public override WordEmbeddings Read(string path, ReadOptions? options = null)
    {
        Guard.NotNull("safetensors.read", path);
        options ??= ReadOptions.Default;
        WordEmbeddings table;
        using (var fs = OpenRead(path))
            table = Read(fs, options, path);
        string vocab = NpyVocabulary.PathFor(path);
        if (!File.Exists(vocab))
            return table;
        using var vs = OpenRead(vocab);
        var (words, counts) = NpyVocabulary.Read(vs, options, vocab, table.NumEmbeddings);
        var tableOnly = table.Table;
        return new WordEmbeddings(words, tableOnly, counts);
    }

    /// <inheritdoc/>
    public override void Write(Stream stream, WordEmbeddings embeddings)
    {
        Guard.NotNull("safetensors.write", stream);
        Guard.NotNull("safetensors.write", embeddings);
        var writer = new SafetensorsWriter();
        writer.Metadata["format"] = "embedsharp";
        writer.Add(TensorName, embeddings.Table);
        writer.WriteTo(stream);
    }

    /// <inheritdoc/>
    public override void Write(string path, WordEmbeddings embeddings)
    {
        Guard.NotNull("safetensors.write", path);
        Guard.NotNull("safetensors.write", embeddings);
        if (embeddings.Words is { } words)
            AtomicFile.Write(NpyVocabulary.PathFor(path), s => NpyVocabulary.Write(s, words, embeddings.Counts));
        AtomicFile.Write(path, s => Write(s, embeddings));
    }

    private static string PickTensor(SafetensorsReader reader, string? source)
    {
        if (reader.Contains(TensorName) && IsFloatMatrix(reader.GetInfo(TensorName)))
            return TensorName;
        var candidates = reader.Header.Tensors.Where(IsFloatMatrix).Select(t => t.Name).ToArray();
        if (candidates.Length == 1)
            return candidates[0];
        throw new EmbeddingFormatException("safetensors.read", source, 0, candidates.Length == 0
            ? $"no 2-D float32/float16/bfloat16 tensor in the file (tensors: {string.Join(", ", reader.Header.Tensors.Select(t => t.Name))})"
            : $"several 2-D float tensors ({string.Join(", ", candidates)}); name one 'weight' or read it with SafetensorsReader");
    }

    private static bool IsFloatMatrix(SafetensorsTensorInfo t) =>
        t.Shape.Length == 2 && t.DType.ToTableDType() is not null;

    private static MemoryStream Buffer(Stream stream)
    {
        var ms = new MemoryStream();
        stream.CopyTo(ms);
        ms.Position = 0;
        return ms;
    }

    private sealed class RowReader(SafetensorsReader reader, EmbeddingTable table) : VectorRowReader
    {
        private int _next;

        public override int Dims => table.Dims;

        public override long? Count => table.NumEmbeddings;

        public override bool HasWords => false;

        internal override bool CountIsVerified => true;

        public override bool TryReadRow(Span<float> destination, out string? word, out long count)
        {
            word = null;
            count = -1;
            if (_next >= table.NumEmbeddings)
                return false;
            table.ReadRow(_next++, destination);
            return true;
        }

        public override void Dispose()
        {
            table.Dispose();
            reader.Dispose();
            base.Dispose();
        }
    }

    private sealed class RowWriter(Stream stream, int numEmbeddings, int dims) : VectorRowWriter
    {
        // Rows are gathered into a table and written at Complete: the header needs the shape first.
        private readonly EmbeddingTable _table = new(numEmbeddings, dims, DType.Float32);
        private int _written;

        public override void WriteRow(string? word, ReadOnlySpan<float> row, long count = -1)
        {
            if (_written >= numEmbeddings)
                ThrowHelper.InvalidOperation("safetensors.write", $"more rows than the {numEmbeddings} announced");
            _table.WriteRow(_written++, row);
        }

        public override void Complete()
        {
            if (_written != numEmbeddings)
                ThrowHelper.InvalidOperation("safetensors.write", $"{_written} rows written but {numEmbeddings} announced");
            new SafetensorsWriter().Add(TensorName, _table).WriteTo(stream);
        }

        public override void Dispose()
        {
            _table.Dispose();
            base.Dispose();
        }
    }
}
