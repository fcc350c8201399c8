using EmbedSharp.Numerics;
using EmbedSharp.Search;
using EmbedSharp.Tables;
using EmbedSharp.Web.Catalog;

namespace EmbedSharp.Web.Tests;

/// <summary>Micro-batched exact search gives, under concurrency, exactly what each query alone gives.</summary>
public sealed class BatcherTests
{
    /// <summary>Clustered rows (near-ties inside clusters), an odd row length, and repeated rows.</summary>
    private static EmbeddingTable Table(int rows, int dims, ulong seed)
    {
        var r = new SeededRandom(seed);
        var centres = new float[16 * dims];
        for (int i = 0; i < centres.Length; i++)
            centres[i] = (float)r.NextNormal();
        var table = new EmbeddingTable(rows, dims);
        var row = new float[dims];
        for (int i = 0; i < rows; i++)
        {
            if (i % 97 == 5 && i > 0)
            {
                table.ReadRow(i - 1, row); // a repeated row: the same vector under two ids
            }
            else
            {
                int c = i % 16;
                for (int d = 0; d < dims; d++)
                    row[d] = centres[c * dims + d] + 0.3f * (float)r.NextNormal();
            }
            table.WriteRow(i, row);
        }
        return table;
    }

    [Theory]
    [InlineData(3000, 37, 200, false)]
    [InlineData(20000, 64, 300, false)]
    [InlineData(3000, 37, 200, true)]
    [InlineData(20000, 64, 300, true)]
    public async Task ConcurrentQueries_AreFoldedIntoBatches_AndEachAnswerEqualsItsSingleExactAnswer(int rows, int dims, int queries, bool prefilter)
    {
        using var table = Table(rows, dims, 7);
        using var plain = new ExactIndex(table, SimilarityMetric.Cosine);
        // With the 8-bit pre-filter (as the explorer runs it where AVX-VNNI exists) the answers must still be the float scan's.
        using var index = new ExactIndex(table, SimilarityMetric.Cosine) { PrefilterCandidates = prefilter ? 64 : 0 };
        var batcher = new NeighbourBatcher(index);
        var r = new SeededRandom(3);
        var asks = new List<(float[] Query, int K, int Exclude)>();
        for (int i = 0; i < queries; i++)
        {
            int row = (int)(r.NextUInt64() % (ulong)rows);
            int k = 1 + (int)(r.NextUInt64() % 40);
            var q = new float[dims];
            table.ReadRow(row, q);
            if (i % 3 == 0)
                q[i % dims] += 0.5f; // not a row of the table
            asks.Add((q, k, i % 3 == 0 ? -1 : row));
        }
        var tasks = asks.Select(a => batcher.SearchAsync(a.Query, a.K, a.Exclude)).ToArray();
        var answers = await Task.WhenAll(tasks);
        for (int i = 0; i < asks.Count; i++)
        {
            var alone = NeighbourBatcher.Single(plain, asks[i].Query, asks[i].K, asks[i].Exclude);
            Assert.Equal(alone, answers[i]);
            Assert.Equal(asks[i].K, answers[i].Length);
            Assert.DoesNotContain(answers[i], n => n.Index == asks[i].Exclude);
        }
        Assert.Equal(queries, batcher.Queries);
        // Folding is timing: on the small table a search takes microseconds, so on a busy machine each query may be
        // answered before the next arrives. On the larger one a search takes long enough that the queue must fold.
        if (rows >= 20000)
            Assert.True(batcher.Batches < queries / 4, $"{batcher.Batches} batches for {queries} queries: the queue did not fold them");
        if (prefilter)
            Assert.Equal(queries, index.PrefilterCounts.Queries);
    }

    [Fact]
    public async Task Answers_MatchTheLibrarysExactMostSimilar_WordForWord()
    {
        using var table = Table(2000, 33, 11);
        var words = Enumerable.Range(0, 2000).Select(i => $"w{i}").ToArray();
        using var keyed = new KeyedVectors(words, table);
        using var index = new ExactIndex(table, SimilarityMetric.Cosine);
        var batcher = new NeighbourBatcher(index);
        var picks = Enumerable.Range(0, 60).Select(i => i * 31 % 2000).ToArray();
        var answers = await Task.WhenAll(picks.Select(p => batcher.SearchAsync(keyed.GetVector(words[p]), 10, p)));
        for (int i = 0; i < picks.Length; i++)
        {
            var expected = keyed.MostSimilar(words[picks[i]], 10);
            // Rows repeated in the table tie exactly; both order ties by row.
            Assert.Equal(expected.Select(e => e.Word), answers[i].Select(n => words[n.Index]));
            for (int j = 0; j < expected.Length; j++)
                Assert.True(Math.Abs(expected[j].Similarity - answers[i][j].Score) < 1e-5, $"{expected[j].Similarity} against {answers[i][j].Score}");
        }
    }

    [Fact]
    public async Task AnAnswersContinuation_MayAskAgain_WithoutStallingTheBatcher()
    {
        // The handler's code runs on the draining thread; a continuation that queues another search and awaits it
        // must be answered by that thread's next batch, not wait for a drain that is busy running it.
        using var table = Table(5000, 31, 9);
        using var index = new ExactIndex(table, SimilarityMetric.Cosine);
        var batcher = new NeighbourBatcher(index);
        var q = new float[31];
        table.ReadRow(12, q);
        async Task<Neighbor[]> Chain(int depth)
        {
            var found = await batcher.SearchAsync(q, 5, 12);
            return depth == 0 ? found : await Chain(depth - 1);
        }
        var chains = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Chain(10))).WaitAsync(TimeSpan.FromSeconds(30));
        var alone = NeighbourBatcher.Single(index, q, 5, 12);
        Assert.All(chains, c => Assert.Equal(alone, c));
        Assert.Equal(8 * 11, batcher.Queries);
    }

    [Fact]
    public async Task EdgeCases_KBeyondTheTable_KAboveTheBatchedLimit_ZeroK_AndBadQueries()
    {
        using var table = Table(300, 7, 5);
        using var index = new ExactIndex(table, SimilarityMetric.Cosine);
        var batcher = new NeighbourBatcher(index);
        var q = new float[7];
        table.ReadRow(4, q);
        Assert.Equal(299, (await batcher.SearchAsync(q, 1000, 4)).Length);
        Assert.Equal(NeighbourBatcher.Single(index, q, 200, 4), await batcher.SearchAsync(q, 200, 4));
        Assert.Empty(await batcher.SearchAsync(q, 0, -1));
        Assert.Throws<ArgumentException>(() => { _ = batcher.SearchAsync(new float[6], 3, -1); });
        q[2] = float.NaN;
        Assert.Throws<ArgumentException>(() => { _ = batcher.SearchAsync(q, 3, -1); });
    }
}
