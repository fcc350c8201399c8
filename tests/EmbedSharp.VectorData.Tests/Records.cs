using Microsoft.Extensions.VectorData;

namespace EmbedSharp.VectorData.Tests;

public sealed class Hotel
{
    [VectorStoreKey]
    public int Id { get; set; }

    [VectorStoreData(IsIndexed = true)]
    public string Name { get; set; } = "";

    [VectorStoreData(IsFullTextIndexed = true)]
    public string Description { get; set; } = "";

    [VectorStoreData(IsIndexed = true)]
    public int Stars { get; set; }

    [VectorStoreData]
    public string[] Tags { get; set; } = [];

    [VectorStoreVector(3, DistanceFunction = DistanceFunction.CosineSimilarity, IndexKind = IndexKind.Hnsw)]
    public ReadOnlyMemory<float>? Embedding { get; set; }
}

public sealed class FlatDoc
{
    [VectorStoreKey]
    public Guid Key { get; set; }

    [VectorStoreData]
    public string Text { get; set; } = "";

    [VectorStoreVector(2, DistanceFunction = DistanceFunction.EuclideanDistance, IndexKind = IndexKind.Flat)]
    public float[]? Vector { get; set; }
}

public sealed class StringKeyed
{
    [VectorStoreKey]
    public string Key { get; set; } = "";

    [VectorStoreData]
    public double Price { get; set; }

    [VectorStoreData]
    public DateTimeOffset When { get; set; }

    [VectorStoreData]
    public bool Flag { get; set; }

    [VectorStoreVector(2, DistanceFunction = DistanceFunction.DotProductSimilarity)]
    public ReadOnlyMemory<float> Vector { get; set; }
}

/// <summary>The vector is text; the collection's embedding generator makes it.</summary>
public sealed class Article
{
    [VectorStoreKey]
    public long Id { get; set; }

    [VectorStoreData(IsFullTextIndexed = true)]
    public string Body { get; set; } = "";

    [VectorStoreVector(3)]
    public string Text => Body;
}

internal static class Fixtures
{
    public static Hotel[] Hotels() =>
    [
        new() { Id = 1, Name = "Royal", Description = "a palace for a king", Stars = 5, Tags = ["luxury"], Embedding = new float[] { 1, 0, 0 } },
        new() { Id = 2, Name = "Orchard", Description = "apple trees and pear trees", Stars = 3, Tags = ["garden"], Embedding = new float[] { 0, 0, 1 } },
        new() { Id = 3, Name = "Crown", Description = "the queen stayed here", Stars = 4, Tags = ["luxury", "city"], Embedding = new float[] { 0.9f, 0.1f, 0 } },
        new() { Id = 4, Name = "Budget", Description = "cheap beds", Stars = 1, Tags = [], Embedding = new float[] { 0, 1, 0 } },
    ];

    public static async Task<(EmbedSharpVectorStore Store, VectorStoreCollection<int, Hotel> Hotels)> HotelsAsync(string? folder = null)
    {
        var store = new EmbedSharpVectorStore(folder);
        var hotels = store.GetCollection<int, Hotel>("hotels");
        await hotels.EnsureCollectionExistsAsync();
        await hotels.UpsertAsync(Hotels());
        return (store, hotels);
    }

    public static string TempFolder() => Directory.CreateTempSubdirectory("es-vd-").FullName;
}
