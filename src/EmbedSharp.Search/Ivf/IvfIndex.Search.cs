using System.Runtime.Intrinsics;
using EmbedSharp.Diagnostics;
using EmbedSharp.Quantization;
using EmbedSharp.Search.Hnsw;

namespace EmbedSharp.Search.Ivf;

public sealed unsafe partial class IvfIndex
{
    /// <summary>Filters allowing fewer than this fraction of the vectors make a search visit every list.</summary>
    private const double SelectiveFilter = 0.05;

    /// <inheritdoc/>
    public Neighbor[] Search(ReadOnlySpan<float> query, int k, SearchFilter? filter = null) => Search(query, k, filter, NProbe);

    /// <summary>Search visiting the <paramref name="nprobe"/> nearest lists.</summary>
    /// <exception cref="ArgumentException">The query is not Dims long or not finite.</exception>
    public Neighbor[] Search(ReadOnlySpan<float> query, int k, SearchFilter? filter, int nprobe)
    {
        const string op = "ivf.search";
        Guard.NonNegative(op, k);
        Guard.Positive(op, nprobe);
        return SearchPrepared(Prepare(op, query, nameof(query)), k, filter, nprobe);
    }

    /// <inheritdoc/>
    public Neighbor[][] SearchBatch(ReadOnlySpan<float> queries, int k, SearchFilter? filter = null, int threads = -1) =>
        SearchBatch(queries, k, filter, threads, NProbe);

    /// <summary>Batch search with an explicit <paramref name="nprobe"/>; queries run in parallel.</summary>
    public Neighbor[][] SearchBatch(ReadOnlySpan<float> queries, int k, SearchFilter? filter, int threads, int nprobe)
    {
        const string op = "ivf.search_batch";
        Guard.NonNegative(op, k);
        Guard.Positive(op, nprobe);
        return BatchSearch.Run(op, queries, Dims, threads, q => Prepare(op, q, nameof(queries)), q => SearchPrepared(q, k, filter, nprobe));
    }

    private float[] Prepare(string op, ReadOnlySpan<float> query, string name)
    {
        Guard.Length(op, query.Length, Dims, "Dims");
        int bad = Distances.FirstNonFinite(query);
        if (bad >= 0)
            ThrowHelper.Argument(op, name, $"{name}[{bad}] is {query[bad]}; vectors must be finite (NaN and infinity are rejected)");
        var q = query.ToArray();
        if (Metric == SimilarityMetric.Cosine)
            Distances.Normalize(q);
        return q;
    }

    /// <summary>The <paramref name="nprobe"/> lists to visit: nearest centroids (L2, Cosine) or largest <c>q·c</c> (Dot), best first.</summary>
    internal int[] ProbeLists(ReadOnlySpan<float> q, int nprobe)
    {
        var scratch = Scratch.Rent(this);
        int count = SelectLists(q, nprobe, scratch);
        var lists = scratch.Lists.AsSpan(0, count).ToArray();
        Scratch.Return(scratch);
        return lists;
    }

    /// <summary>Writes the <paramref name="nprobe"/> best lists, best first, to <c>scratch.Lists</c>; returns how many.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private int SelectLists(ReadOnlySpan<float> q, int nprobe, Scratch scratch)
    {
        int nlist = _lists.Length;
        nprobe = Math.Min(nprobe, nlist);
        bool dot = Metric == SimilarityMetric.Dot;
        var scores = scratch.Scores;
        fixed (float* qp = q)
        fixed (float* cp = _centroids)
        fixed (float* sp = scores)
            IvfKernels.CentroidScores(qp, cp, nlist, Dims, !dot, sp);
        var heap = scratch.Heap;
        heap.Clear();
        for (int c = 0; c < nlist; c++)
        {
            float d = dot ? -scores[c] : scores[c];
            if (heap.Count == nprobe && d > -heap.TopDistance)
                continue;
            Keep(heap, nprobe, d, c);
        }
        int n = heap.Count;
        for (int i = n - 1; i >= 0; i--)
            scratch.Lists[i] = heap.Pop().Id;
        return n;
    }

    /// <summary>Keeps the <paramref name="k"/> smallest (distance, id) in a max-heap of negated distances.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Keep(MinHeap heap, int k, float d, int id)
    {
        if (heap.Count < k)
        {
            heap.Push(-d, id);
        }
        else if (d < -heap.TopDistance || (d == -heap.TopDistance && id < heap.TopId))
        {
            heap.Pop();
            heap.Push(-d, id);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private Neighbor[] SearchPrepared(float[] q, int k, SearchFilter? filter, int nprobe)
    {
        if (k == 0 || _live == 0)
            return [];
        if (filter is not null)
        {
            double selectivity = filter.AllowedCount is int allowed ? (double)allowed / _live : filter.Selectivity(_numEmbeddings);
            if (selectivity < SelectiveFilter)
                nprobe = _lists.Length;
        }
        int candidates = KeepsVectors ? k * Options.RerankFactor : k;
        var scratch = Scratch.Rent(this);
        int probes = SelectLists(q, nprobe, scratch);
        bool dot = Metric == SimilarityMetric.Dot;
        var heap = scratch.Heap;
        heap.Clear();
        var removed = _removed;
        int stride = _pq?.M ?? Dims * 4;
        // With OPQ the codes live in the rotated space: tables come from q·R and (for L2) the
        // rotated residual q·R − c·R; the list's base score q·c needs no rotation.
        if (_rotation is not null)
            Opq.Rotate(q, Dims, _rotation, scratch.Rotated);
        fixed (float* qp = q)
        fixed (float* qr = _rotation is null ? q : scratch.Rotated)
        fixed (float* cp = _centroids)
        fixed (float* crp = _rotation is null ? _centroids : _rotatedCentroids)
        fixed (float* table = scratch.Table)
        fixed (float* residual = scratch.Residual)
        fixed (float* codebooks = _codebooksT)
        {
            if (_pq is not null && dot)
                IvfKernels.AdcTable(qr, codebooks, _pq.M, _pq.SubDims, false, table);
            for (int p = 0; p < probes; p++)
            {
                int l = scratch.Lists[p];
                var list = _lists[l];
                int count = list.Count;
                if (count == 0)
                    continue;
                float* centroid = cp + (nint)l * Dims;
                float baseScore = 0;
                if (_pq is not null)
                {
                    if (dot)
                    {
                        baseScore = Distances.Dot(qp, centroid, Dims);
                    }
                    else
                    {
                        float* rc = crp + (nint)l * Dims;
                        for (int j = 0; j < Dims; j++)
                            residual[j] = qr[j] - rc[j];
                        IvfKernels.AdcTable(residual, codebooks, _pq.M, _pq.SubDims, true, table);
                    }
                }
                var scores = scratch.ScoresFor(count);
                fixed (byte* data = list.DataSpan(stride))
                fixed (float* sp = scores)
                {
                    if (_pq is null)
                        IvfKernels.CentroidScores(qp, (float*)data, count, Dims, !dot, sp);
                    else
                        IvfKernels.AdcScan(data, count, _pq.M, table, sp);
                }
                var ids = list.IdSpan;
                int i = 0;
                if (Vector256.IsHardwareAccelerated && heap.Count == candidates)
                {
                    // Eight candidates per compare once the heap is full: most blocks hold none nearer than its
                    // top, and each lane's distance is formed exactly as the scalar form below forms it.
                    var baseVector = Vector256.Create(baseScore);
                    for (; i <= count - 8; i += 8)
                    {
                        var block = Vector256.Create(scores, i);
                        var d8 = dot ? -(baseVector + block) : block;
                        if (Vector256.GreaterThanAll(d8, Vector256.Create(-heap.TopDistance)))
                            continue;
                        for (int t = i; t < i + 8; t++)
                            Consider(dot ? -(baseScore + scores[t]) : scores[t], ids[t], heap, candidates, removed, filter);
                    }
                }
                for (; i < count; i++)
                    Consider(dot ? -(baseScore + scores[i]) : scores[i], ids[i], heap, candidates, removed, filter);
            }
        }
        var found = new (float Distance, int Id)[heap.Count];
        for (int i = found.Length - 1; i >= 0; i--)
        {
            var (negD, id) = heap.Pop();
            found[i] = (-negD, id);
        }
        Scratch.Return(scratch);
        if (KeepsVectors)
        {
            fixed (float* qp = q)
            fixed (float* owned = _raw)
            {
                float* raw = _rawMapped != null ? _rawMapped : owned;
                for (int i = 0; i < found.Length; i++)
                {
                    float* v = raw + (nint)found[i].Id * Dims;
                    found[i].Distance = Metric == SimilarityMetric.Dot ? -Distances.Dot(qp, v, Dims) : Distances.SquaredL2(qp, v, Dims);
                }
            }
        }
        Array.Sort(found, static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Id.CompareTo(b.Id));
        int n = Math.Min(k, found.Length);
        var result = new Neighbor[n];
        for (int i = 0; i < n; i++)
        {
            float d = found[i].Distance;
            float score = Metric switch
            {
                SimilarityMetric.L2 => MathF.Sqrt(Math.Max(d, 0f)),
                SimilarityMetric.Cosine => 1f - d / 2f,
                _ => -d,
            };
            result[i] = new Neighbor(found[i].Id, score);
        }
        return result;
    }

    /// <summary>One candidate at distance <paramref name="d"/>: kept when nearer than the heap's top (or the heap is not full), live and allowed.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Consider(float d, int id, MinHeap heap, int candidates, ulong[] removed, SearchFilter? filter)
    {
        if (heap.Count == candidates && d > -heap.TopDistance)
            return;
        if ((removed[id >> 6] & (1UL << id)) != 0 || (filter is not null && !filter.Allows(id)))
            return;
        Keep(heap, candidates, d, id);
    }

    /// <summary>Per-thread buffers of one search, reused so that a query allocates only its answer.</summary>
    private sealed class Scratch
    {
        [ThreadStatic]
        private static Scratch? s_cached;

        public float[] Scores = [];
        public int[] Lists = [];
        public float[] Table = [];
        public float[] Residual = [];
        public float[] Rotated = [];
        public readonly MinHeap Heap = new();

        public static Scratch Rent(IvfIndex index)
        {
            var s = s_cached ?? new Scratch();
            s_cached = null;
            int nlist = index._lists.Length;
            if (s.Scores.Length < nlist)
                s.Scores = new float[nlist];
            if (s.Lists.Length < nlist)
                s.Lists = new int[nlist];
            int table = index._pq is null ? 0 : index._pq.M * ProductQuantizer.Ksub;
            if (s.Table.Length < table)
                s.Table = new float[table];
            if (s.Residual.Length < index.Dims)
                s.Residual = new float[index.Dims];
            if (index._rotation is not null && s.Rotated.Length != index.Dims)
                s.Rotated = new float[index.Dims];
            return s;
        }

        public static void Return(Scratch s) => s_cached = s;

        public float[] ScoresFor(int count)
        {
            if (Scores.Length < count)
                Scores = new float[Math.Max(count, Scores.Length * 2)];
            return Scores;
        }
    }
}
