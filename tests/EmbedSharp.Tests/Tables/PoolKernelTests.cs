using EmbedSharp.Numerics;

namespace EmbedSharp.Tests.Tables;

/// <summary>The pooled-bag kernel against its scalar reference, bit for bit, over awkward sizes.</summary>
public sealed class PoolKernelTests
{
    public static TheoryData<int> Dims => [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100];

    [Theory]
    [MemberData(nameof(Dims))]
    public void AllModesMatchReference(int dims)
    {
        var rng = new SeededRandom((ulong)(1000 + dims));
        const int numEmbeddings = 13;
        for (int trial = 0; trial < 6; trial++)
        {
            float[] table = RandomBags.Floats(rng, numEmbeddings * dims);
            if (trial % 2 == 1)
                table = RandomBags.Lattice(rng, numEmbeddings * dims); // many exact ties for max
            var (indices, offsets) = RandomBags.Csr(rng, numEmbeddings, 1 + rng.NextInt(9), 6);
            float[] psw = RandomBags.Floats(rng, indices.Length);
            int padding = trial < 3 ? -1 : rng.NextInt(numEmbeddings);
            Check<SumPooling>(PoolRule.Sum, table, dims, indices, offsets, default, padding);
            Check<SumPooling>(PoolRule.Sum, table, dims, indices, offsets, psw, padding);
            Check<MeanPooling>(PoolRule.Mean, table, dims, indices, offsets, default, padding);
            Check<MaxPooling>(PoolRule.Max, table, dims, indices, offsets, default, padding);
        }
    }

    private static void Check<TPool>(PoolRule rule, float[] table, int dims, int[] indices, int[] offsets, ReadOnlySpan<float> psw, int padding)
        where TPool : struct, IPoolingOperator
    {
        int bags = offsets.Length;
        var fast = new float[bags * dims];
        var fastSource = new int[bags * dims];
        var slow = new float[bags * dims];
        var slowSource = new int[bags * dims];
        Kernels.PoolBags<TPool, SpanRows>(new SpanRows(table, dims), indices, offsets, indices.Length, psw, padding, fast, fastSource);
        Kernels.PoolBagsReference(rule, table, dims, indices, offsets, indices.Length, psw, padding, slow, slowSource);
        Assert.Equal(slow, fast);
        if (rule == PoolRule.Max)
            Assert.Equal(slowSource, fastSource);
        // The same kernel without source tracking gives the same values.
        var untracked = new float[bags * dims];
        Kernels.PoolBags<TPool, SpanRows>(new SpanRows(table, dims), indices, offsets, indices.Length, psw, padding, untracked);
        Assert.Equal(fast, untracked);
    }

    [Fact]
    public void MaxNaNWinsAndStays()
    {
        // dims 9 exercises the vector and overlapping-tail paths; dims 3 the scalar path.
        foreach (int dims in new[] { 3, 9 })
        {
            float[] table = new float[3 * dims];
            for (int d = 0; d < dims; d++)
            {
                table[d] = 1;
                table[dims + d] = d == 1 ? float.NaN : 5;
                table[2 * dims + d] = float.NaN;
            }
            var output = new float[dims];
            var source = new int[dims];
            Kernels.PoolBags<MaxPooling, SpanRows>(new SpanRows(table, dims), [0, 1, 2], [0], 3, default, -1, output, source);
            Assert.True(float.IsNaN(output[1]));
            Assert.Equal(1, source[1]); // the first NaN wins, the later NaN does not replace it
            Assert.True(float.IsNaN(output[0]));
            Assert.Equal(2, source[0]);
        }
    }

    [Fact]
    public void EmptyAndAllPaddingBagsGiveZerosAndNoSource()
    {
        float[] table = [-3, -4, -5, -6];
        var output = new float[3 * 2];
        var source = new int[3 * 2];
        Kernels.PoolBags<MaxPooling, SpanRows>(new SpanRows(table, 2), [1, 1, 0], [0, 0, 2], 3, default, 1, output, source);
        Assert.Equal([0f, 0f, 0f, 0f, -3f, -4f], output);
        Assert.Equal([-1, -1, -1, -1, 2, 2], source);
    }

    [Fact]
    public void AddScaledMatchesScalarForEveryLength()
    {
        var rng = new SeededRandom(7);
        for (int n = 0; n <= 256; n++)
        {
            float[] x = RandomBags.Floats(rng, n), acc = RandomBags.Floats(rng, n);
            float a = (float)rng.NextNormal();
            float[] expected = acc.Select((v, i) => v + x[i] * a).ToArray();
            Kernels.AddScaled(x, a, acc);
            Assert.Equal(expected, acc);
        }
    }
}
