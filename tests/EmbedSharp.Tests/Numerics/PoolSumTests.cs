using EmbedSharp.Numerics;
using EmbedSharp.Tables;
using EmbedSharp.Tests.Tables;

namespace EmbedSharp.Tests.Numerics;

/// <summary>
/// The register-accumulating float32 sum/mean bag kernel against the scalar reference, bit for bit,
/// for every row width it takes (multiples of 8 up to 272: Vector512 blocks of 128 columns, or Vector256 blocks of 64 when AVX-512 is off), with
/// empty bags, repeated ids and a padding id; and the EmbeddingBag layer on its parallel path.
/// </summary>
public sealed unsafe class PoolSumTests
{
    [Fact]
    public void PoolSumFloat32_EqualsReference_ForEveryWidth()
    {
        var rng = new SeededRandom(17);
        for (int dims = 8; dims <= 272; dims += 8)
        {
            if (!Kernels.PoolSumFloat32Supported(dims))
                continue; // a width this machine's vectors do not tile (or an ISA-off rerun): the layer test below covers the generic path
            const int rows = 11;
            float[] table = RandomBags.Floats(rng, rows * dims);
            var (indices, offsets) = RandomBags.Csr(rng, rows, 9, 7);
            foreach (int padding in new[] { -1, 3 })
            {
                foreach (bool mean in new[] { false, true })
                {
                    var fast = new float[offsets.Length * dims];
                    var slow = new float[offsets.Length * dims];
                    fixed (float* t = table, f = fast)
                    fixed (int* ids = indices, st = offsets)
                        Kernels.PoolSumFloat32(t, dims, ids, indices.Length, st, offsets.Length, indices.Length, padding, mean, f);
                    Kernels.PoolBagsReference(mean ? PoolRule.Mean : PoolRule.Sum, table, dims, indices, offsets, indices.Length, default, padding, slow, default);
                    Assert.Equal(slow, fast);
                }
            }
        }
    }

    [Fact]
    public void PoolFoldFloat32_EqualsReference_ForEveryWidth()
    {
        // Max and weighted-sum bags with the result in registers (the AVX2 case), against the scalar reference bit for
        // bit: widths 8..272 (64-column blocks and 8-column tails), empty bags, repeated ids, a padding id, weights
        // of 1 and 0 among the random ones, and for max NaN, ±0 and ties, which pick by the NaN and first-wins rules.
        var rng = new SeededRandom(23);
        for (int dims = 8; dims <= 272; dims += 8)
        {
            if (!Kernels.PoolFoldFloat32Supported(dims))
                continue; // AVX-512 or no AVX2: the layer tests cover the generic path
            const int rows = 13;
            float[] table = RandomBags.Floats(rng, rows * dims);
            // For max, values from a small set, so that ties (+0 against -0, equal values) and NaNs meet in most bags.
            float[] few = [float.NaN, 0f, -0f, 1f, -1f, 1f];
            float[] ties = Enumerable.Range(0, rows * dims).Select(_ => few[rng.NextInt(few.Length)]).ToArray();
            var (indices, offsets) = RandomBags.Csr(rng, rows, 9, 7);
            float[] weights = RandomBags.Floats(rng, indices.Length);
            for (int j = 0; j < weights.Length; j += 3)
                weights[j] = j % 2 == 0 ? 1f : 0f;
            foreach (int padding in new[] { -1, 2 })
            {
                CheckFold(PoolRule.Max, ties, dims, indices, offsets, [], padding);
                CheckFold(PoolRule.Max, table, dims, indices, offsets, [], padding);
                CheckFold(PoolRule.Sum, table, dims, indices, offsets, weights, padding);
            }
        }
    }

    private static void CheckFold(PoolRule rule, float[] table, int dims, int[] indices, int[] offsets, float[] weights, int padding)
    {
        var fast = new float[offsets.Length * dims];
        var slow = new float[offsets.Length * dims];
        fixed (float* t = table, f = fast, w = weights)
        fixed (int* ids = indices, st = offsets)
        {
            if (rule == PoolRule.Max)
                Kernels.PoolFoldFloat32<MaxFold>(t, dims, ids, indices.Length, st, offsets.Length, indices.Length, null, padding, f);
            else
                Kernels.PoolFoldFloat32<WeightedSumFold>(t, dims, ids, indices.Length, st, offsets.Length, indices.Length, w, padding, f);
        }
        Kernels.PoolBagsReference(rule, table, dims, indices, offsets, indices.Length, weights, padding, slow, default);
        // Bits, so that -0 against +0 and NaN payloads count as differences.
        Assert.Equal(slow.Select(BitConverter.SingleToInt32Bits), fast.Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData(PoolingMode.Max, 128, false)]
    [InlineData(PoolingMode.Sum, 128, true)]
    [InlineData(PoolingMode.Sum, 72, true)]
    [InlineData(PoolingMode.Max, 100, false)]
    public void EmbeddingBag_MaxAndWeighted_EqualReference(PoolingMode mode, int dims, bool weighted)
    {
        // Through the layer on one and several threads (the batch is above the parallel threshold); on AVX2 these
        // take the register kernel for widths that are a multiple of 8, and the generic loop for 100.
        var rng = new SeededRandom((ulong)dims + 5);
        using var bag = new EmbeddingBag(300, dims, new EmbeddingBagOptions { Mode = mode, Seed = 9, PaddingIdx = 4 });
        var (indices, offsets) = RandomBags.Csr(rng, 300, 500, 40);
        float[] weights = weighted ? RandomBags.Floats(rng, indices.Length) : [];
        float[] table = bag.Weight.ToArray();
        var fast = new float[offsets.Length * dims];
        var slow = new float[offsets.Length * dims];
        bag.Forward(indices, offsets, weights, fast);
        Kernels.PoolBagsReference(mode == PoolingMode.Max ? PoolRule.Max : PoolRule.Sum, table, dims, indices, offsets, indices.Length, weights, 4, slow, default);
        Assert.Equal(slow, fast);
    }

    [Theory]
    [InlineData(PoolingMode.Sum, 128)]
    [InlineData(PoolingMode.Mean, 128)]
    [InlineData(PoolingMode.Sum, 100)]
    [InlineData(PoolingMode.Max, 64)]
    public void EmbeddingBag_ParallelPathEqualsReference(PoolingMode mode, int dims)
    {
        var rng = new SeededRandom((ulong)dims);
        using var bag = new EmbeddingBag(500, dims, new EmbeddingBagOptions { Mode = mode, Seed = 4, PaddingIdx = 7 });
        var (indices, offsets) = RandomBags.Csr(rng, 500, 400, 40); // ~8,000 positions: above the parallel threshold
        float[] table = bag.Weight.ToArray();
        var fast = new float[offsets.Length * dims];
        var slow = new float[offsets.Length * dims];
        bag.Forward(indices, offsets, default, fast);
        var rule = mode switch { PoolingMode.Sum => PoolRule.Sum, PoolingMode.Mean => PoolRule.Mean, _ => PoolRule.Max };
        Kernels.PoolBagsReference(rule, table, dims, indices, offsets, indices.Length, default, 7, slow, mode == PoolingMode.Max ? new int[slow.Length] : default);
        Assert.Equal(slow, fast);
    }
}
