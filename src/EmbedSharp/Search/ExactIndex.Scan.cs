using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Search;

public sealed partial class ExactIndex
{
    /// <summary>Rows per chunk a thread claims in the single-query scan.</summary>
    private const int ScanGrain = 8192;

    /// <inheritdoc/>
    public Neighbor[] Search(ReadOnlySpan<float> query, int k, SearchFilter? filter = null) => Search(query, k, filter, -1);

    /// <summary><see cref="Search(ReadOnlySpan{float}, int, SearchFilter?)"/> on up to <paramref name="threads"/> threads (−1: the machine's).</summary>
    public Neighbor[] Search(ReadOnlySpan<float> query, int k, SearchFilter? filter, int threads)
    {
        const string op = "exact_index.search";
        Guard.Length(op, query.Length, Dims, "Dims");
        Guard.NonNegative(op, k);
        CheckFinite(op, query, nameof(query));
        if (k == 0 || _live == 0)
            return [];
        var q = Prepare(query);
        if (UsesPrefilter(filter, k))
            return PrefilterSearch(query, q, 1, k, threads <= 0 ? ParallelWork.DefaultThreads : threads)[0];
        int candidates = Candidates(k);
        var top = new TopKCollector(candidates);
        if (SelectiveIds(filter) is { } ids)
        {
            ScanIds(q, ids, top);
        }
        else
        {
            var parts = new List<TopKCollector>();
            ParallelWork.For(_count, ScanGrain, threads <= 0 ? ParallelWork.DefaultThreads : threads,
                () =>
                {
                    var c = new TopKCollector(candidates);
                    lock (parts)
                        parts.Add(c);
                    return c;
                },
                (c, start, end) => ScanRange(q, start, end, c, filter),
                static _ => { });
            foreach (var part in parts)
                top.Merge(part);
        }
        return Finish(query, top, k);
    }

    /// <inheritdoc/>
    public Neighbor[][] SearchBatch(ReadOnlySpan<float> queries, int k, SearchFilter? filter = null, int threads = -1)
    {
        const string op = "exact_index.search_batch";
        if (queries.Length % Dims != 0)
            ThrowHelper.Argument(op, nameof(queries), $"{queries.Length} values is not a whole number of {Dims}-long queries");
        Guard.NonNegative(op, k);
        CheckFinite(op, queries, nameof(queries));
        int m = queries.Length / Dims;
        var results = new Neighbor[m][];
        if (m == 0)
            return results;
        if (threads <= 0)
            threads = ParallelWork.DefaultThreads;
        if (k == 0 || _live == 0)
        {
            for (int i = 0; i < m; i++)
                results[i] = [];
            return results;
        }
        var prepared = new float[queries.Length];
        for (int i = 0; i < m; i++)
            Prepare(queries.Slice(i * Dims, Dims)).CopyTo(prepared.AsSpan(i * Dims));
        if (UsesPrefilter(filter, k))
            return PrefilterSearch(queries, prepared, m, k, threads);
        int candidates = Candidates(k);
        var tops = new TopKCollector[m];
        var ids = SelectiveIds(filter);
        if (_table is null || ids is not null || m < 4)
        {
            // Packed rows, selective filters and tiny batches: one streaming scan per query, queries across threads.
            ParallelWork.For(m, 1, threads, (start, end) =>
            {
                for (int i = start; i < end; i++)
                {
                    var top = tops[i] = new TopKCollector(candidates);
                    var q = prepared.AsSpan(i * Dims, Dims).ToArray();
                    if (ids is not null)
                        ScanIds(q, ids, top);
                    else
                        ScanRange(q, 0, _count, top, filter);
                }
            });
        }
        else if (m <= MultiScanMaxQueries && _table.DType == DType.Float32)
        {
            MultiScan(prepared, m, candidates, filter, threads, tops);
        }
        else
        {
            BatchTiles(prepared, m, candidates, filter, threads, tops);
        }
        var source = queries.ToArray();
        ParallelWork.For(m, 16, threads, (start, end) =>
        {
            for (int i = start; i < end; i++)
                results[i] = Finish(source.AsSpan(i * Dims, Dims), tops[i], k);
        });
        return results;
    }

    private int Candidates(int k) =>
        (int)Math.Min(_live, (_rerank is not null ? (long)k * RerankFactor : k));

    /// <summary>The allowed ids when a filter allows few enough rows that visiting them beats a full scan.</summary>
    private int[]? SelectiveIds(SearchFilter? filter) =>
        filter?.AllowedCount is int allowed && allowed < _count / 8 ? filter.AllowedIds(_count) : null;

    /// <summary>The query as scanned: unit length for Cosine (a zero query stays zero), unchanged otherwise.</summary>
    private float[] Prepare(ReadOnlySpan<float> query)
    {
        var q = query.ToArray();
        if (Metric == SimilarityMetric.Cosine)
        {
            double norm = SearchKernels.Norm(q);
            if (norm > 0)
            {
                for (int i = 0; i < q.Length; i++)
                    q[i] = (float)(q[i] / norm);
            }
        }
        return q;
    }

    /// <summary>Exact reported scores for the kept candidates, re-sorted, the first k.</summary>
    private Neighbor[] Finish(ReadOnlySpan<float> query, TopKCollector top, int k)
    {
        var kept = top.ToSorted();
        var row = new float[Dims];
        double qNorm = SearchKernels.Norm(query);
        var scored = new Neighbor[kept.Length];
        for (int i = 0; i < kept.Length; i++)
        {
            int id = kept[i].Index;
            ReadExactRow(id, row);
            float s = Metric switch
            {
                SimilarityMetric.Dot => SearchKernels.Dot(row, query),
                SimilarityMetric.L2 => MathF.Sqrt(SearchKernels.SquaredDistance(row, query)),
                _ => CosineOf(SearchKernels.Dot(row, query), SearchKernels.Norm(row), qNorm),
            };
            scored[i] = new Neighbor(id, s);
        }
        bool largest = Metric != SimilarityMetric.L2;
        Array.Sort(scored, (a, b) =>
            VectorSearch.Better(a.Score, a.Index, b.Score, b.Index, largest) ? -1 : VectorSearch.Better(b.Score, b.Index, a.Score, a.Index, largest) ? 1 : 0);
        return scored.Length > k ? scored[..k] : scored;
    }

    private static float CosineOf(float dot, double rowNorm, double queryNorm) =>
        rowNorm == 0 || queryNorm == 0 ? 0f : (float)(dot / (rowNorm * queryNorm));

    // ---- streaming scan ----------------------------------------------------------------------

    private void ScanIds(float[] q, int[] ids, TopKCollector top)
    {
        foreach (int id in ids)
        {
            if (id >= _count || IsRemoved(id))
                continue;
            ScanRange(q, id, id + 1, top, null);
        }
    }

    private unsafe void ScanRange(float[] q, int start, int end, TopKCollector top, SearchFilter? filter)
    {
        fixed (float* qp = q)
        {
            if (_table is { } table)
            {
                switch (table.DType)
                {
                    case DType.Float32 when end - start >= PackedMinRows && SearchKernels.SupportsDotRows(Dims):
                        ScanFloatTiles((float*)table.Pointer, qp, start, end, top, filter);
                        break;
                    case DType.Float32:
                        ScanMetric(new FloatRows((float*)table.Pointer, Dims, qp), start, end, top, filter);
                        break;
                    case DType.Float16:
                        ScanMetric(new WideningRows<Half>((Half*)table.Pointer, Dims, qp), start, end, top, filter);
                        break;
                    default:
                        ScanMetric(new WideningRows<BFloat16>((BFloat16*)table.Pointer, Dims, qp), start, end, top, filter);
                        break;
                }
                GC.KeepAlive(table);
            }
            else if (_packed is { } packed)
            {
                if (end - start >= PackedMinRows && PackedScan4.Supports(packed) && PackedScan4.Suits(q))
                {
                    ScanPacked4(packed, q, start, end, top, filter);
                    return;
                }
                var reader = new QuantizedTable.RowReader(packed);
                try
                {
                    ScanMetric(new PackedRows(reader, packed, q), start, end, top, filter);
                }
                finally
                {
                    reader.Dispose();
                }
            }
            else
            {
                var int8 = _int8!;
                fixed (byte* codes = int8.Codes)
                fixed (Half* scales = int8.Scales)
                fixed (Half* biases = int8.Biases)
                    ScanMetric(new Int8Rows(codes, scales, biases, Dims, qp, Sum(q)), start, end, top, filter);
            }
        }
    }

    private static float Sum(ReadOnlySpan<float> x)
    {
        float s = 0;
        foreach (float v in x)
            s += v;
        return s;
    }

    private void ScanMetric<TRows>(TRows rows, int start, int end, TopKCollector top, SearchFilter? filter)
        where TRows : struct, IRowDots
    {
        switch (Metric)
        {
            case SimilarityMetric.Dot:
                Scan<TRows, DotGoodness>(rows, start, end, top, filter);
                break;
            case SimilarityMetric.L2:
                Scan<TRows, L2Goodness>(rows, start, end, top, filter);
                break;
            default:
                Scan<TRows, CosineGoodness>(rows, start, end, top, filter);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Scan<TRows, TGoodness>(TRows rows, int start, int end, TopKCollector top, SearchFilter? filter)
        where TRows : struct, IRowDots
        where TGoodness : struct, IGoodness
    {
        float[] norm2 = RowTerms();
        ulong[] removed = _removed;
        for (int r = start; r < end; r++)
        {
            float g = TGoodness.Of(rows.Dot(r), norm2[r]);
            // NaN passes the quick test on purpose: Push ranks it after every number.
            if (g < top.Floor)
                continue;
            if ((removed[r >> 6] & (1UL << r)) != 0 || (filter is not null && !filter.Allows(r)))
                continue;
            top.Push(g, r);
        }
    }

    // ---- a few queries in one pass --------------------------------------------------------------

    /// <summary>Largest batch that <see cref="MultiScan"/> answers; larger ones go through the GEMM tiles.</summary>
    internal const int MultiScanMaxQueries = 48;

    /// <summary>Rows scored per step of <see cref="MultiScan"/>: a tile stays in L2 while every query block passes over it.</summary>
    private const int MultiScanTile = 256;

    private sealed class MultiScanState(int m, int candidates)
    {
        public readonly TopKCollector[] Tops = Enumerable.Range(0, m).Select(_ => new TopKCollector(candidates)).ToArray();
        public readonly float[] Scores = new float[m * MultiScanTile];
    }

    /// <summary>
    /// A small float32 batch as one streaming pass over the table: each tile of rows is read from memory once and
    /// scored against four queries at a time (<see cref="SearchKernels.DotFour"/>), then collected per query. A
    /// few queries are bound by the table's bandwidth, where the GEMM tiles would pack every tile and compute
    /// for a whole query block.
    /// </summary>
    private unsafe void MultiScan(float[] prepared, int m, int candidates, SearchFilter? filter, int threads, TopKCollector[] tops)
    {
        var table = _table!;
        int tiles = (_count + MultiScanTile - 1) / MultiScanTile;
        var parts = new List<MultiScanState>();
        ParallelWork.For(tiles, 8, threads,
            () =>
            {
                var state = new MultiScanState(m, candidates);
                lock (parts)
                    parts.Add(state);
                return state;
            },
            (state, first, last) => MultiScanTiles(prepared, m, state, first, last, filter),
            static _ => { });
        GC.KeepAlive(table);
        for (int i = 0; i < m; i++)
        {
            tops[i] = new TopKCollector(candidates);
            foreach (var part in parts)
                tops[i].Merge(part.Tops[i]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void MultiScanTiles(float[] prepared, int m, MultiScanState state, int first, int last, SearchFilter? filter)
    {
        var table = _table!;
        int dims = Dims, count = _count;
        fixed (float* qp = prepared)
        fixed (float* sp = state.Scores)
        {
            for (int t = first; t < last; t++)
            {
                int r0 = t * MultiScanTile, rn = Math.Min(MultiScanTile, count - r0);
                float* rows = (float*)table.Pointer + (nint)r0 * dims;
                for (int q0 = 0; q0 < m; q0 += 4)
                {
                    int qn = Math.Min(4, m - q0);
                    float* a = qp + (nint)q0 * dims;
                    // A short last block repeats its first query; the extra scores are not read.
                    float* b = qn > 1 ? a + dims : a, c = qn > 2 ? a + 2 * dims : a, d = qn > 3 ? a + 3 * dims : a;
                    float* out0 = sp + (nint)q0 * MultiScanTile;
                    for (int j = 0; j < rn; j++)
                    {
                        var dots = SearchKernels.DotFour(rows + (nint)j * dims, a, b, c, d, dims);
                        out0[j] = dots.GetElement(0);
                        if (qn > 1)
                            out0[MultiScanTile + j] = dots.GetElement(1);
                        if (qn > 2)
                            out0[2 * MultiScanTile + j] = dots.GetElement(2);
                        if (qn > 3)
                            out0[3 * MultiScanTile + j] = dots.GetElement(3);
                    }
                }
                for (int i = 0; i < m; i++)
                    Collect(new ReadOnlySpan<float>(sp + (nint)i * MultiScanTile, rn), r0, state.Tops[i], filter);
            }
        }
        GC.KeepAlive(table);
    }

    // ---- batched tiles -----------------------------------------------------------------------

    private unsafe void BatchTiles(float[] prepared, int m, int candidates, SearchFilter? filter, int threads, TopKCollector[] tops)
    {
        var table = _table!;
        int blocks = (m + QueryBlock - 1) / QueryBlock;
        int tiles = (_count + RowTile - 1) / RowTile;
        // Enough row parts that every thread has work even when there are few query blocks.
        int parts = Math.Clamp((2 * threads + blocks - 1) / blocks, 1, tiles);
        var partial = new TopKCollector[parts][];
        for (int p = 0; p < parts; p++)
        {
            partial[p] = new TopKCollector[m];
            for (int i = 0; i < m; i++)
                partial[p][i] = new TopKCollector(candidates);
        }
        int dims = Dims, count = _count;
        nint tableAddress = (nint)table.Pointer;
        int elementSize = table.ElementSize;
        DType dtype = table.DType;
        ParallelWork.For(blocks * parts, 1, threads,
            () => new float[QueryBlock * RowTile],
            (scores, first, last) =>
            {
                fixed (float* qp = prepared)
                fixed (float* sp = scores)
                {
                    for (int item = first; item < last; item++)
                    {
                        int block = item / parts, part = item % parts;
                        int q0 = block * QueryBlock, qn = Math.Min(QueryBlock, m - q0);
                        int tile0 = (int)((long)tiles * part / parts), tile1 = (int)((long)tiles * (part + 1) / parts);
                        for (int t = tile0; t < tile1; t++)
                        {
                            int r0 = t * RowTile, rn = Math.Min(RowTile, count - r0);
                            byte* rows = (byte*)tableAddress + (nint)r0 * dims * elementSize;
                            float* a = qp + (nint)q0 * dims;
                            switch (dtype)
                            {
                                case DType.Float32:
                                    Gemm.MultiplyTransposed(a, qn, dims, (float*)rows, rn, sp, rn, 1);
                                    break;
                                case DType.Float16:
                                    Gemm.MultiplyTransposed(a, qn, dims, (Half*)rows, rn, sp, rn, 1);
                                    break;
                                default:
                                    Gemm.MultiplyTransposed(a, qn, dims, (BFloat16*)rows, rn, sp, rn, 1);
                                    break;
                            }
                            for (int i = 0; i < qn; i++)
                                Collect(new ReadOnlySpan<float>(sp + (nint)i * rn, rn), r0, partial[part][q0 + i], filter);
                        }
                    }
                }
            },
            static _ => { });
        GC.KeepAlive(table);
        for (int i = 0; i < m; i++)
        {
            tops[i] = partial[0][i];
            for (int p = 1; p < parts; p++)
                tops[i].Merge(partial[p][i]);
        }
    }

    private void Collect(ReadOnlySpan<float> dots, int r0, TopKCollector top, SearchFilter? filter)
    {
        switch (Metric)
        {
            case SimilarityMetric.Dot:
                Collect<DotGoodness>(dots, r0, top, filter);
                break;
            case SimilarityMetric.L2:
                Collect<L2Goodness>(dots, r0, top, filter);
                break;
            default:
                Collect<CosineGoodness>(dots, r0, top, filter);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Collect<TGoodness>(ReadOnlySpan<float> dots, int r0, TopKCollector top, SearchFilter? filter)
        where TGoodness : struct, IGoodness
    {
        float[] norm2 = RowTerms();
        ulong[] removed = _removed;
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // Eight candidates at a time: most tiles hold no row better than the current k-th, so
            // one compare skips them; a block with a candidate (or a NaN) goes through the scalar path.
            float[] aux = norm2;
            for (; j <= dots.Length - 8; j += 8)
            {
                var rowTerms = TGoodness.UsesRowTerm ? Vector256.Create(aux.AsSpan(r0 + j, 8)) : default;
                var g = TGoodness.Of(Vector256.Create(dots.Slice(j, 8)), rowTerms);
                var floor = Vector256.Create(top.Floor);
                if (Vector256.LessThanAll(g, floor))
                    continue;
                for (int t = j; t < j + 8; t++)
                    Consider<TGoodness>(dots[t], r0 + t, top, filter, norm2, removed);
            }
        }
        for (; j < dots.Length; j++)
            Consider<TGoodness>(dots[j], r0 + j, top, filter, norm2, removed);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Consider<TGoodness>(float dot, int r, TopKCollector top, SearchFilter? filter, float[] norm2, ulong[] removed)
        where TGoodness : struct, IGoodness
    {
        float g = TGoodness.Of(dot, norm2[r]);
        if (g < top.Floor)
            return;
        if ((removed[r >> 6] & (1UL << r)) != 0 || (filter is not null && !filter.Allows(r)))
            return;
        top.Push(g, r);
    }

    private float[]? _inverseNorms;

    /// <summary>The per-row term of the goodness: <c>1/|row|</c> for Cosine, <c>|row|²</c> otherwise.</summary>
    private float[] RowTerms() => Metric == SimilarityMetric.Cosine ? InverseNorms() : _norm2;

    /// <summary><c>1/|row|</c> per row (0 for a zero row), made once per index state for the vectorised Cosine collect.</summary>
    private float[] InverseNorms()
    {
        var inv = _inverseNorms;
        if (inv is not null && inv.Length == _norm2.Length)
            return inv;
        inv = new float[_norm2.Length];
        for (int r = 0; r < inv.Length; r++)
            inv[r] = _norm2[r] > 0 ? 1f / MathF.Sqrt(_norm2[r]) : 0f;
        return _inverseNorms = inv;
    }
}
