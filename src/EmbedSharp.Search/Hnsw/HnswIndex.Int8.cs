using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EmbedSharp.Search.Hnsw;

public sealed unsafe partial class HnswIndex
{
    // Int8 traversal (opt-in, EnableInt8Traversal): beside the float32 vectors, one unsigned byte per
    // dimension, c = round(x_d / s_d) + 128 with s_d = max|x_d| / 127 over the vectors coded (per-dimension
    // scale). A query q becomes w_d = q_d · s_d, quantized to signed bytes w8 = round(w_d / α), α = max|w| / 127,
    // so q·x̂ = α (Σ w8_d c_d − 128 Σ w8_d): one integer dot product of a quarter of the bytes. The layer-0
    // walk ranks by that estimate; the ef nodes it keeps are re-scored in float32 before the k best are taken.
    private byte* _codes;
    private int _codeCapacity;
    private float[]? _codeScale;
    private float[]? _codeNorms;

    /// <summary>Whether layer-0 searches walk on int8 codes and re-rank in float32 (<see cref="EnableInt8Traversal"/>).</summary>
    public bool Int8Traversal => _codeScale is not null;

    /// <summary>Bytes held by the int8 codes (and their per-node norms under L2); 0 when int8 traversal is off.</summary>
    public long CodeBytes => _codeScale is null ? 0 : (long)_codeCapacity * Dims + (_codeNorms?.Length ?? 0) * 4L;

    /// <summary>
    /// Codes every vector to int8 (a per-dimension scale from the vectors held now) and from then on walks
    /// layer 0 on the codes — a quarter of the bytes per distance — then re-ranks the <c>ef</c> nodes found on
    /// float32, so scores stay exact. Costs <see cref="Dims"/> bytes per node; vectors added later are coded
    /// with the same scales (values beyond them saturate). Not saved: call again after opening a file.
    /// </summary>
    public void EnableInt8Traversal()
    {
        const string op = "hnsw.int8";
        ThrowIfDisposed(op);
        var scale = new float[Dims];
        for (int node = 0; node < _count; node++)
        {
            float* v = Vector(node);
            for (int d = 0; d < Dims; d++)
                scale[d] = Math.Max(scale[d], Math.Abs(v[d]));
        }
        for (int d = 0; d < Dims; d++)
            scale[d] = scale[d] > 0 ? scale[d] / 127f : 1f;
        FreeCodes();
        _codeScale = scale;
        _codeNorms = Metric == SimilarityMetric.L2 ? new float[Math.Max(_count, 64)] : null;
        EnsureCodeCapacity(Math.Max(_count, 64));
        for (int node = 0; node < _count; node++)
            CodeNode(node);
    }

    /// <summary>Stops walking on codes and frees them.</summary>
    public void DisableInt8Traversal()
    {
        FreeCodes();
        _codeScale = null;
        _codeNorms = null;
    }

    private void EnsureCodeCapacity(int nodes)
    {
        if (_codeScale is null || nodes <= _codeCapacity)
            return;
        int capacity = Math.Max(nodes, _codeCapacity * 2);
        var codes = (byte*)NativeMemory.AlignedAlloc((nuint)capacity * (nuint)Dims, 64);
        if (_codes != null)
        {
            Buffer.MemoryCopy(_codes, codes, (long)capacity * Dims, (long)_codeCapacity * Dims);
            NativeMemory.AlignedFree(_codes);
        }
        _codes = codes;
        _codeCapacity = capacity;
        if (_codeNorms is not null && _codeNorms.Length < capacity)
            Array.Resize(ref _codeNorms, capacity);
    }

    private void FreeCodes()
    {
        if (_codes != null)
            NativeMemory.AlignedFree(_codes);
        _codes = null;
        _codeCapacity = 0;
    }

    /// <summary>Writes the codes (and L2 norm of the decoded vector) of <paramref name="node"/>.</summary>
    private void CodeNode(int node)
    {
        if (_codeScale is null)
            return;
        EnsureCodeCapacity(node + 1);
        float* v = Vector(node);
        byte* c = _codes + (nint)node * Dims;
        double norm = 0;
        for (int d = 0; d < Dims; d++)
        {
            int q = (int)MathF.Round(v[d] / _codeScale[d]);
            q = Math.Clamp(q, -127, 127);
            c[d] = (byte)(q + 128);
            double x = q * (double)_codeScale[d];
            norm += x * x;
        }
        if (_codeNorms is not null)
            _codeNorms[node] = (float)norm;
    }

    /// <summary>
    /// The query as the codes compare with it: signed bytes w8 into <paramref name="w8"/>; returns α and
    /// 128·Σw8 through <paramref name="bias"/>, so that q·x̂ = α (dot(c, w8) − bias).
    /// </summary>
    private float QuantizeQuery(float* q, sbyte* w8, out int bias)
    {
        var scale = _codeScale!;
        float max = 0;
        for (int d = 0; d < Dims; d++)
            max = Math.Max(max, Math.Abs(q[d] * scale[d]));
        float alpha = max > 0 ? max / 127f : 1f;
        int sum = 0;
        for (int d = 0; d < Dims; d++)
        {
            int w = Math.Clamp((int)MathF.Round(q[d] * scale[d] / alpha), -127, 127);
            w8[d] = (sbyte)w;
            sum += w;
        }
        bias = 128 * sum;
        return alpha;
    }

    /// <summary>Layer-0 beam search on the codes (as <see cref="SearchLayer"/>, distances estimated from int8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SearchLayerInt8(float* q, int ep, int ef, SearchFilter? filter, MinHeap top, MinHeap candidates)
    {
        top.Clear();
        candidates.Clear();
        var visited = VisitedList.Rent(_count);
        int dims = Dims, m0 = _m0;
        int* pending = stackalloc int[m0 + 1];
        sbyte* w8 = stackalloc sbyte[dims];
        float alpha = QuantizeQuery(q, w8, out int bias);
        // distance = offset + factor · (dot − bias) (+ ‖x̂‖² under L2)
        bool l2 = Metric == SimilarityMetric.L2;
        float factor = l2 ? -2f * alpha : -alpha;
        float offset = Metric == SimilarityMetric.Cosine ? 1f : 0f;
        float[]? norms = _codeNorms;
        byte* codes = _codes;
        bool prefetch = System.Runtime.Intrinsics.X86.Sse.IsSupported;
        try
        {
            visited.TryVisit(ep);
            float d0 = offset + factor * (Int8Dot.Dot(codes + (nint)ep * dims, w8, dims) - bias) + (l2 ? norms![ep] : 0f);
            candidates.Push(d0, ep);
            float bound = float.PositiveInfinity;
            if (Accept(ep, filter))
            {
                top.Push(-d0, ep);
                bound = d0;
            }
            while (candidates.Count > 0)
            {
                if (candidates.TopDistance > bound && top.Count >= ef)
                    break;
                var (_, c) = candidates.Pop();
                int* links = _links0 + (nint)c * (m0 + 1);
                if (prefetch && candidates.Count > 0)
                    System.Runtime.Intrinsics.X86.Sse.Prefetch0(_links0 + (nint)candidates.TopId * (m0 + 1));
                int n = Math.Min(Volatile.Read(ref links[0]), m0);
                if (prefetch)
                {
                    for (int i = 1; i <= n; i++)
                        System.Runtime.Intrinsics.X86.Sse.Prefetch0(Unsafe.AsPointer(ref visited.Mark(links[i])));
                }
                int fresh = 0;
                for (int i = 1; i <= n; i++)
                {
                    int nb = links[i];
                    if (visited.TryVisit(nb))
                    {
                        pending[fresh++] = nb;
                        if (prefetch)
                        {
                            byte* p = codes + (nint)nb * dims, end = p + dims;
                            for (; p < end; p += 64)
                                System.Runtime.Intrinsics.X86.Sse.Prefetch0(p);
                        }
                    }
                }
                for (int i = 0; i < fresh; i++)
                {
                    int nb = pending[i];
                    float d = offset + factor * (Int8Dot.Dot(codes + (nint)nb * dims, w8, dims) - bias) + (l2 ? norms![nb] : 0f);
                    if (top.Count < ef || d < bound)
                    {
                        candidates.Push(d, nb);
                        if (Accept(nb, filter))
                        {
                            top.Push(-d, nb);
                            if (top.Count > ef)
                                top.Pop();
                            bound = -top.TopDistance;
                        }
                    }
                }
            }
        }
        finally
        {
            VisitedList.Return(visited);
        }
    }
}
