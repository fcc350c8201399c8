using EmbedSharp.Formats.IO;
using EmbedSharp.Formats.Mapping;
using EmbedSharp.Tables;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Formats.FastText;

/// <summary>
/// Reads fastText model files section by section, in file order: magic and version, args,
/// dictionary (entries, then the prune index), the input matrix (a quant flag, then dense or
/// product-quantized), the <c>qout</c> flag and the output matrix. Every size is checked against the
/// bytes left before anything is allocated from it.
/// </summary>
internal static class FastTextReader
{
    private const string Op = "fasttext.read";

    public static FastTextModel Read(Stream stream, ReadOptions options, string? source, bool loadOutput)
    {
        options.Validate(Op);
        var r = new ByteReader(stream, Op, source);
        var (header, dict) = ReadHead(r, options);
        long inputAt = r.Offset;
        bool quantInput = ReadFlag(r, "the quant_input flag");
        long inputRows = ExpectedInputRows(header.Args, dict);
        FastTextMatrix input = quantInput
            ? FastTextQuantizedMatrix.Read(r, "input matrix", inputRows, header.Args.Dims)
            : FastTextDenseMatrix.Read(r, "input matrix", inputRows, header.Args.Dims);
        try
        {
            CheckInput(r, header.Args, dict, input, quantInput, inputAt);
            bool qout = ReadFlag(r, "the qout flag");
            if (qout && !quantInput)
                throw r.Error("qout is set but the input matrix is not quantized; fastText only quantizes the output together with the input");
            FastTextMatrix? output = null;
            if (loadOutput)
            {
                output = qout
                    ? FastTextQuantizedMatrix.Read(r, "output matrix", -1, header.Args.Dims)
                    : FastTextDenseMatrix.Read(r, "output matrix", -1, header.Args.Dims);
            }
            else
            {
                SkipOutput(r, qout, header.Args.Dims);
            }
            if (!r.AtEnd)
            {
                output?.Dispose();
                throw r.Error("unexpected bytes after the output matrix");
            }
            return new FastTextModel(header.Version, header.Args, dict, input, output);
        }
        catch
        {
            input.Dispose();
            throw;
        }
    }

    public static FastTextModel Map(string path, MapAccess access, ReadOptions options)
    {
        options.Validate("fasttext.open");
        using var fs = EmbeddingFormat.OpenRead(path);
        var r = new ByteReader(fs, Op, path);
        var (header, dict) = ReadHead(r, options);
        long inputAt = r.Offset;
        bool quantInput = ReadFlag(r, "the quant_input flag");
        if (quantInput)
            Diagnostics.ThrowHelper.NotSupported("fasttext.open", $"{path}: the input matrix is product-quantized (.ftz); only dense matrices can be memory-mapped, load it with FastTextModel.Load");
        long shapeAt = r.Offset;
        long m = r.ReadInt64("input matrix rows");
        long n = r.ReadInt64("input matrix cols");
        long inputRows = ExpectedInputRows(header.Args, dict);
        FastTextDenseMatrix.CheckShape(r, "input matrix", shapeAt, m, n, inputRows, header.Args.Dims);
        long dataAt = r.Offset;
        long bytes = m * n * 4;
        if (r.Remaining is long left && bytes > left)
            throw r.Error($"input matrix declares {m} × {n} float32 values ({bytes} bytes) but only {left} bytes follow", shapeAt);
        r.Skip(bytes, "the input matrix");
        bool qout = ReadFlag(r, "the qout flag");
        if (qout)
            throw r.Error("qout is set but the input matrix is not quantized");
        SkipOutput(r, qout, header.Args.Dims);
        if (!r.AtEnd)
            throw r.Error("unexpected bytes after the output matrix");
        var table = MappedFile.MapTable(path, dataAt, (int)m, (int)n, DType.Float32, access);
        var input = new FastTextDenseMatrix(table);
        try
        {
            CheckInput(r, header.Args, dict, input, quantInput: false, inputAt);
        }
        catch
        {
            input.Dispose();
            throw;
        }
        return new FastTextModel(header.Version, header.Args, dict, input, null);
    }

    private static (FastTextHeader, FastTextDictionary) ReadHead(ByteReader r, ReadOptions options)
    {
        var header = FastTextHeader.Read(r);
        var dict = FastTextDictionary.Read(r, header.Args, options);
        return (header, dict);
    }

    private static bool ReadFlag(ByteReader r, string what)
    {
        long at = r.Offset;
        byte b = r.ReadByte(what);
        if (b > 1)
            throw r.Error($"{what} is {b}; a bool must be 0 or 1", at);
        return b == 1;
    }

    /// <summary>Input rows a consistent model has: its words plus every bucket, or plus the kept buckets when pruned.</summary>
    private static long ExpectedInputRows(FastTextArgs args, FastTextDictionary dict) =>
        dict.NumWords + (dict.PruneIndex is { } p ? p.Count : args.Bucket);

    private static void CheckInput(ByteReader r, FastTextArgs args, FastTextDictionary dict, FastTextMatrix input, bool quantInput, long at)
    {
        if (dict.IsPruned && !quantInput)
            throw r.Error("the dictionary is pruned but the input matrix is dense; fastText rejects such files too", at);
        if (dict.PruneIndex is { } prune)
        {
            long kept = input.Rows - dict.NumWords;
            foreach (var (bucket, row) in prune)
            {
                if (row >= kept || (args.Bucket > 0 && bucket >= args.Bucket))
                    throw r.Error($"pruneidx maps bucket {bucket} to row {row}, outside the {kept} kept n-gram rows (bucket {args.Bucket})", at);
            }
        }
    }

    private static void SkipOutput(ByteReader r, bool quantized, int dims)
    {
        long at = r.Offset;
        if (!quantized)
        {
            long m = r.ReadInt64("output matrix rows");
            long n = r.ReadInt64("output matrix cols");
            FastTextDenseMatrix.CheckShape(r, "output matrix", at, m, n, -1, dims);
            r.Skip(m * n * 4, "the output matrix");
            return;
        }
        // Quantized output is small; read it to validate and drop it.
        FastTextQuantizedMatrix.Read(r, "output matrix", -1, dims).Dispose();
    }
}

/// <summary>Streams the word vectors of a fastText model (what its <c>.vec</c> holds), one per row.</summary>
internal sealed class FastTextBinRowReader : VectorRowReader
{
    private readonly FastTextModel _model;
    private readonly RowChecks _checks;
    private readonly long _rows;
    private readonly string? _source;
    private int _next;

    public FastTextBinRowReader(Stream stream, ReadOptions options, string? source)
    {
        _model = FastTextReader.Read(stream, options, source, loadOutput: false);
        _checks = new RowChecks(options with { DuplicateWords = DuplicateWords.Throw });
        _rows = Math.Min(_model.Dictionary.NumWords, options.Limit ?? long.MaxValue);
        _source = source;
    }

    public override int Dims => _model.Dims;
    public override long? Count => _rows;
    internal override bool CountIsVerified => true;

    public override bool TryReadRow(Span<float> destination, out string? word, out long count)
    {
        if (_next >= _rows)
        {
            word = null;
            count = -1;
            return false;
        }
        int i = _next++;
        word = _model.Dictionary.Entries[i];
        count = _model.Dictionary.Counts[i];
        _model.GetWordVector(word, destination);
        _checks.Accept("fasttext.read", _source, 0, i, word, destination[..Dims]);
        return true;
    }

    public override void Dispose()
    {
        _model.Dispose();
        base.Dispose();
    }
}
