using EmbedSharp.Numerics;
using EmbedSharp.Search;

namespace EmbedSharp.Tests.Search;

/// <summary>
/// The pre-filter's threshold collector (<see cref="Int8Candidates"/>) against a plain sort, over awkward
/// lengths, ties, removed rows and merged parts. The class name keeps these in .ci/run's ISA-off reruns
/// (the Vector512, Vector256 and scalar compares).
/// </summary>
public sealed class ExactIndexPrefilterCandidatesTests
{
    private static unsafe (int Score, int Id)[] Collect(int[] scores, int keep, int block, ulong[]? removed)
    {
        var c = new Int8Candidates(keep);
        fixed (int* p = scores)
        {
            for (int r0 = 0; r0 < scores.Length; r0 += block)
                c.Add(p + r0, Math.Min(block, scores.Length - r0), r0, removed);
        }
        return c.SortedPairs();
    }

    private static int[] Scores(int n, int seed, int spread)
    {
        var rng = new SeededRandom((ulong)seed);
        var s = new int[n];
        for (int i = 0; i < n; i++)
            s[i] = rng.NextInt(spread) - spread / 2;
        return s;
    }

    [Theory]
    [InlineData(0, 5, 256)]
    [InlineData(1, 1, 256)]
    [InlineData(7, 3, 256)]
    [InlineData(7, 10, 256)]
    [InlineData(17, 16, 5)]
    [InlineData(1000, 1, 256)]
    [InlineData(1000, 7, 33)]
    [InlineData(5000, 256, 256)]
    [InlineData(5003, 64, 1000)]
    [InlineData(20000, 256, 256)]
    public void Keeps_the_same_rows_as_a_plain_sort(int n, int keep, int block)
    {
        foreach (int spread in new[] { 3, 100, 1 << 30 })
        {
            var scores = Scores(n, n * 7 + keep + spread, spread);
            var expected = Int8Candidates.Reference(scores, 0, keep, null);
            Assert.Equal(expected, Collect(scores, keep, block, null));
        }
    }

    [Fact]
    public void Rising_scores_and_extreme_values_keep_the_best_and_the_lower_ids_on_ties()
    {
        // Rising scores refill the buffer again and again; extremes check the packing of score and id.
        var rising = Enumerable.Range(0, 3000).ToArray();
        Assert.Equal(Int8Candidates.Reference(rising, 0, 50, null), Collect(rising, 50, 256, null));
        var extreme = new int[40];
        for (int i = 0; i < extreme.Length; i++)
            extreme[i] = i % 3 == 0 ? int.MaxValue : i % 3 == 1 ? int.MinValue : 0;
        var kept = Collect(extreme, 20, 16, null);
        Assert.Equal(Int8Candidates.Reference(extreme, 0, 20, null), kept);
        Assert.Equal((int.MaxValue, 0), kept[0]);
        // All equal: the lowest ids win.
        var flat = new int[1000];
        Assert.Equal(Enumerable.Range(0, 30).ToArray(), Collect(flat, 30, 256, null).Select(p => p.Id).ToArray());
    }

    [Fact]
    public void Removed_rows_are_skipped()
    {
        var scores = Scores(700, 5, 50);
        var removed = new ulong[(700 + 63) / 64];
        foreach (int id in new[] { 0, 1, 63, 64, 65, 300, 699 })
            removed[id >> 6] |= 1UL << id;
        for (int i = 0; i < 700; i += 9)
            removed[i >> 6] |= 1UL << i;
        Assert.Equal(Int8Candidates.Reference(scores, 0, 40, removed), Collect(scores, 40, 256, removed));
    }

    [Fact]
    public unsafe void Merged_parts_equal_one_collector_over_all_rows()
    {
        var scores = Scores(4000, 11, 20);
        var parts = new[] { new Int8Candidates(64), new Int8Candidates(64), new Int8Candidates(64) };
        fixed (int* p = scores)
        {
            for (int r0 = 0, b = 0; r0 < scores.Length; r0 += 256, b++)
                parts[b % 3].Add(p + r0, Math.Min(256, scores.Length - r0), r0, null);
        }
        var all = new Int8Candidates(64);
        foreach (var part in parts)
            all.Merge(part);
        var kept = all.ToSorted(0.5f, 2f).Select(n => (n.Score, n.Index)).ToArray();
        var expected = Int8Candidates.Reference(scores, 0, 64, null).Select(e => (0.5f + 2f * e.Score, e.Id)).ToArray();
        Assert.Equal(expected, kept);
        Assert.True(all.Threshold > int.MinValue);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(10, 9)]
    [InlineData(257, 128)]
    [InlineData(1024, 256)]
    [InlineData(5000, 1)]
    public void Select_largest_puts_the_largest_first(int n, int keep)
    {
        foreach (int spread in new[] { 1, 4, 1 << 20 })
        {
            var rng = new SeededRandom((ulong)(n + keep + spread));
            var values = new long[n];
            for (int i = 0; i < n; i++)
                values[i] = rng.NextInt(spread);
            var before = values.Order().ToArray();
            var expected = values.OrderDescending().Take(keep).Order().ToArray();
            Int8Candidates.SelectLargest(values, keep);
            Assert.Equal(expected, values.AsSpan(0, keep).ToArray().Order().ToArray());
            Assert.Equal(before, values.Order().ToArray()); // a permutation: nothing lost or repeated
        }
    }
}
