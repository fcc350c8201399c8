using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Search.Tests;

internal static class TestData
{
    /// <summary>A Gaussian mixture: <paramref name="clusters"/> centres, points spread around them.</summary>
    public static float[] Mixture(int n, int dims, int clusters, ulong seed, float spread = 0.6f)
    {
        var rng = new SeededRandom(seed);
        var centres = new float[clusters * dims];
        for (int i = 0; i < centres.Length; i++)
            centres[i] = (float)rng.NextNormal();
        var x = new float[n * dims];
        for (int i = 0; i < n; i++)
        {
            int c = rng.NextInt(clusters);
            for (int j = 0; j < dims; j++)
                x[i * dims + j] = centres[c * dims + j] + spread * (float)rng.NextNormal();
        }
        return x;
    }

    public static EmbeddingTable Table(float[] x, int dims)
    {
        var t = new EmbeddingTable(x.Length / dims, dims);
        t.CopyFrom(x);
        return t;
    }

    /// <summary>Mean fraction of the exact top-k ids found.</summary>
    public static double Recall(Neighbor[][] exact, Neighbor[][] found)
    {
        double hits = 0, total = 0;
        for (int i = 0; i < exact.Length; i++)
        {
            var truth = exact[i].Select(e => e.Index).ToHashSet();
            hits += found[i].Count(f => truth.Contains(f.Index));
            total += truth.Count;
        }
        return total == 0 ? 1 : hits / total;
    }
}
