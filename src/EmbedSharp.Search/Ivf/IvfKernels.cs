using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Search.Ivf;

/// <summary>
/// The per-query kernels of IVF search on raw pointers, each with a plain reference beside it:
/// scores of the query against every coarse centroid (or list row), the ADC table of a product quantizer (from
/// centroids stored sub-dimension-major, so 8 table entries come from one fused multiply-add), and
/// the ADC scan of a run of PQ codes.
/// </summary>
/// <remarks>
/// Results differ from the references by float rounding only (the scan adds in a different order).
/// Methods are compiled fully optimised on first call: a search runs them a few thousand times, too
/// few for tiered compilation to reach its optimised code inside a short batch.
/// </remarks>
internal static unsafe class IvfKernels
{
    /// <summary>
    /// <c>dest[i] = q · c_i</c> (<paramref name="l2"/> false) or <c>‖q − c_i‖²</c> for the
    /// <paramref name="n"/> row-major <paramref name="dims"/>-long rows (centroids, or an IVF-Flat list),
    /// one row at a time through the unrolled distance kernels (measured faster here than sharing query
    /// loads across four rows, whose single accumulator a row made the FMA chains the limit).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CentroidScores(float* q, float* c, int n, int dims, bool l2, float* dest)
    {
        if (l2)
        {
            for (int i = 0; i < n; i++)
                dest[i] = Distances.SquaredL2(q, c + (nint)i * dims, dims);
        }
        else
        {
            for (int i = 0; i < n; i++)
                dest[i] = Distances.Dot(q, c + (nint)i * dims, dims);
        }
    }

    public static void CentroidScoresReference(ReadOnlySpan<float> q, ReadOnlySpan<float> c, int dims, bool l2, Span<float> dest)
    {
        for (int i = 0; i < c.Length / dims; i++)
        {
            var ci = c.Slice(i * dims, dims);
            dest[i] = l2 ? Distances.SquaredL2Reference(q, ci) : Distances.DotReference(q, ci);
        }
    }

    /// <summary>
    /// Rearranges product-quantizer centroids from <c>[m][256][sub]</c> (as <see cref="Quantization.ProductQuantizer.Centroids"/>)
    /// to <c>[m][sub][256]</c>, the layout <see cref="AdcTable"/> reads.
    /// </summary>
    public static float[] TransposeCodebooks(ReadOnlySpan<float> centroids, int m, int sub)
    {
        const int K = Quantization.ProductQuantizer.Ksub;
        var t = new float[centroids.Length];
        for (int j = 0; j < m; j++)
            for (int c = 0; c < K; c++)
                for (int d = 0; d < sub; d++)
                    t[(j * sub + d) * K + c] = centroids[(j * K + c) * sub + d];
        return t;
    }

    /// <summary>
    /// The ADC table <c>table[j·256 + c]</c> = <c>q_j · c_jc</c> or <c>‖q_j − c_jc‖²</c> for the
    /// <paramref name="m"/> sub-vectors of <paramref name="q"/>, from codebooks laid out by <see cref="TransposeCodebooks"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdcTable(float* q, float* codebooksT, int m, int sub, bool l2, float* table)
    {
        const int K = Quantization.ProductQuantizer.Ksub;
        for (int j = 0; j < m; j++)
        {
            float* t = table + j * K;
            float* cb = codebooksT + (nint)j * sub * K;
            float* qj = q + j * sub;
            if (Vector256.IsHardwareAccelerated)
            {
                for (int c = 0; c < K; c += 32)
                {
                    Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                    for (int d = 0; d < sub; d++)
                    {
                        var x = Vector256.Create(qj[d]);
                        float* row = cb + d * K + c;
                        if (l2)
                        {
                            var d0 = x - Vector256.Load(row);
                            var d1 = x - Vector256.Load(row + 8);
                            var d2 = x - Vector256.Load(row + 16);
                            var d3 = x - Vector256.Load(row + 24);
                            a0 = Vector256.FusedMultiplyAdd(d0, d0, a0);
                            a1 = Vector256.FusedMultiplyAdd(d1, d1, a1);
                            a2 = Vector256.FusedMultiplyAdd(d2, d2, a2);
                            a3 = Vector256.FusedMultiplyAdd(d3, d3, a3);
                        }
                        else
                        {
                            a0 = Vector256.FusedMultiplyAdd(x, Vector256.Load(row), a0);
                            a1 = Vector256.FusedMultiplyAdd(x, Vector256.Load(row + 8), a1);
                            a2 = Vector256.FusedMultiplyAdd(x, Vector256.Load(row + 16), a2);
                            a3 = Vector256.FusedMultiplyAdd(x, Vector256.Load(row + 24), a3);
                        }
                    }
                    a0.Store(t + c);
                    a1.Store(t + c + 8);
                    a2.Store(t + c + 16);
                    a3.Store(t + c + 24);
                }
            }
            else
            {
                for (int c = 0; c < K; c++)
                    t[c] = 0;
                for (int d = 0; d < sub; d++)
                {
                    float x = qj[d];
                    float* row = cb + d * K;
                    for (int c = 0; c < K; c++)
                    {
                        float v = l2 ? x - row[c] : x * row[c];
                        t[c] += l2 ? v * v : v;
                    }
                }
            }
        }
    }

    public static void AdcTableReference(ReadOnlySpan<float> q, ReadOnlySpan<float> centroids, int m, int sub, bool l2, Span<float> table)
    {
        const int K = Quantization.ProductQuantizer.Ksub;
        for (int j = 0; j < m; j++)
        {
            var x = q.Slice(j * sub, sub);
            for (int c = 0; c < K; c++)
            {
                var y = centroids.Slice((j * K + c) * sub, sub);
                table[j * K + c] = l2 ? Distances.SquaredL2Reference(x, y) : Distances.DotReference(x, y);
            }
        }
    }

    /// <summary>
    /// ADC scores of <paramref name="count"/> consecutive <paramref name="m"/>-byte codes:
    /// <c>dest[i] = Σ_j table[j·256 + codes[i·m + j]]</c>, four sub-quantizers per step into four sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdcScan(byte* codes, int count, int m, float* table, float* dest)
    {
        const int K = Quantization.ProductQuantizer.Ksub;
        int m4 = m & ~3;
        for (int i = 0; i < count; i++)
        {
            byte* code = codes + (nint)i * m;
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            float* t = table;
            int j = 0;
            for (; j < m4; j += 4, t += 4 * K)
            {
                s0 += t[code[j]];
                s1 += t[K + code[j + 1]];
                s2 += t[2 * K + code[j + 2]];
                s3 += t[3 * K + code[j + 3]];
            }
            for (; j < m; j++, t += K)
                s0 += t[code[j]];
            dest[i] = (s0 + s1) + (s2 + s3);
        }
    }

    public static void AdcScanReference(ReadOnlySpan<byte> codes, int m, ReadOnlySpan<float> table, Span<float> dest)
    {
        const int K = Quantization.ProductQuantizer.Ksub;
        for (int i = 0; i < (m == 0 ? 0 : codes.Length / m); i++)
        {
            float s = 0;
            for (int j = 0; j < m; j++)
                s += table[j * K + codes[i * m + j]];
            dest[i] = s;
        }
    }
}
