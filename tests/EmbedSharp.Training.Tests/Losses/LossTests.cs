using EmbedSharp.Numerics;
using EmbedSharp.Training.Losses;

namespace EmbedSharp.Training.Tests.Losses;

public class LossTests
{
    [Fact]
    public void NegativeSamplerFollowsSmoothedUnigram()
    {
        long[] counts = [1000, 300, 50, 7, 1, 0];
        var sampler = new NegativeSampler(counts, 0.75, tableSize: 200_000);
        double z = counts.Sum(c => Math.Pow(c, 0.75));
        for (int w = 0; w < counts.Length; w++)
            Assert.InRange(sampler.Probability(w), Math.Pow(counts[w], 0.75) / z - 2e-5, Math.Pow(counts[w], 0.75) / z + 2e-5);
        var random = new SeededRandom(1);
        var hits = new int[counts.Length];
        for (int i = 0; i < 100_000; i++)
            hits[sampler.Sample(random)]++;
        Assert.Equal(0, hits[5]);
        Assert.InRange(hits[0] / 100_000.0, Math.Pow(1000, 0.75) / z - 0.01, Math.Pow(1000, 0.75) / z + 0.01);
    }

    [Fact]
    public void NegativeSamplerRejectsBadInput()
    {
        Assert.StartsWith("[negative_sampling.create]", Assert.Throws<ArgumentException>(() => new NegativeSampler(ReadOnlySpan<long>.Empty)).Message);
        Assert.Throws<ArgumentException>(() => new NegativeSampler([0, 0]));
        Assert.Throws<ArgumentException>(() => new NegativeSampler([1, -1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NegativeSampler([1], double.NaN));
    }

    [Fact]
    public void HuffmanCodesArePrefixFreeAndOptimal()
    {
        var random = new SeededRandom(5);
        foreach (int v in new[] { 1, 2, 3, 7, 64, 257 })
        {
            var counts = new long[v];
            for (int i = 0; i < v; i++)
                counts[i] = 1 + random.NextInt(1000);
            var tree = new HuffmanTree(counts);
            var codes = Enumerable.Range(0, v).Select(w => string.Concat(tree.GetCode(w).ToArray().Select(b => (char)('0' + b)))).ToList();
            // Prefix-free, and a full binary tree: Kraft's sum is exactly 1.
            for (int a = 0; a < v; a++)
                for (int b = 0; b < v; b++)
                    if (a != b)
                        Assert.False(codes[b].StartsWith(codes[a], StringComparison.Ordinal), $"{codes[a]} is a prefix of {codes[b]}");
            if (v > 1)
                Assert.Equal(1.0, codes.Sum(c => Math.Pow(2, -c.Length)), 9);
            // Optimal: Σ count·depth equals the cost of a textbook Huffman merge.
            long cost = Enumerable.Range(0, v).Sum(w => counts[w] * codes[w].Length);
            Assert.Equal(TextbookHuffmanCost(counts), cost);
            // Points are inner nodes 0 … V−2, the root (the last created node) first.
            for (int w = 0; w < v; w++)
            {
                var points = tree.GetPoints(w);
                Assert.Equal(codes[w].Length, points.Length);
                if (points.Length > 0)
                    Assert.Equal(v - 2, points[0]);
                foreach (int p in points)
                    Assert.InRange(p, 0, v - 2);
            }
        }
    }

    [Fact]
    public void HuffmanCodesForAKnownExample()
    {
        // Weights 5, 3, 2, 1: merge 1+2 → 3, then 3+3 → 6, then 5+6 → 11. Depths 1, 2, 3, 3.
        var tree = new HuffmanTree([5, 3, 2, 1]);
        Assert.Equal([1, 2, 3, 3], Enumerable.Range(0, 4).Select(w => tree.GetCode(w).Length).ToArray());
        // The lighter node of each merge takes bit 0: word 0 (5) is heavier than the subtree (6)? No: 5 < 6, so word 0 gets 0.
        Assert.Equal(new byte[] { 0 }, tree.GetCode(0).ToArray());
        Assert.Throws<ArgumentException>(() => new HuffmanTree(ReadOnlySpan<long>.Empty));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.GetCode(4));
    }

    private static long TextbookHuffmanCost(long[] counts)
    {
        var q = new PriorityQueue<long, long>();
        foreach (long c in counts)
            q.Enqueue(c, c);
        long cost = 0;
        while (q.Count > 1)
        {
            long a = q.Dequeue(), b = q.Dequeue();
            cost += a + b;
            q.Enqueue(a + b, a + b);
        }
        return cost;
    }
}
