using System.Runtime.CompilerServices;

namespace EmbedSharp.Numerics;

/// <summary>t-SNE's input affinities <c>P</c>: sparse over k nearest neighbours, or dense over all pairs (the reference).</summary>
internal static class TsneAffinities
{
    /// <summary>Symmetric affinities in CSR form: row i's entries are <c>Columns[Offsets[i]..Offsets[i+1]]</c>, ascending.</summary>
    internal sealed record SparseP(int[] Offsets, int[] Columns, double[] Values);

    /// <summary>
    /// Each row's <c>k = min(rows − 1, ⌊3·perplexity⌋)</c> nearest rows by squared Euclidean distance
    /// (ties to the lower row), their conditional probabilities at the given perplexity, symmetrised.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe SparseP Sparse(ReadOnlySpan<float> data, int rows, int dims, double perplexity, int threads)
    {
        int k = Math.Min(rows - 1, (int)(3 * perplexity));
        var neighbours = new int[(long)rows * k];
        var distances = new double[(long)rows * k];
        var norms = new float[rows];
        for (int i = 0; i < rows; i++)
            norms[i] = System.Numerics.Tensors.TensorPrimitives.Dot(data.Slice(i * dims, dims), data.Slice(i * dims, dims));

        // Squared distances ‖a‖² + ‖b‖² − 2 a·b, a block of rows at a time through the GEMM (the
        // products of one block are rows × block floats, never the whole n × n matrix).
        const int block = 128;
        var products = new float[(long)block * rows];
        fixed (float* x = data)
        fixed (float* c = products)
        {
            for (int start = 0; start < rows; start += block)
            {
                int m = Math.Min(block, rows - start);
                Gemm.MultiplyTransposed(x + (long)start * dims, m, dims, x, rows, c, rows, threads);
                // Each row's selection is its own: the block's rows go across threads.
                nint xAddress = (nint)x, cAddress = (nint)c;
                int blockStart = start;
                ParallelWork.For(m, 8, threads, (s, e) =>
                {
                    for (int r = s; r < e; r++)
                    {
                        int i = blockStart + r;
                        SelectNearest(new ReadOnlySpan<float>((float*)cAddress + (long)r * rows, rows), norms, i, k,
                            neighbours.AsSpan(i * k, k), distances.AsSpan(i * k, k));
                        // The GEMM's form cancels for points close together far from the origin: it picks the
                        // neighbours, but their probabilities use the distance taken directly, √Σ(a − b)², squared.
                        var row = new ReadOnlySpan<float>((float*)xAddress + (long)i * dims, dims);
                        for (int t = 0; t < k; t++)
                        {
                            double d = System.Numerics.Tensors.TensorPrimitives.Distance(row, new ReadOnlySpan<float>((float*)xAddress + (long)neighbours[i * k + t] * dims, dims));
                            distances[i * k + t] = d * d;
                        }
                    }
                });
            }
        }

        // Conditional p_j|i, each row normalised to 1.
        var conditional = new double[(long)rows * k];
        ParallelWork.For(rows, 64, threads, (s, e) =>
        {
            for (int i = s; i < e; i++)
                Conditional(distances.AsSpan(i * k, k), perplexity, conditional.AsSpan(i * k, k));
        });
        return Symmetrise(rows, k, neighbours, conditional);
    }

    /// <summary>Dense symmetric affinities over all pairs: <c>P[i·n + j]</c>, zero diagonal.</summary>
    public static double[] Dense(ReadOnlySpan<float> data, int rows, int dims, double perplexity)
    {
        var p = new double[(long)rows * rows];
        var d = new double[rows - 1];
        var c = new double[rows - 1];
        for (int i = 0; i < rows; i++)
        {
            int t = 0;
            for (int j = 0; j < rows; j++)
            {
                if (j == i)
                    continue;
                double s = 0;
                for (int q = 0; q < dims; q++)
                {
                    double diff = (double)data[i * dims + q] - data[j * dims + q];
                    s += diff * diff;
                }
                d[t++] = s;
            }
            Conditional(d, perplexity, c);
            t = 0;
            for (int j = 0; j < rows; j++)
                if (j != i)
                    p[(long)i * rows + j] = c[t++];
        }
        for (int i = 0; i < rows; i++)
            for (int j = i + 1; j < rows; j++)
            {
                double v = (p[(long)i * rows + j] + p[(long)j * rows + i]) / (2.0 * rows);
                p[(long)i * rows + j] = v;
                p[(long)j * rows + i] = v;
            }
        return p;
    }

    /// <summary>The k smallest squared distances from row i (itself excluded), ascending, ties to the lower row.</summary>
    private static void SelectNearest(ReadOnlySpan<float> products, float[] norms, int i, int k, Span<int> ids, Span<double> dist)
    {
        // A max-heap of the k best so far: root is the worst kept.
        int size = 0;
        for (int j = 0; j < products.Length; j++)
        {
            if (j == i)
                continue;
            double v = Math.Max(0.0, (double)norms[i] + norms[j] - 2.0 * products[j]);
            if (size < k)
            {
                int at = size++;
                while (at > 0)
                {
                    int parent = (at - 1) >> 1;
                    if (!Worse(v, j, dist[parent], ids[parent]))
                        break;
                    dist[at] = dist[parent];
                    ids[at] = ids[parent];
                    at = parent;
                }
                dist[at] = v;
                ids[at] = j;
            }
            else if (Worse(dist[0], ids[0], v, j))
            {
                int at = 0;
                while (true)
                {
                    int child = 2 * at + 1;
                    if (child >= k)
                        break;
                    if (child + 1 < k && Worse(dist[child + 1], ids[child + 1], dist[child], ids[child]))
                        child++;
                    if (!Worse(dist[child], ids[child], v, j))
                        break;
                    dist[at] = dist[child];
                    ids[at] = ids[child];
                    at = child;
                }
                dist[at] = v;
                ids[at] = j;
            }
        }
        // Heap order is enough for the affinities, but an ascending list makes the result easy to check.
        var keys = dist.ToArray();
        var values = ids.ToArray();
        Array.Sort(keys, values);
        keys.CopyTo(dist);
        values.CopyTo(ids);
    }

    private static bool Worse(double d1, int id1, double d2, int id2) => d1 > d2 || (d1 == d2 && id1 > id2);

    /// <summary>
    /// <c>p_j = exp(−β d_j) / Σ exp(−β d)</c> with β found by bisection so that the entropy is <c>ln perplexity</c>
    /// (bhtsne's search: 200 steps at most, tolerance 1e-5 nats). Distances are shifted by their minimum first.
    /// </summary>
    internal static void Conditional(ReadOnlySpan<double> distances, double perplexity, Span<double> p)
    {
        if (distances.Length == 0)
            return;
        double min = double.PositiveInfinity;
        foreach (double d in distances)
            min = Math.Min(min, d);
        double target = Math.Log(perplexity);
        double beta = 1, lo = double.NegativeInfinity, hi = double.PositiveInfinity;
        for (int iter = 0; iter < 200; iter++)
        {
            double sum = 0, weighted = 0;
            for (int j = 0; j < distances.Length; j++)
            {
                double shifted = distances[j] - min;
                double e = Math.Exp(-beta * shifted);
                p[j] = e;
                sum += e;
                weighted += shifted * e;
            }
            double entropy = Math.Log(sum) + beta * weighted / sum;
            for (int j = 0; j < distances.Length; j++)
                p[j] /= sum;
            double diff = entropy - target;
            if (Math.Abs(diff) < 1e-5)
                break;
            if (diff > 0)
            {
                lo = beta;
                beta = double.IsPositiveInfinity(hi) ? beta * 2 : (beta + hi) / 2;
            }
            else
            {
                hi = beta;
                beta = double.IsNegativeInfinity(lo) ? beta / 2 : (beta + lo) / 2;
            }
        }
    }

    /// <summary><c>P_ij = (p_j|i + p_i|j) / 2n</c> over the union of both neighbour lists, rows ascending by column.</summary>
    private static SparseP Symmetrise(int rows, int k, int[] neighbours, double[] conditional)
    {
        var counts = new int[rows + 1];
        for (int i = 0; i < rows; i++)
        {
            counts[i] += k;
            for (int t = 0; t < k; t++)
                counts[neighbours[i * k + t]]++;
        }
        var offsets = new int[rows + 1];
        for (int i = 0; i < rows; i++)
            offsets[i + 1] = offsets[i] + counts[i];
        var fill = offsets[..rows].ToArray();
        var cols = new int[offsets[rows]];
        var vals = new double[offsets[rows]];
        for (int i = 0; i < rows; i++)
            for (int t = 0; t < k; t++)
            {
                int j = neighbours[i * k + t];
                double v = conditional[i * k + t];
                cols[fill[i]] = j;
                vals[fill[i]++] = v;
                cols[fill[j]] = i;
                vals[fill[j]++] = v;
            }
        // Sort each row by column and merge the pairs both lists hold.
        var outOffsets = new int[rows + 1];
        int w = 0;
        double scale = 1.0 / (2.0 * rows);
        for (int i = 0; i < rows; i++)
        {
            int s = offsets[i], e = offsets[i + 1];
            Array.Sort(cols, vals, s, e - s);
            outOffsets[i] = w;
            for (int t = s; t < e; t++)
            {
                if (w > outOffsets[i] && cols[w - 1] == cols[t])
                {
                    vals[w - 1] += vals[t] * scale;
                    continue;
                }
                cols[w] = cols[t];
                vals[w++] = vals[t] * scale;
            }
        }
        outOffsets[rows] = w;
        return new SparseP(outOffsets, cols[..w], vals[..w]);
    }
}
