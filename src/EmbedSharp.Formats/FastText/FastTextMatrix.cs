using EmbedSharp.Formats.IO;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.FastText;

/// <summary>An input or output matrix of a fastText model: dense, or product-quantized (<c>.ftz</c>).</summary>
public abstract class FastTextMatrix : IDisposable
{
    /// <summary>Number of rows.</summary>
    public abstract long Rows { get; }

    /// <summary>Row length.</summary>
    public abstract int Cols { get; }

    /// <summary>Adds row <paramref name="row"/> to <paramref name="destination"/>, element by element in float32, as fastText does.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The row is out of range.</exception>
    public abstract void AddRowTo(long row, Span<float> destination);

    internal abstract void Write(BinaryWriter w);

    /// <summary>Frees native storage.</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);

    internal void CheckRow(long row)
    {
        if ((ulong)row >= (ulong)Rows)
            Diagnostics.ThrowHelper.ArgumentOutOfRange("fasttext.matrix", nameof(row), row, $"row {row} is out of range; the matrix has {Rows} rows (is the model file consistent?)");
    }
}

/// <summary>A dense float32 matrix stored in an <see cref="EmbeddingTable"/> (possibly memory-mapped).</summary>
public sealed class FastTextDenseMatrix : FastTextMatrix
{
    /// <summary>Wraps a float32 table; the matrix owns it.</summary>
    public FastTextDenseMatrix(EmbeddingTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (table.DType != DType.Float32)
            Diagnostics.ThrowHelper.Argument("fasttext.matrix", nameof(table), $"dtype {table.DType} is not supported; fastText matrices are Float32");
        Table = table;
    }

    /// <summary>The storage.</summary>
    public EmbeddingTable Table { get; }

    /// <inheritdoc/>
    public override long Rows => Table.NumEmbeddings;

    /// <inheritdoc/>
    public override int Cols => Table.Dims;

    /// <inheritdoc/>
    public override void AddRowTo(long row, Span<float> destination)
    {
        CheckRow(row);
        System.Numerics.Tensors.TensorPrimitives.Add(destination[..Cols], Table.GetRow<float>((int)row), destination[..Cols]);
    }

    internal static FastTextDenseMatrix Read(ByteReader r, string what, long expectedRows, int expectedCols)
    {
        long at = r.Offset;
        long m = r.ReadInt64($"{what} rows");
        long n = r.ReadInt64($"{what} cols");
        CheckShape(r, what, at, m, n, expectedRows, expectedCols);
        if (r.Remaining is long left && m * n * 4 > left)
            throw r.Error($"{what} declares {m} × {n} float32 values ({m * n * 4} bytes) but only {left} bytes follow", at);
        var table = r.Remaining is null
            ? ReadGrowing(r, what, (int)m, (int)n)
            : new EmbeddingTable((int)m, (int)n);
        if (r.Remaining is not null)
        {
            for (int i = 0; i < m; i++)
                r.ReadSingles(table.GetRow<float>(i), $"{what} row {i}");
        }
        return new FastTextDenseMatrix(table);
    }

    private static EmbeddingTable ReadGrowing(ByteReader r, string what, int m, int n)
    {
        // Unknown stream length: read in blocks so a lying header runs out of data before memory.
        var blocks = new List<float[]>();
        const int BlockFloats = 1 << 20;
        long total = (long)m * n;
        for (long done = 0; done < total;)
        {
            int take = (int)Math.Min(BlockFloats, total - done);
            var block = new float[take];
            r.ReadSingles(block, $"{what} values");
            blocks.Add(block);
            done += take;
        }
        var table = new EmbeddingTable(m, n);
        var dst = table.AsSpan<float>();
        int pos = 0;
        foreach (var b in blocks)
        {
            b.CopyTo(dst[pos..]);
            pos += b.Length;
        }
        return table;
    }

    internal static void CheckShape(ByteReader r, string what, long at, long m, long n, long expectedRows, int expectedCols)
    {
        if (m < 0 || m > int.MaxValue || n != expectedCols)
            throw r.Error($"{what} shape {m} × {n} is invalid (need 0..{int.MaxValue} rows and {expectedCols} columns = args.dim)", at);
        if (expectedRows >= 0 && m != expectedRows)
            throw r.Error($"{what} has {m} rows but the dictionary and args imply {expectedRows}", at);
    }

    internal override void Write(BinaryWriter w)
    {
        w.Write((long)Rows);
        w.Write((long)Cols);
        var bytes = new byte[Cols * 4];
        for (int i = 0; i < Rows; i++)
        {
            var row = Table.GetRow<float>(i);
            for (int j = 0; j < row.Length; j++)
                System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * j), row[j]);
            w.Write(bytes);
        }
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        Table.Dispose();
        base.Dispose();
    }
}

/// <summary>
/// fastText's product-quantizer records (<c>dim</c>, <c>nsubq</c>, <c>dsub</c>, <c>lastdsub</c>, then
/// <c>dim × 256</c> centroids), read into and written from core's <see cref="ProductQuantizer"/>,
/// whose layout (blocks of <c>dsub</c>, the last of <c>lastdsub</c>) is fastText's.
/// </summary>
internal static class FastTextQuantizer
{
    internal static ProductQuantizer Read(ByteReader r, string what, int expectedDims)
    {
        long at = r.Offset;
        int dim = r.ReadInt32($"{what} dim");
        int nsubq = r.ReadInt32($"{what} nsubq");
        int dsub = r.ReadInt32($"{what} dsub");
        int lastdsub = r.ReadInt32($"{what} lastdsub");
        if (dim != expectedDims || nsubq < 1 || dsub < 1 || lastdsub < 1 || lastdsub > dsub || (long)(nsubq - 1) * dsub + lastdsub != dim)
            throw r.Error($"{what} has dim {dim}, nsubq {nsubq}, dsub {dsub}, lastdsub {lastdsub}; need dim = {expectedDims} = (nsubq - 1)·dsub + lastdsub with 1 ≤ lastdsub ≤ dsub", at);
        long floats = (long)dim * FastTextConstants.CentroidsPerSubquantizer;
        if (r.Remaining is long left && floats * 4 > left)
            throw r.Error($"{what} needs {floats * 4} bytes of centroids but only {left} follow", at);
        float[] centroids;
        if (r.Remaining is not null)
        {
            centroids = new float[floats];
            r.ReadSingles(centroids, $"{what} centroids");
        }
        else
        {
            // Unknown length: read in blocks so a lying dim runs out of data before memory.
            var blocks = new List<float[]>();
            for (long done = 0; done < floats;)
            {
                var block = new float[Math.Min(1 << 16, floats - done)];
                r.ReadSingles(block, $"{what} centroids");
                blocks.Add(block);
                done += block.Length;
            }
            centroids = [.. blocks.SelectMany(b => b)];
        }
        int bad = Array.FindIndex(centroids, c => !float.IsFinite(c));
        if (bad >= 0)
            throw r.Error($"{what} centroid value {bad} is not finite", at);
        return ProductQuantizer.FromCentroids(dim, nsubq, dsub, centroids);
    }

    internal static void Write(BinaryWriter w, ProductQuantizer pq)
    {
        w.Write(pq.Dims);
        w.Write(pq.M);
        w.Write(pq.SubDims);
        w.Write(pq.LastSubDims);
        foreach (float c in pq.Centroids)
            w.Write(c);
    }
}

/// <summary>
/// A product-quantized matrix (<c>.ftz</c>): per row <c>nsubq</c> one-byte codes, optionally a
/// separately quantized norm (<c>qnorm</c>). Row <c>i</c> decodes to
/// <c>norm_i · concat_m centroid[m][code[i, m]]</c>.
/// </summary>
public sealed class FastTextQuantizedMatrix : FastTextMatrix
{
    private readonly byte[] _codes;
    private readonly byte[]? _normCodes;
    private readonly long _rows;
    private readonly int _cols;

    private FastTextQuantizedMatrix(long rows, int cols, byte[] codes, ProductQuantizer pq, byte[]? normCodes, ProductQuantizer? npq)
    {
        _rows = rows;
        _cols = cols;
        _codes = codes;
        Quantizer = pq;
        _normCodes = normCodes;
        NormQuantizer = npq;
    }

    /// <summary>The row quantizer.</summary>
    public ProductQuantizer Quantizer { get; }

    /// <summary>The norm quantizer, or null when norms are not quantized separately.</summary>
    public ProductQuantizer? NormQuantizer { get; }

    /// <inheritdoc/>
    public override long Rows => _rows;

    /// <inheritdoc/>
    public override int Cols => _cols;

    /// <inheritdoc/>
    public override void AddRowTo(long row, Span<float> destination)
    {
        CheckRow(row);
        float norm = 1;
        if (_normCodes is not null)
            norm = NormQuantizer!.Centroid(0, _normCodes[row])[0];
        int nsubq = Quantizer.M;
        Quantizer.AddDecoded(_codes.AsSpan((int)(row * nsubq), nsubq), 1f * norm, destination);
    }

    internal static FastTextQuantizedMatrix Read(ByteReader r, string what, long expectedRows, int expectedCols)
    {
        long at = r.Offset;
        byte qnorm = r.ReadByte($"{what} qnorm");
        if (qnorm > 1)
            throw r.Error($"{what} qnorm flag {qnorm} must be 0 or 1", at);
        long m = r.ReadInt64($"{what} rows");
        long n = r.ReadInt64($"{what} cols");
        FastTextDenseMatrix.CheckShape(r, what, at + 1, m, n, expectedRows, expectedCols);
        long codesAt = r.Offset;
        int codeSize = r.ReadInt32($"{what} codesize");
        if (r.Remaining is long left && codeSize > left)
            throw r.Error($"{what} codesize {codeSize} exceeds the {left} bytes that follow", codesAt);
        if (codeSize < 0)
            throw r.Error($"{what} codesize {codeSize} must be ≥ 0", codesAt);
        var codes = ReadBytes(r, codeSize, $"{what} codes");
        var pq = FastTextQuantizer.Read(r, $"{what} quantizer", (int)n);
        if (codeSize != m * pq.M)
            throw r.Error($"{what} codesize {codeSize} must equal rows × nsubq = {m} × {pq.M}", codesAt);
        byte[]? normCodes = null;
        ProductQuantizer? npq = null;
        if (qnorm == 1)
        {
            normCodes = ReadBytes(r, m, $"{what} norm codes");
            npq = FastTextQuantizer.Read(r, $"{what} norm quantizer", 1);
        }
        return new FastTextQuantizedMatrix(m, (int)n, codes, pq, normCodes, npq);
    }

    private static byte[] ReadBytes(ByteReader r, long count, string what)
    {
        if (r.Remaining is long left && count > left)
            throw r.Error($"{what}: {count} bytes needed but only {left} follow");
        if (r.Remaining is not null)
        {
            var exact = new byte[count];
            r.ReadExactly(exact, what);
            return exact;
        }
        // Unknown length: grow as data actually arrives.
        using var ms = new MemoryStream();
        var chunk = new byte[1 << 16];
        for (long done = 0; done < count;)
        {
            int take = (int)Math.Min(chunk.Length, count - done);
            r.ReadExactly(chunk.AsSpan(0, take), what);
            ms.Write(chunk, 0, take);
            done += take;
        }
        return ms.ToArray();
    }

    internal override void Write(BinaryWriter w)
    {
        w.Write(_normCodes is not null);
        w.Write(_rows);
        w.Write((long)_cols);
        w.Write(_codes.Length);
        w.Write(_codes);
        FastTextQuantizer.Write(w, Quantizer);
        if (_normCodes is not null)
        {
            w.Write(_normCodes);
            FastTextQuantizer.Write(w, NormQuantizer!);
        }
    }
}
