using EmbedSharp.Diagnostics;
using EmbedSharp.Formats.IO;
using EmbedSharp.Formats.Mapping;
using EmbedSharp.Formats.Npy;

namespace EmbedSharp.Formats;

/// <summary>What <see cref="FormatConverter.Convert"/> did.</summary>
/// <param name="InputFormat">Format read.</param>
/// <param name="OutputFormat">Format written.</param>
/// <param name="NumEmbeddings">Rows converted.</param>
/// <param name="Dims">Row length.</param>
/// <param name="Streamed">True when rows went straight from reader to writer without holding the whole table.</param>
public readonly record struct ConversionResult(string InputFormat, string OutputFormat, long NumEmbeddings, int Dims, bool Streamed);

/// <summary>
/// Converts an embedding file (a table and its vocabulary) from any registered format to any other.
/// </summary>
/// <remarks>
/// Rows stream from reader to writer, one at a time, whenever the writer does not need the row
/// count before the data or the reader knows it up front (every format but GloVe from a
/// forward-only stream), and duplicates are set to throw. A <c>.npy</c> input is memory-mapped
/// when it is C-order float32/float16. Otherwise the table is read whole first. The output is
/// written to a temporary file and renamed into place, so a failed conversion leaves no partial file.
/// </remarks>
public static class FormatConverter
{
    private const string Op = "convert";

    /// <summary>Converts <paramref name="inputPath"/> into <paramref name="outputPath"/>.</summary>
    /// <param name="inputPath">File to read.</param>
    /// <param name="outputPath">File to write (replaced if it exists).</param>
    /// <param name="outputFormat">Output format; null picks it from the output extension.</param>
    /// <param name="inputFormat">Input format; null detects it from the content.</param>
    /// <param name="options">Read policies.</param>
    /// <exception cref="EmbeddingFormatException">The input is malformed.</exception>
    /// <exception cref="ArgumentException">The output format cannot be chosen, or it needs words the input lacks.</exception>
    public static ConversionResult Convert(string inputPath, string outputPath, EmbeddingFormat? outputFormat = null,
        EmbeddingFormat? inputFormat = null, ReadOptions? options = null)
    {
        Guard.NotNull(Op, inputPath);
        Guard.NotNull(Op, outputPath);
        options ??= ReadOptions.Default;
        options.Validate(Op);
        inputFormat ??= FormatDetector.Detect(inputPath);
        outputFormat ??= FormatRegistry.Default.ForWriting(outputPath);
        if (Path.GetFullPath(inputPath) == Path.GetFullPath(outputPath))
            ThrowHelper.Argument(Op, nameof(outputPath), $"output path {outputPath} is the input path; write to another file");

        if (inputFormat is NpyFormat npy)
            return ConvertFromNpy(npy, inputPath, outputPath, outputFormat, options);
        if (inputFormat.UsesVocabularySidecar)
        {
            // The words live next to the file: read both through the path-based reader.
            using var whole = inputFormat.Read(inputPath, options);
            return WriteWhole(inputFormat, outputFormat, outputPath, whole);
        }

        using var fs = EmbeddingFormat.OpenRead(inputPath);
        using var reader = inputFormat.OpenReader(fs, options, inputPath);
        bool canStream = (reader.Count is not null || !outputFormat.WriterNeedsCount) && options.DuplicateWords == DuplicateWords.Throw;
        if (!canStream)
        {
            using var all = EmbeddingFormat.ReadAll(reader, options);
            return WriteWhole(inputFormat, outputFormat, outputPath, all);
        }
        return Stream(inputFormat, outputFormat, outputPath, reader, reader.Count ?? 0);
    }

    private static ConversionResult ConvertFromNpy(NpyFormat npy, string inputPath, string outputPath, EmbeddingFormat outputFormat, ReadOptions options)
    {
        WordEmbeddings emb;
        bool mapped = true;
        try
        {
            emb = npy.Open(inputPath, MapAccess.ReadOnly, options, randomAccess: false);
        }
        catch (NotSupportedException)
        {
            mapped = false;
            emb = npy.Read(inputPath, options);
        }
        using (emb)
        {
            if (options.Limit is long limit && limit < emb.NumEmbeddings)
            {
                using var rows = new TableRowReader(emb, limit, options);
                return Stream(npy, outputFormat, outputPath, rows, limit) with { Streamed = mapped };
            }
            using var all = new TableRowReader(emb, emb.NumEmbeddings, options);
            return Stream(npy, outputFormat, outputPath, all, emb.NumEmbeddings) with { Streamed = mapped };
        }
    }

    private static ConversionResult Stream(EmbeddingFormat inputFormat, EmbeddingFormat outputFormat, string outputPath, VectorRowReader reader, long count)
    {
        if (!reader.HasWords && !outputFormat.UsesVocabularySidecar)
            ThrowHelper.Argument(Op, nameof(outputPath), $"{outputFormat.Name} stores a word per row but the {inputFormat.Name} input has no vocabulary (add a .vocab sidecar)");
        var words = outputFormat.UsesVocabularySidecar && reader.HasWords ? new List<string>() : null;
        var counts = words is not null ? new List<long>() : null;
        long rows = 0;
        AtomicFile.Write(outputPath, s =>
        {
            using var writer = outputFormat.OpenWriter(s, count, reader.Dims);
            var row = new float[reader.Dims];
            while (reader.TryReadRow(row, out string? word, out long c))
            {
                writer.WriteRow(word, row, c);
                words?.Add(word!);
                counts?.Add(c);
                rows++;
            }
            writer.Complete();
        });
        if (words is not null)
        {
            bool allCounts = counts!.TrueForAll(c => c >= 0);
            AtomicFile.Write(NpyVocabulary.PathFor(outputPath), s => NpyVocabulary.Write(s, words, allCounts ? counts : null));
        }
        return new ConversionResult(inputFormat.Name, outputFormat.Name, rows, reader.Dims, Streamed: true);
    }

    private static ConversionResult WriteWhole(EmbeddingFormat inputFormat, EmbeddingFormat outputFormat, string outputPath, WordEmbeddings all)
    {
        if (all.Words is null && !outputFormat.UsesVocabularySidecar)
            ThrowHelper.Argument(Op, nameof(outputPath), $"{outputFormat.Name} stores a word per row but the {inputFormat.Name} input has no vocabulary");
        outputFormat.Write(outputPath, all);
        return new ConversionResult(inputFormat.Name, outputFormat.Name, all.NumEmbeddings, all.Dims, Streamed: false);
    }

    /// <summary>Rows of an in-memory (or mapped) table as a row reader.</summary>
    private sealed class TableRowReader(WordEmbeddings source, long rows, ReadOptions options) : VectorRowReader
    {
        private readonly RowChecks _checks = new(options);
        private int _next;

        public override int Dims => source.Dims;
        public override long? Count => rows;
        public override bool HasWords => source.Words is not null;

        public override bool TryReadRow(Span<float> destination, out string? word, out long count)
        {
            word = null;
            count = -1;
            if (_next >= rows)
                return false;
            int i = _next++;
            source.Table.ReadRow(i, destination);
            word = source.Words?[i];
            count = source.Counts is { } c ? c[i] : -1;
            _checks.Accept("convert", null, 0, i, word, destination[..Dims]);
            return true;
        }
    }
}
