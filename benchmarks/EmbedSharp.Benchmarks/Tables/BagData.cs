using EmbedSharp.Numerics;

namespace EmbedSharp.Benchmarks.Tables;

/// <summary>Fixed-seed, Zipf-skewed CSR batches (recommender-like: a few ids are very hot).</summary>
internal static class BagData
{
    /// <summary>Zipf(s = 1.05) ids over [0, numEmbeddings) by inverse-CDF lookup.</summary>
    public static int[] ZipfIds(SeededRandom rng, int numEmbeddings, int count)
    {
        var cdf = new double[numEmbeddings];
        double sum = 0;
        for (int i = 0; i < numEmbeddings; i++)
            cdf[i] = sum += 1.0 / Math.Pow(i + 1, 1.05);
        var ids = new int[count];
        for (int k = 0; k < count; k++)
        {
            int at = Array.BinarySearch(cdf, rng.NextDouble() * sum);
            ids[k] = Math.Min(at < 0 ? ~at : at, numEmbeddings - 1);
        }
        return ids;
    }

    /// <summary>B bags of exactly <paramref name="bagLength"/> ids: offsets 0, L, 2L, ...</summary>
    public static int[] Offsets(int bags, int bagLength) => Enumerable.Range(0, bags).Select(b => b * bagLength).ToArray();
}
