using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Quantization;

/// <summary>
/// Lloyd's k-means under squared Euclidean distance, seeded with k-means++ (Arthur &amp; Vassilvitskii):
/// the coarse quantizer of an IVF index and the codebooks of <see cref="ProductQuantizer"/>.
/// </summary>
/// <remarks>
/// Deterministic for a seed: k-means++ draws from <see cref="SeededRandom"/>; assignment ties go to
/// the lower centroid; sums per centroid are accumulated in double in point order, whatever the
/// thread count. An empty cluster is re-seeded with the point farthest from its centroid. Points
/// are assigned through the blocked matrix product (<c>|c|² − 2 x·c</c>), in tiles.
/// </remarks>
public static class KMeans
{
    /// <summary>Points per tile of the assignment product.</summary>
    private const int Tile = 256;

    /// <summary>
    /// Trains <paramref name="k"/> centroids (row-major <c>k × dims</c>) on the <c>n × dims</c> points of
    /// <paramref name="data"/>, running <paramref name="iterations"/> Lloyd steps on up to <paramref name="threads"/> threads.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="data"/> is not <c>n × dims</c>, holds NaN, or has fewer than <paramref name="k"/> points.</exception>
    public static float[] Train(ReadOnlySpan<float> data, int dims, int k, int iterations = 20, ulong seed = 1, int threads = -1)
    {
        const string op = "kmeans.train";
        Guard.Positive(op, dims);
        Guard.Positive(op, k);
        Guard.NonNegative(op, iterations);
        if (data.Length % dims != 0)
            ThrowHelper.Argument(op, nameof(data), $"{data.Length} values is not a whole number of {dims}-long points");
        int n = data.Length / dims;
        if (n < k)
            ThrowHelper.Argument(op, nameof(data), $"{n} points cannot seed {k} centroids; give at least k points");
        int bad = Kernels.FirstNonFinite(data);
        if (bad >= 0)
            ThrowHelper.Argument(op, nameof(data), $"data[{bad}] is {data[bad]}; points must be finite");
        if (threads <= 0)
            threads = ParallelWork.DefaultThreads;
        var points = data.ToArray();
        var centroids = SeedPlusPlus(points, n, dims, k, seed, threads);
        var assignment = new int[n];
        var distance = new float[n];
        for (int it = 0; it < iterations; it++)
        {
            AssignUnchecked(points, n, dims, centroids, k, assignment, distance, threads);
            var sums = new double[(long)k * dims];
            var counts = new int[k];
            for (int i = 0; i < n; i++)
            {
                int c = assignment[i];
                counts[c]++;
                for (int j = 0; j < dims; j++)
                    sums[(long)c * dims + j] += points[(long)i * dims + j];
            }
            for (int c = 0; c < k; c++)
            {
                if (counts[c] == 0)
                {
                    // Re-seed an empty cluster at the point farthest from its centroid, then keep that point from being picked twice.
                    int far = 0;
                    for (int i = 1; i < n; i++)
                    {
                        if (distance[i] > distance[far])
                            far = i;
                    }
                    points.AsSpan(far * dims, dims).CopyTo(centroids.AsSpan(c * dims, dims));
                    distance[far] = 0;
                    continue;
                }
                for (int j = 0; j < dims; j++)
                    centroids[(long)c * dims + j] = (float)(sums[(long)c * dims + j] / counts[c]);
            }
        }
        return centroids;
    }

    /// <summary>
    /// The nearest centroid of each point (ties to the lower centroid) into <paramref name="assignment"/>,
    /// and its squared distance into <paramref name="distance"/> when given.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree.</exception>
    public static void Assign(ReadOnlySpan<float> data, int dims, ReadOnlySpan<float> centroids, Span<int> assignment, Span<float> distance = default, int threads = -1)
    {
        const string op = "kmeans.assign";
        Guard.Positive(op, dims);
        if (data.Length % dims != 0 || centroids.Length % dims != 0 || centroids.IsEmpty)
            ThrowHelper.Argument(op, nameof(data), $"data ({data.Length}) and centroids ({centroids.Length}) must be whole, non-empty numbers of {dims}-long rows");
        int n = data.Length / dims;
        Guard.Length(op, assignment.Length, n, "one per point");
        if (!distance.IsEmpty)
            Guard.Length(op, distance.Length, n, "one per point");
        var d = distance.IsEmpty ? new float[n] : distance.ToArray();
        var a = new int[n];
        AssignUnchecked(data.ToArray(), n, dims, centroids.ToArray(), centroids.Length / dims, a, d, threads <= 0 ? ParallelWork.DefaultThreads : threads);
        a.CopyTo(assignment);
        if (!distance.IsEmpty)
            d.CopyTo(distance);
    }

    /// <summary>Plain reference for <see cref="Assign"/>: every distance computed directly.</summary>
    internal static void AssignReference(ReadOnlySpan<float> data, int dims, ReadOnlySpan<float> centroids, Span<int> assignment)
    {
        int n = data.Length / dims, k = centroids.Length / dims;
        for (int i = 0; i < n; i++)
        {
            double best = double.PositiveInfinity;
            for (int c = 0; c < k; c++)
            {
                double s = 0;
                for (int j = 0; j < dims; j++)
                {
                    double t = data[i * dims + j] - centroids[c * dims + j];
                    s += t * t;
                }
                if (s < best)
                {
                    best = s;
                    assignment[i] = c;
                }
            }
        }
    }

    internal static unsafe void AssignUnchecked(float[] points, int n, int dims, float[] centroids, int k, int[] assignment, float[] distance, int threads)
    {
        var cNorm = new float[k];
        for (int c = 0; c < k; c++)
        {
            double s = 0;
            for (int j = 0; j < dims; j++)
                s += (double)centroids[(long)c * dims + j] * centroids[(long)c * dims + j];
            cNorm[c] = (float)s;
        }
        int tiles = (n + Tile - 1) / Tile;
        ParallelWork.For(tiles, 1, threads, () => new float[Tile * Math.Min(k, 4096)], (scores, first, last) =>
        {
            fixed (float* pp = points)
            fixed (float* cp = centroids)
            fixed (float* sp = scores)
            {
                int cTile = Math.Min(k, 4096);
                for (int t = first; t < last; t++)
                {
                    int i0 = t * Tile, m = Math.Min(Tile, n - i0);
                    var best = new float[m];
                    Array.Fill(best, float.PositiveInfinity);
                    for (int c0 = 0; c0 < k; c0 += cTile)
                    {
                        int cn = Math.Min(cTile, k - c0);
                        Gemm.MultiplyTransposed(pp + (nint)i0 * dims, m, dims, cp + (nint)c0 * dims, cn, sp, cn, 1);
                        for (int i = 0; i < m; i++)
                        {
                            float* row = sp + (nint)i * cn;
                            for (int c = 0; c < cn; c++)
                            {
                                float v = cNorm[c0 + c] - 2 * row[c];
                                if (v < best[i])
                                {
                                    best[i] = v;
                                    assignment[i0 + i] = c0 + c;
                                }
                            }
                        }
                    }
                    for (int i = 0; i < m; i++)
                    {
                        double s = 0;
                        float* x = pp + (nint)(i0 + i) * dims, c = cp + (nint)assignment[i0 + i] * dims;
                        for (int j = 0; j < dims; j++)
                            s += (double)(x[j] - c[j]) * (x[j] - c[j]);
                        distance[i0 + i] = (float)s;
                    }
                }
            }
        }, static _ => { });
    }

    /// <summary>k-means++: the first centroid uniformly, each next one with probability proportional to D(x)².</summary>
    private static float[] SeedPlusPlus(float[] points, int n, int dims, int k, ulong seed, int threads)
    {
        var rng = new SeededRandom(seed);
        var centroids = new float[(long)k * dims];
        var d2 = new double[n];
        int first = rng.NextInt(n);
        points.AsSpan(first * dims, dims).CopyTo(centroids);
        Array.Fill(d2, double.PositiveInfinity);
        for (int c = 1; c <= k; c++)
        {
            var last = centroids.AsSpan((c - 1) * dims, dims).ToArray();
            ParallelWork.For(n, 4096, threads, (start, end) =>
            {
                for (int i = start; i < end; i++)
                {
                    double s = System.Numerics.Tensors.TensorPrimitives.Distance(points.AsSpan(i * dims, dims), last);
                    s *= s;
                    if (s < d2[i])
                        d2[i] = s;
                }
            });
            if (c == k)
                break;
            double total = 0;
            foreach (double v in d2)
                total += v;
            int pick;
            if (total <= 0)
            {
                pick = rng.NextInt(n);
            }
            else
            {
                double u = rng.NextDouble() * total, acc = 0;
                pick = n - 1;
                for (int i = 0; i < n; i++)
                {
                    acc += d2[i];
                    if (acc > u)
                    {
                        pick = i;
                        break;
                    }
                }
            }
            points.AsSpan(pick * dims, dims).CopyTo(centroids.AsSpan(c * dims, dims));
        }
        return centroids;
    }
}
