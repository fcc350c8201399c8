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

    /// <summary>The <paramref name="nprobe"/> lists to visit: nearest centroids (L2, Cosine) or largest <c>q·c</c> (Dot).</summary>
    internal int[] ProbeLists(ReadOnlySpan<float> q, int nprobe)
    {
        nprobe = Math.Min(nprobe, _lists.Length);
        var heap = new MinHeap();
        fixed (float* qp = q)
        fixed (float* cp = _centroids)
        {
            for (int c = 0; c < _lists.Length; c++)
            {
                float d = Metric == SimilarityMetric.Dot ? -Distances.Dot(qp, cp + (nint)c * Dims, Dims) : Distances.SquaredL2(qp, cp + (nint)c * Dims, Dims);
                Keep(heap, nprobe, d, c);
            }
        }
        var lists = new int[heap.Count];
        for (int i = lists.Length - 1; i >= 0; i--)
            lists[i] = heap.Pop().Id;
        return lists;
    }

    /// <summary>Keeps the <paramref name="k"/> smallest (distance, id) in a max-heap of negated distances.</summary>
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
        var heap = new MinHeap();
        float[]? table = _pq is null ? null : new float[_pq.M * ProductQuantizer.Ksub];
        var residual = new float[Dims];
        if (_pq is not null && Metric == SimilarityMetric.Dot)
            _pq.ComputeTable(q, PqTable.Dot, table);
        fixed (float* qp = q)
        fixed (float* cp = _centroids)
        {
            foreach (int l in ProbeLists(q, nprobe))
            {
                var list = _lists[l];
                if (list.Count == 0)
                    continue;
                float* centroid = cp + (nint)l * Dims;
                float baseScore = 0;
                if (_pq is not null)
                {
                    if (Metric == SimilarityMetric.Dot)
                    {
                        baseScore = Distances.Dot(qp, centroid, Dims);
                    }
                    else
                    {
                        for (int j = 0; j < Dims; j++)
                            residual[j] = q[j] - centroid[j];
                        _pq.ComputeTable(residual, PqTable.L2, table);
                    }
                }
                fixed (byte* data = list.Data)
                {
                    for (int i = 0; i < list.Count; i++)
                    {
                        int id = list.Ids[i];
                        if ((_removed[id >> 6] & (1UL << id)) != 0 || (filter is not null && !filter.Allows(id)))
                            continue;
                        float d;
                        if (_pq is null)
                        {
                            float* v = (float*)data + (nint)i * Dims;
                            d = Metric == SimilarityMetric.Dot ? -Distances.Dot(qp, v, Dims) : Distances.SquaredL2(qp, v, Dims);
                        }
                        else
                        {
                            float s = ProductQuantizer.Score(table, new ReadOnlySpan<byte>(data + (nint)i * _pq.M, _pq.M));
                            d = Metric == SimilarityMetric.Dot ? -(baseScore + s) : s;
                        }
                        Keep(heap, candidates, d, id);
                    }
                }
            }
        }
        var found = new (float Distance, int Id)[heap.Count];
        for (int i = found.Length - 1; i >= 0; i--)
        {
            var (negD, id) = heap.Pop();
            found[i] = (-negD, id);
        }
        if (KeepsVectors)
        {
            fixed (float* qp = q)
            fixed (float* raw = _raw)
            {
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
}
