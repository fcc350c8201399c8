using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Search;

public sealed partial class ExactIndex
{
    private int _prefilterCandidates;
    private Int8Shadow? _shadow;
    private readonly object _shadowGate = new();
    private long _prefilterQueries;
    private long _prefilterFallbacks;

    /// <summary>Whether this machine has the integer dot-product instructions (AVX-VNNI) that make the pre-filter pay.</summary>
    public static bool PrefilterAccelerated => AvxVnni.IsSupported;

    /// <summary>
    /// Candidates kept by the exact 8-bit pre-filter; 0 (the default) turns it off. When on, float rows under
    /// Cosine or Dot are first scored against an 8-bit per-dimension copy (a quarter of the bytes, integer
    /// arithmetic), the best <c>max(PrefilterCandidates, 2k)</c> are re-scored in float, and the answer is
    /// returned only when the quantization error bound proves that no other row can enter the top k;
    /// otherwise that query falls back to the full float scan. Answers are therefore those of the float scan.
    /// </summary>
    /// <remarks>
    /// <para>Proof: a row <c>r</c> outside the candidates has estimate <c>g_r ≤ g_min</c> (the smallest kept), and
    /// its true score is at most <c>g_r + B + η</c> (<c>B</c>: the query plan's bound on the rows' 8-bit rounding plus
    /// the query's own rounding to one signed byte a dimension, see <c>Int8Shadow.Plan</c>; <c>η</c>: float evaluation of the estimate), so its reported score is at most
    /// <c>g_min + B + η + ε</c> (<c>ε</c>: the float rounding of a reported score). Rows are re-scored in estimate
    /// order until that quantity for the next candidate falls below the k-th reported score found; if the whole
    /// candidate list is used up first, the query is scanned in full.</para>
    /// <para>The copy (Dims bytes a row) is made on first use and again after <see cref="Add"/>. Filters, L2,
    /// packed or 8-bit row-wise indexes and more than 65,536 dimensions use the float scan as before. The
    /// integer scan needs AVX-VNNI to be fast (<see cref="PrefilterAccelerated"/>); elsewhere it runs a
    /// scalar loop with the same answers.</para>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or above 65,536.</exception>
    public int PrefilterCandidates
    {
        get => _prefilterCandidates;
        set
        {
            Guard.InRange("exact_index.prefilter", value, 0, 65_537);
            _prefilterCandidates = value;
        }
    }

    /// <summary>Queries answered through the pre-filter so far, and of those, the ones the bound could not decide (scanned in full).</summary>
    public (long Queries, long Fallbacks) PrefilterCounts => (Interlocked.Read(ref _prefilterQueries), Interlocked.Read(ref _prefilterFallbacks));

    /// <summary>Makes the 8-bit copy now (it is otherwise made by the first search that uses it).</summary>
    public void WarmPrefilter()
    {
        if (UsesPrefilter(null, 1))
            Shadow();
    }

    private bool UsesPrefilter(SearchFilter? filter, int k) =>
        _prefilterCandidates > 0 && _table is not null && filter is null && Metric != SimilarityMetric.L2
        && Dims <= 65_536 && _live > PrefilterKeep(k);

    private int PrefilterKeep(int k) => Math.Max(_prefilterCandidates, 2 * k);

    private Int8Shadow Shadow()
    {
        var shadow = Volatile.Read(ref _shadow);
        if (shadow is not null && shadow.Count == _count)
            return shadow;
        lock (_shadowGate)
        {
            shadow = _shadow;
            if (shadow is null || shadow.Count != _count)
            {
                var table = _table!;
                shadow = Int8Shadow.Build(_count, Dims, (r, row) => table.ReadRowUnchecked(r, row), Metric == SimilarityMetric.Cosine, ParallelWork.DefaultThreads);
                Volatile.Write(ref _shadow, shadow);
            }
            return shadow;
        }
    }

    /// <summary>
    /// <paramref name="m"/> prepared queries through the pre-filter: one integer pass over the 8-bit copy for
    /// all of them, then per query the checked re-scoring (or the full scan when the bound cannot decide).
    /// </summary>
    private Neighbor[][] PrefilterSearch(ReadOnlySpan<float> queries, float[] prepared, int m, int k, int threads)
    {
        var shadow = Shadow();
        int keep = PrefilterKeep(k);
        int groups = shadow.Groups;
        var bytes = new sbyte[m * groups * 4];
        var plans = new Int8Shadow.QueryPlan[m];
        for (int i = 0; i < m; i++)
            plans[i] = shadow.Plan(prepared.AsSpan(i * Dims, Dims), bytes.AsSpan(i * groups * 4, groups * 4));
        var tops = PrefilterPass(shadow, bytes, plans, m, keep, threads);
        var results = new Neighbor[m][];
        var source = queries.ToArray();
        ParallelWork.For(m, 1, threads, (start, end) =>
        {
            for (int i = start; i < end; i++)
            {
                var query = source.AsSpan(i * Dims, Dims);
                Interlocked.Increment(ref _prefilterQueries);
                var found = CheckedRescore(query, tops[i], k, plans[i]);
                if (found is null)
                {
                    Interlocked.Increment(ref _prefilterFallbacks);
                    var top = new TopKCollector(Candidates(k));
                    ScanRange(prepared.AsSpan(i * Dims, Dims).ToArray(), 0, _count, top, null);
                    found = Finish(query, top, k);
                }
                results[i] = found;
            }
        });
        return results;
    }

    /// <summary>Rows per step of the pre-filter's pass: a step's integer scores stay in L1/L2 while they are collected.</summary>
    private const int PrefilterStep = 256;

    private sealed class PrefilterState(int m, int keep)
    {
        public readonly int[] Scores = new int[m * PrefilterStep];
        public readonly Int8Candidates[] Tops = Enumerable.Range(0, m).Select(_ => new Int8Candidates(keep)).ToArray();
    }

    /// <summary>The integer pass for <paramref name="m"/> queries: each query's best <paramref name="keep"/> rows by estimate, best first.</summary>
    private Neighbor[][] PrefilterPass(Int8Shadow shadow, sbyte[] bytes, Int8Shadow.QueryPlan[] plans, int m, int keep, int threads)
    {
        int steps = (_count + PrefilterStep - 1) / PrefilterStep;
        var parts = new List<PrefilterState>();
        ParallelWork.For(steps, 4, threads,
            () =>
            {
                var state = new PrefilterState(m, keep);
                lock (parts)
                    parts.Add(state);
                return state;
            },
            (state, first, last) => PrefilterSteps(shadow, bytes, m, state, first, last),
            static _ => { });
        var tops = new Neighbor[m][];
        for (int i = 0; i < m; i++)
        {
            var all = parts.Count > 0 ? parts[0].Tops[i] : new Int8Candidates(keep);
            for (int p = 1; p < parts.Count; p++)
                all.Merge(parts[p].Tops[i]);
            tops[i] = all.ToSorted(plans[i].Offset, plans[i].T);
        }
        return tops;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void PrefilterSteps(Int8Shadow shadow, sbyte[] bytes, int m, PrefilterState state, int first, int last)
    {
        int groups = shadow.Groups, count = _count;
        int queryBytes = groups * 4;
        int wide = Int8Kernels.WideBlocks ? m / Int8Kernels.WideQueryBlock * Int8Kernels.WideQueryBlock : 0;
        int blocked = wide + (m - wide) / Int8Kernels.QueryBlock * Int8Kernels.QueryBlock;
        var removed = _live < _count ? _removed : null;
        fixed (byte* codes = shadow.Codes)
        fixed (sbyte* qp = bytes)
        fixed (int* sp = state.Scores)
        {
            for (int s = first; s < last; s++)
            {
                int r0 = s * PrefilterStep, rn = Math.Min(PrefilterStep, count - r0);
                int tiles = (rn + Int8Kernels.TileRows - 1) / Int8Kernels.TileRows;
                for (int t = 0; t < tiles; t++)
                {
                    byte* tile = codes + ((nint)(r0 / Int8Kernels.TileRows + t) * groups * Int8Kernels.TileBytesPerGroup);
                    int j = 0;
                    for (; j < wide; j += Int8Kernels.WideQueryBlock)
                        Int8Kernels.ScoreTile8(tile, groups, qp + (nint)j * queryBytes, sp + (nint)j * PrefilterStep + t * Int8Kernels.TileRows, PrefilterStep);
                    for (; j < blocked; j += Int8Kernels.QueryBlock)
                        Int8Kernels.ScoreTile(tile, groups, qp + (nint)j * queryBytes, sp + (nint)j * PrefilterStep + t * Int8Kernels.TileRows, PrefilterStep);
                    for (; j < m; j++)
                        Int8Kernels.ScoreTileOne(tile, groups, qp + (nint)j * queryBytes, sp + (nint)j * PrefilterStep + t * Int8Kernels.TileRows);
                }
                for (int i = 0; i < m; i++)
                    state.Tops[i].Add(sp + (nint)i * PrefilterStep, rn, r0, removed);
            }
        }
    }

    /// <summary>
    /// Re-scores the candidates in estimate order until the bound shows that nothing unscored can enter the
    /// top k; the sorted first k, or null when the candidates ran out first (the caller scans in full).
    /// </summary>
    private Neighbor[]? CheckedRescore(ReadOnlySpan<float> query, Neighbor[] kept, int k, Int8Shadow.QueryPlan plan)
    {
        int want = Candidates(k);
        double qNorm = SearchKernels.Norm(query);
        // ε: the float rounding of a reported score (a Dims-long float dot, then the division for Cosine), for
        // the row re-scored here and for any row it is compared against; generous by a factor of two.
        double epsilon = (Dims + 8) * 2.0 / (1 << 23);
        if (Metric == SimilarityMetric.Dot)
            epsilon *= Math.Sqrt(MaxNorm2()) * qNorm;
        double slack = plan.Bound + plan.Rounding + epsilon;
        var best = new TopKCollector(want);
        var scored = new List<Neighbor>(want + 16);
        var row = new float[Dims];
        bool proven = false;
        var source = _rerank ?? _table!;
        for (int i = 0; i < Math.Min(RescoreLookahead, kept.Length); i++)
            Prefetch(source, kept[i].Index);
        for (int i = 0; i < kept.Length; i++)
        {
            if (best.Count == want && kept[i].Score + slack < best.Floor)
            {
                proven = true;
                break;
            }
            if (i + RescoreLookahead < kept.Length)
                Prefetch(source, kept[i + RescoreLookahead].Index);
            int id = kept[i].Index;
            ReadExactRow(id, row);
            float s = Metric == SimilarityMetric.Dot
                ? SearchKernels.Dot(row, query)
                : CosineOf(SearchKernels.Dot(row, query), SearchKernels.Norm(row), qNorm);
            scored.Add(new Neighbor(id, s));
            best.Push(s, id);
        }
        // Every candidate re-scored: the rows never kept have estimates at or below the last kept one.
        if (!proven && best.Count == want && kept.Length > 0 && kept[^1].Score + slack < best.Floor)
            proven = true;
        if (!proven)
            return null;
        var result = scored.ToArray();
        Array.Sort(result, static (a, b) =>
            VectorSearch.Better(a.Score, a.Index, b.Score, b.Index, true) ? -1 : VectorSearch.Better(b.Score, b.Index, a.Score, a.Index, true) ? 1 : 0);
        return result.Length > k ? result[..k] : result;
    }

    /// <summary>Candidates ahead of the one being re-scored whose rows are requested from memory.</summary>
    private const int RescoreLookahead = 6;

    /// <summary>Asks for a row's cache lines ahead of its re-scoring: candidates are scattered over the table, so each is a miss.</summary>
    private static unsafe void Prefetch(EmbeddingTable table, int row)
    {
        nint bytes = (nint)table.Dims * table.ElementSize;
        Kernels.PrefetchRow(table.Pointer + row * bytes, bytes);
    }

    private float _maxNorm2 = -1;

    private float MaxNorm2()
    {
        if (_maxNorm2 < 0)
        {
            float max = 0;
            for (int r = 0; r < _count; r++)
                max = Math.Max(max, _norm2[r]);
            _maxNorm2 = max;
        }
        return _maxNorm2;
    }
}
