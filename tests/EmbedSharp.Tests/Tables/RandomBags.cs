using EmbedSharp.Numerics;

namespace EmbedSharp.Tests.Tables;

/// <summary>Random CSR batches with empty bags, repeated ids and padding, for property tests.</summary>
internal static class RandomBags
{
    /// <summary>B bags of 0..maxLength ids from [0, numEmbeddings), a quarter of bags empty, ids drawn from a small hot set half the time.</summary>
    public static (int[] Indices, int[] Offsets) Csr(SeededRandom rng, int numEmbeddings, int bags, int maxLength)
    {
        var indices = new List<int>();
        var offsets = new int[bags];
        for (int b = 0; b < bags; b++)
        {
            offsets[b] = indices.Count;
            int length = rng.NextInt(4) == 0 ? 0 : rng.NextInt(maxLength + 1);
            for (int k = 0; k < length; k++)
                indices.Add(rng.NextInt(2) == 0 ? rng.NextInt(Math.Min(3, numEmbeddings)) : rng.NextInt(numEmbeddings));
        }
        return ([.. indices], offsets);
    }

    public static float[] Floats(SeededRandom rng, int count, float scale = 1f)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++)
            x[i] = (float)(rng.NextNormal() * scale);
        return x;
    }

    /// <summary>Lattice values (multiples of 1/64) so sums of a few are exact.</summary>
    public static float[] Lattice(SeededRandom rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++)
            x[i] = (rng.NextInt(257) - 128) / 64f;
        return x;
    }
}
