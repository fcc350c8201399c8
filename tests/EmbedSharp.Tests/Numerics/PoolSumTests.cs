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
