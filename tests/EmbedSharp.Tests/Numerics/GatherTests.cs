using EmbedSharp.Numerics;

namespace EmbedSharp.Tests.Numerics;

public sealed class GatherTests
{
    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(1, 1, 1)]
    [InlineData(7, 3, 9)]
    [InlineData(13, 17, 40)]
    [InlineData(50, 64, 7)]
    [InlineData(5, 255, 20)]
    public void Gather_MatchesReference_ForEveryStorageType(int rows, int dims, int count)
    {
        var r = new SeededRandom(42);
        var table = new float[rows * dims];
        for (int i = 0; i < table.Length; i++)
            table[i] = (float)r.NextNormal();
        int[] ids = Enumerable.Range(0, rows == 0 ? 0 : count).Select(_ => r.NextInt(rows)).ToArray();
        if (ids.Length > 2)
            ids[1] = ids[0]; // repeated id

        Check(table, dims, ids, 1f);
        Check(table, dims, ids, 2.5f);
        var half = table.Select(x => (Half)x).ToArray();
        Check(half, dims, ids, 1f);
        var bf = table.Select(x => (BFloat16)x).ToArray();
        Check(bf, dims, ids, 0.5f);
    }

    private static void Check<T>(T[] table, int dims, int[] ids, float scale) where T : unmanaged
    {
        var fast = new float[ids.Length * dims];
        var slow = new float[ids.Length * dims];
        Kernels.Gather<T>(table, dims, ids, scale, fast);
        Kernels.GatherReference<T>(table, dims, ids, scale, slow);
        Assert.Equal(slow, fast);
    }

    [Theory]
    [InlineData(1.0, 6.0)]
    [InlineData(2.0, 3.7416573867739413)]
    [InlineData(3.0, 3.3019272488946263)]
    [InlineData(double.PositiveInfinity, 3.0)]
    public void Norm_OfOneTwoThree(double p, double expected)
    {
        Assert.Equal(expected, Kernels.Norm([1f, -2f, 3f], p), 12);
    }
}
