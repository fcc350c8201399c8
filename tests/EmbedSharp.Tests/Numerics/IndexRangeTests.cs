using EmbedSharp.Numerics;

namespace EmbedSharp.Tests.Numerics;

/// <summary><see cref="Kernels.FirstOutOfRange"/> against its plain reference.</summary>
public sealed class IndexRangeTests
{
    [Fact]
    public void FirstOutOfRangeMatchesTheReferenceAtEveryLengthAndPosition()
    {
        var rng = new SeededRandom(17);
        foreach (int bound in new[] { 0, 1, 7, 1000, int.MaxValue })
        {
            for (int n = 0; n <= 256; n++)
            {
                var ids = new int[n];
                for (int i = 0; i < n; i++)
                    ids[i] = bound == 0 ? 0 : rng.NextInt(Math.Min(bound, 1 << 30));
                Assert.Equal(Kernels.FirstOutOfRangeReference(ids, bound), Kernels.FirstOutOfRange(ids, bound));
                if (bound == 0)
                    continue;
                // One bad id (too large, or negative) at every position; then a second, later one.
                foreach (int bad in new[] { bound == int.MaxValue ? -1 : bound, -1, int.MinValue, bound == int.MaxValue ? int.MinValue : int.MaxValue })
                {
                    for (int p = 0; p < n; p++)
                    {
                        int kept = ids[p];
                        ids[p] = bad;
                        Assert.Equal(p, Kernels.FirstOutOfRange(ids, bound));
                        Assert.Equal(p, Kernels.FirstOutOfRangeReference(ids, bound));
                        if (p + 9 < n)
                        {
                            int kept2 = ids[p + 9];
                            ids[p + 9] = bad;
                            Assert.Equal(p, Kernels.FirstOutOfRange(ids, bound));
                            ids[p + 9] = kept2;
                        }
                        ids[p] = kept;
                    }
                }
            }
        }
    }

    [Fact]
    public void FirstOutOfRangeFindsTheLastIdOfALongBatch()
    {
        var ids = new int[100_003];
        Assert.Equal(-1, Kernels.FirstOutOfRange(ids, 1));
        ids[^1] = 1;
        Assert.Equal(ids.Length - 1, Kernels.FirstOutOfRange(ids, 1));
        ids[40_000] = -5;
        Assert.Equal(40_000, Kernels.FirstOutOfRange(ids, 1));
    }
}
