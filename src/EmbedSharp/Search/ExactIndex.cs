using System.Buffers.Binary;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Search;

/// <summary>
/// Exact search: every live row is scored. Rows are float32, float16 or bfloat16
/// (<see cref="EmbeddingTable"/>), MLX affine 4/8-bit packed (<see cref="QuantizedTable"/>) or 8-bit
/// scalar-quantized (<see cref="RowwiseQuantizedTable"/>); packed rows are scored without being
/// dequantized into memory, and the best <c>k × RerankFactor</c> candidates can be re-scored
/// against float rows.
/// </summary>
/// <remarks>
/// <para>Batches of queries go through the blocked matrix product (<c>Gemm</c>) one tile of rows at a
/// time, with each query's top k kept in a bounded heap as the tile's scores are produced: no
/// score matrix larger than <see cref="QueryBlock"/> × <see cref="RowTile"/> is ever formed. A single
/// query is a streaming scan split into row ranges across threads. Reported scores are recomputed
/// from the float rows exactly as <see cref="VectorSearch"/> computes them.</para>
/// <para>An index made with <see cref="ExactIndex(int, SimilarityMetric, DType)"/> owns its rows and
/// grows with <see cref="Add"/>; one made over an existing table or quantized table is a read-only
/// view (keep the table alive and unchanged while the index is used).</para>
/// </remarks>
// Size: one type in four files (~1,290 lines) by concern — rows and changes (this file), the single-query and
// batched scans, the row-source forms, and the exact 8-bit pre-filter. They share the live-row bookkeeping and the
// candidate re-scoring that makes every path's answers equal, which is why they are one type.
public sealed partial class ExactIndex : IVectorIndex, IDisposable
{
    /// <summary>Queries per block of the batched path (the matrix product's row block).</summary>
    internal const int QueryBlock = 96;

    /// <summary>Rows per tile of the batched path: a QueryBlock × RowTile score tile stays in L2.</summary>
    internal const int RowTile = 1024;

    private EmbeddingTable? _table;
    private readonly QuantizedTable? _packed;
    private readonly RowwiseQuantizedTable? _int8;
    private readonly EmbeddingTable? _rerank;
    private readonly bool _owned;
    private float[] _norm2;
    private ulong[] _removed;
    private int _count;
    private int _live;

    /// <summary>An empty index that owns its rows (stored as <paramref name="dtype"/>) and grows with <see cref="Add"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dims"/> is not positive or the metric is unknown.</exception>
    public ExactIndex(int dims, SimilarityMetric metric = SimilarityMetric.Cosine, DType dtype = DType.Float32)
    {
        const string op = "exact_index";
        Guard.Positive(op, dims);
        CheckMetric(op, metric);
        Metric = metric;
        Dims = dims;
        _table = new EmbeddingTable(16, dims, dtype);
        _owned = true;
        _norm2 = new float[16];
        _removed = new ulong[1];
    }

    /// <summary>A read-only view over <paramref name="table"/> (not copied; keep it alive and unchanged) under <paramref name="metric"/>.</summary>
    public ExactIndex(EmbeddingTable table, SimilarityMetric metric = SimilarityMetric.Cosine)
    {
        const string op = "exact_index";
        _table = Guard.NotNull(op, table);
        CheckMetric(op, metric);
        Metric = metric;
        Dims = table.Dims;
        _count = _live = table.NumEmbeddings;
        _norm2 = new float[_count];
        _removed = new ulong[(_count + 63) / 64];
        ComputeNorms();
    }

    private ExactIndex(QuantizedTable? packed, RowwiseQuantizedTable? int8, EmbeddingTable? rerank, int rerankFactor, SimilarityMetric metric)
    {
        const string op = "exact_index.quantized";
        CheckMetric(op, metric);
        Guard.Positive(op, rerankFactor);
        _packed = packed;
        _int8 = int8;
        Metric = metric;
        Dims = packed?.Dims ?? int8!.Dims;
        _count = _live = packed?.NumEmbeddings ?? int8!.NumEmbeddings;
        if (rerank is not null && (rerank.NumEmbeddings != _count || rerank.Dims != Dims))
            ThrowHelper.Argument(op, nameof(rerank), $"re-rank table is {rerank.NumEmbeddings} × {rerank.Dims} but the quantized rows are {_count} × {Dims}; they must match");
        _rerank = rerank;
        RerankFactor = rerankFactor;
        _norm2 = new float[_count];
        _removed = new ulong[(_count + 63) / 64];
        ComputeNorms();
    }

    /// <summary>
    /// A read-only exact index over MLX affine-packed rows, scored by dot products on the packed
    /// codes; with <paramref name="rerank"/>, the best <c>k × rerankFactor</c> are re-scored against its float rows.
    /// </summary>
    /// <exception cref="ArgumentException">The re-rank table's shape differs.</exception>
    /// <exception cref="NotSupportedException">The table is not affine (mxfp4/nvfp4/mxfp8 rows are not scanned).</exception>
    public static ExactIndex Quantized(QuantizedTable packed, SimilarityMetric metric = SimilarityMetric.Cosine, EmbeddingTable? rerank = null, int rerankFactor = 4)
    {
        Guard.NotNull("exact_index.quantized", packed);
        if (packed.Mode != QuantizationMode.Affine)
            ThrowHelper.NotSupported("exact_index.quantized", $"mode {packed.Mode} rows are not scanned; valid modes: Affine");
        return new ExactIndex(packed, null, rerank, rerankFactor, metric);
    }

    /// <summary>A read-only exact index over 8-bit row-wise scalar-quantized rows (see <see cref="Quantized(QuantizedTable, SimilarityMetric, EmbeddingTable?, int)"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The table is not 8-bit.</exception>
    public static ExactIndex Quantized(RowwiseQuantizedTable int8, SimilarityMetric metric = SimilarityMetric.Cosine, EmbeddingTable? rerank = null, int rerankFactor = 4)
    {
        Guard.NotNull("exact_index.quantized", int8);
        if (int8.Bits != 8)
            ThrowHelper.ArgumentOutOfRange("exact_index.quantized", nameof(int8), int8.Bits, "bits must be 8 for the scalar-quantized scan");
        return new ExactIndex(null, int8, rerank, rerankFactor, metric);
    }

    /// <summary>
    /// A read-only exact index over an MLX affine <paramref name="bits"/>-bit copy of this index's rows,
    /// scanned on the packed codes and re-ranked (<c>k × rerankFactor</c> candidates) against a float32
    /// copy of the rows; removed ids stay removed. The copies are the result's own (dispose it to free them).
    /// </summary>
    /// <exception cref="NotSupportedException">This index is itself a quantized view.</exception>
    public ExactIndex ToQuantized(int bits = 4, int groupSize = 64, int rerankFactor = 4)
    {
        const string op = "exact_index.to_quantized";
        if (_table is null)
            ThrowHelper.NotSupported(op, "this index is already quantized; quantize the float index it came from");
        var rows = new EmbeddingTable(_count, Dims);
        var row = new float[Dims];
        for (int r = 0; r < _count; r++)
        {
            _table.ReadRowUnchecked(r, row);
            rows.WriteRow(r, row);
        }
        var packed = QuantizedTable.Quantize(rows, groupSize, bits);
        var view = new ExactIndex(packed, null, rows, rerankFactor, Metric) { _ownedRerank = rows };
        Array.Copy(_removed, view._removed, view._removed.Length);
        view._live = _live;
        return view;
    }

    private EmbeddingTable? _ownedRerank;

    /// <inheritdoc/>
    public int NumEmbeddings => _count;

    /// <inheritdoc/>
    public int Count => _live;

    /// <inheritdoc/>
    public int Dims { get; }

    /// <inheritdoc/>
    public SimilarityMetric Metric { get; }

    /// <inheritdoc/>
    public bool IsReadOnly => !_owned;

    /// <summary>Candidates re-scored per result when the rows are quantized and a re-rank table was given.</summary>
    public int RerankFactor { get; } = 1;

    /// <summary>Whether <paramref name="id"/> is a live id.</summary>
    public bool Contains(int id) => (uint)id < (uint)_count && !IsRemoved(id);

    /// <summary>Copies the stored vector of live id <paramref name="id"/> (dequantized for packed rows); false when the id is not live.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not Dims long.</exception>
    public bool TryGetVector(int id, Span<float> destination)
    {
        Guard.Length("exact_index.get_vector", destination.Length, Dims, "Dims");
        if (!Contains(id))
            return false;
        ReadExactRow(id, destination);
        return true;
    }

    /// <inheritdoc/>
    public int Add(ReadOnlySpan<float> vector)
    {
        const string op = "exact_index.add";
        RequireOwned(op);
        Guard.Length(op, vector.Length, Dims, "Dims");
        CheckFinite(op, vector, nameof(vector));
        var table = _table!;
        if (_count == table.NumEmbeddings)
        {
            var grown = new EmbeddingTable(Math.Max(16, table.NumEmbeddings * 2), Dims, table.DType);
            table.AsBytes().CopyTo(grown.AsBytes());
            table.Dispose();
            _table = table = grown;
            Array.Resize(ref _norm2, grown.NumEmbeddings);
            Array.Resize(ref _removed, (grown.NumEmbeddings + 63) / 64);
        }
        int id = _count;
        table.WriteRow(id, vector);
        _norm2[id] = RowNorm2(id);
        _inverseNorms = null;
        _maxNorm2 = -1;
        _count++;
        _live++;
        return id;
    }

    /// <inheritdoc/>
    public bool Remove(int id)
    {
        RequireOwned("exact_index.remove");
        if (!Contains(id))
            return false;
        _removed[id >> 6] |= 1UL << id;
        _live--;
        return true;
    }

    /// <summary>Frees the owned rows (views leave their table alone).</summary>
    public void Dispose()
    {
        if (_owned)
            _table?.Dispose();
        _ownedRerank?.Dispose();
    }

    internal bool IsRemoved(int id) => (_removed[id >> 6] & (1UL << id)) != 0;

    private void RequireOwned(string op)
    {
        if (!_owned)
            ThrowHelper.NotSupported(op, "this index is a read-only view over a table it does not own; create one with new ExactIndex(dims, metric) to add and remove");
    }

    private static void CheckMetric(string op, SimilarityMetric metric)
    {
        if (!Enum.IsDefined(metric))
            ThrowHelper.ArgumentOutOfRange(op, nameof(metric), metric, "valid values are Cosine, Dot, L2");
    }

    internal static void CheckFinite(string op, ReadOnlySpan<float> values, string name)
    {
        int bad = Kernels.FirstNonFinite(values);
        if (bad >= 0)
            ThrowHelper.Argument(op, name, $"{name}[{bad}] is {values[bad]}; vectors must be finite (NaN and infinity are rejected)");
    }

    private void ComputeNorms() =>
        ParallelWork.For(_count, 1024, ParallelWork.DefaultThreads, (start, end) =>
        {
            for (int r = start; r < end; r++)
                _norm2[r] = RowNorm2(r);
        });

    private float RowNorm2(int row)
    {
        Span<float> buffer = Dims <= 1024 ? stackalloc float[Dims] : new float[Dims];
        ReadScoredRow(row, buffer);
        return (float)Sq(buffer);
    }

    private static double Sq(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (float v in x)
            s += (double)v * v;
        return s;
    }

    /// <summary>Row <paramref name="row"/> as the scan sees it (dequantized for packed rows).</summary>
    internal void ReadScoredRow(int row, Span<float> destination)
    {
        if (_table is not null)
            _table.ReadRowUnchecked(row, destination);
        else if (_packed is not null)
            _packed.DequantizeRowFast(row, destination);
        else
            _int8!.DequantizeRowUnchecked(row, destination);
    }

    /// <summary>Row <paramref name="row"/> as float32 for reported scores: the re-rank table when there is one.</summary>
    private void ReadExactRow(int row, Span<float> destination)
    {
        if (_rerank is not null)
            _rerank.ReadRowUnchecked(row, destination);
        else
            ReadScoredRow(row, destination);
    }

    // ---- persistence -------------------------------------------------------------------------

    private const uint Magic = 0x49584545; // "EEXI" little-endian: EmbedSharp EXact Index
    private const int Version = 1;
    private const int HeaderBytes = 32;

    /// <inheritdoc/>
    /// <remarks>
    /// Layout (little-endian): magic "EEXI", version, metric, dtype, NumEmbeddings, Dims, 8 reserved
    /// bytes, then NumEmbeddings × Dims stored elements, then the removed-id bit set
    /// (<c>⌈NumEmbeddings/64⌉</c> uint64). Quantized views are saved through their table's own format.
    /// </remarks>
    /// <exception cref="NotSupportedException">The index is a quantized view.</exception>
    public void Save(Stream destination)
    {
        const string op = "exact_index.save";
        Guard.NotNull(op, destination);
        if (_table is null)
            ThrowHelper.NotSupported(op, "a quantized view is saved through its table's format (MLX safetensors or FBGEMM rows); save a float index instead");
        Span<byte> header = stackalloc byte[HeaderBytes];
        header.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], (int)Metric);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], (int)_table.DType);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], _count);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], Dims);
        destination.Write(header);
        destination.Write(_table.AsBytes()[..checked(_count * Dims * _table.ElementSize)]);
        var bits = new byte[(_count + 63) / 64 * 8];
        for (int w = 0; w < bits.Length / 8; w++)
            BinaryPrimitives.WriteUInt64LittleEndian(bits.AsSpan(w * 8), _removed[w]);
        destination.Write(bits);
    }

    /// <summary>Reads an index written by <see cref="Save"/>; the result owns its rows.</summary>
    /// <exception cref="InvalidDataException">The stream is not an index of this format, or is truncated or inconsistent.</exception>
    public static ExactIndex Open(Stream source)
    {
        const string op = "exact_index.open";
        Guard.NotNull(op, source);
        Span<byte> header = stackalloc byte[HeaderBytes];
        ReadExactly(source, header, 0, op);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
            Bad(op, 0, "not an exact index (magic is not EEXI)");
        int version = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (version != Version)
            Bad(op, 4, $"version {version} is not supported; valid: {Version}");
        var metric = (SimilarityMetric)BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (!Enum.IsDefined(metric))
            Bad(op, 8, $"metric {(int)metric} is unknown; valid: 0 Cosine, 1 Dot, 2 L2");
        var dtype = (DType)BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        if (dtype is not (DType.Float32 or DType.Float16 or DType.BFloat16))
            Bad(op, 12, $"dtype {(int)dtype} is unknown; valid: Float32, Float16, BFloat16");
        int count = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        int dims = BinaryPrimitives.ReadInt32LittleEndian(header[20..]);
        if (count < 0)
            Bad(op, 16, $"NumEmbeddings {count} is negative");
        if (dims <= 0)
            Bad(op, 20, $"Dims {dims} is not positive");
        long rowBytes = (long)count * dims * dtype.SizeInBytes();
        long bitBytes = (count + 63L) / 64 * 8;
        if (source.CanSeek && source.Length - source.Position < rowBytes + bitBytes)
            Bad(op, HeaderBytes, $"the header promises {rowBytes + bitBytes} bytes of rows and removed ids but {source.Length - source.Position} remain (truncated)");
        if (rowBytes > int.MaxValue)
            Bad(op, 16, $"{count} × {dims} rows do not fit one table");
        var index = new ExactIndex(dims, metric, dtype);
        try
        {
            // Rows are read in chunks so a lying header on an unseekable stream fails at its end, not with a huge allocation up front.
            var rows = new byte[Math.Min(rowBytes, 1 << 20)];
            var row = new float[dims];
            var table = new EmbeddingTable(Math.Max(count, 16), dims, dtype);
            index._table!.Dispose();
            index._table = table;
            index._norm2 = new float[table.NumEmbeddings];
            index._removed = new ulong[(table.NumEmbeddings + 63) / 64];
            long done = 0;
            var dst = table.AsBytes();
            while (done < rowBytes)
            {
                int n = (int)Math.Min(rows.Length, rowBytes - done);
                ReadExactly(source, rows.AsSpan(0, n), HeaderBytes + done, op);
                rows.AsSpan(0, n).CopyTo(dst[(int)done..]);
                done += n;
            }
            var bits = new byte[bitBytes];
            ReadExactly(source, bits, HeaderBytes + rowBytes, op);
            int live = 0;
            for (int w = 0; w < bits.Length / 8; w++)
                index._removed[w] = BinaryPrimitives.ReadUInt64LittleEndian(bits.AsSpan(w * 8));
            if ((count & 63) != 0 && (index._removed[count >> 6] >> (count & 63)) != 0)
                Bad(op, HeaderBytes + rowBytes, "the removed-id bit set marks ids past NumEmbeddings");
            index._count = count;
            for (int r = 0; r < count; r++)
            {
                if (!index.IsRemoved(r))
                    live++;
                table.ReadRowUnchecked(r, row);
                if (Kernels.FirstNonFinite(row) >= 0)
                    Bad(op, HeaderBytes + (long)r * dims * dtype.SizeInBytes(), $"row {r} holds NaN or infinity");
                index._norm2[r] = (float)Sq(row);
            }
            index._live = live;
            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    private static void ReadExactly(Stream source, Span<byte> buffer, long position, string op)
    {
        int read = source.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read < buffer.Length)
            Bad(op, position + read, $"the stream ends {buffer.Length - read} bytes early (truncated)");
    }

    private static void Bad(string op, long position, string text) =>
        throw new InvalidDataException(ThrowHelper.Format(op, $"at byte {position}: {text}"));
}
