using Microsoft.Extensions.VectorData;

namespace EmbedSharp.VectorData.Tests;

public sealed class DistanceFunctionTests
{
    private sealed class Doc
    {
        public int Id { get; set; }
        public ReadOnlyMemory<float> V { get; set; }
    }

    private static async Task<List<VectorSearchResult<Doc>>> Run(string distance, string kind = IndexKind.Flat)
    {
        var definition = new VectorStoreCollectionDefinition
        {
            Properties = [new VectorStoreKeyProperty("Id", typeof(int)), new VectorStoreVectorProperty("V", typeof(ReadOnlyMemory<float>), 2) { DistanceFunction = distance, IndexKind = kind }],
        };
        var c = new EmbedSharpVectorStore().GetCollection<int, Doc>("d", definition);
        await c.EnsureCollectionExistsAsync();
        await c.UpsertAsync([new Doc { Id = 1, V = new float[] { 1, 0 } }, new Doc { Id = 2, V = new float[] { 3, 4 } }, new Doc { Id = 3, V = new float[] { -1, 0 } }]);
        return await c.SearchAsync(new ReadOnlyMemory<float>([1, 0]), 3).ToListAsync();
    }

    [Theory]
    [InlineData(IndexKind.Flat)]
    [InlineData(IndexKind.Hnsw)]
    public async Task Every_supported_distance_ranks_and_scores_as_named(string kind)
    {
        var cos = await Run(DistanceFunction.CosineSimilarity, kind);
        Assert.Equal([1, 2, 3], cos.Select(r => r.Record.Id));
        Assert.Equal([1.0, 0.6, -1.0], cos.Select(r => Math.Round(r.Score!.Value, 4)));
        var cosd = await Run(DistanceFunction.CosineDistance, kind);
        Assert.Equal([0.0, 0.4, 2.0], cosd.Select(r => Math.Round(r.Score!.Value, 4)));
        var dot = await Run(DistanceFunction.DotProductSimilarity, kind);
        Assert.Equal([2, 1, 3], dot.Select(r => r.Record.Id));
        Assert.Equal([3.0, 1.0, -1.0], dot.Select(r => Math.Round(r.Score!.Value, 4)));
        var ndot = await Run(DistanceFunction.NegativeDotProductSimilarity, kind);
        Assert.Equal([-3.0, -1.0, 1.0], ndot.Select(r => Math.Round(r.Score!.Value, 4)));
        var l2 = await Run(DistanceFunction.EuclideanDistance, kind);
        Assert.Equal([1, 3, 2], l2.Select(r => r.Record.Id));
        Assert.Equal([0.0, 2.0, Math.Round(Math.Sqrt(20), 4)], l2.Select(r => Math.Round(r.Score!.Value, 4)));
        var l2sq = await Run(DistanceFunction.EuclideanSquaredDistance, kind);
        Assert.Equal([0.0, 4.0, 20.0], l2sq.Select(r => Math.Round(r.Score!.Value, 3)));
    }

    [Fact]
    public async Task Unsupported_distances_are_refused_when_the_collection_is_made()
    {
        await Assert.ThrowsAsync<NotSupportedException>(() => Run(DistanceFunction.ManhattanDistance));
        await Assert.ThrowsAsync<NotSupportedException>(() => Run(DistanceFunction.CosineSimilarity, IndexKind.DiskAnn));
    }
}
