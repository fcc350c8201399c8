using Microsoft.Extensions.VectorData;

namespace EmbedSharp.VectorData.Tests;

public sealed class KeyAndDataTypeTests
{
    [Fact]
    public async Task String_keys_and_common_data_types_round_trip_through_a_folder()
    {
        string folder = Fixtures.TempFolder();
        try
        {
            var when = new DateTimeOffset(2026, 12, 7, 5, 0, 0, TimeSpan.FromHours(1));
            var c = new EmbedSharpVectorStore(folder).GetCollection<string, StringKeyed>("s");
            await c.EnsureCollectionExistsAsync();
            await c.UpsertAsync(new StringKeyed { Key = "α-1", Price = 12.5, When = when, Flag = true, Vector = new float[] { 1, 2 } });
            await Assert.ThrowsAsync<ArgumentException>(() => c.UpsertAsync(new StringKeyed { Key = "", Vector = new float[] { 1, 2 } }));
            var back = await new EmbedSharpVectorStore(folder).GetCollection<string, StringKeyed>("s").GetAsync("α-1", new RecordRetrievalOptions { IncludeVectors = true });
            Assert.Equal((12.5, when, true), (back!.Price, back.When, back.Flag));
            Assert.Equal([1f, 2f], back.Vector.ToArray());
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    private sealed class NoKey
    {
        [VectorStoreVector(2)]
        public float[]? V { get; set; }
    }

    private sealed class BadKey
    {
        [VectorStoreKey]
        public double K { get; set; }

        [VectorStoreVector(2)]
        public float[]? V { get; set; }
    }

    [Fact]
    public void Unsupported_models_fail_clearly()
    {
        var store = new EmbedSharpVectorStore();
        Assert.Contains("no key property", Assert.Throws<ArgumentException>(() => store.GetCollection<int, NoKey>("a")).Message);
        Assert.Contains("key type Double", Assert.Throws<NotSupportedException>(() => store.GetCollection<double, BadKey>("b")).Message);
        Assert.Throws<ArgumentException>(() => store.GetCollection<string, Hotel>("c"));
        Assert.Throws<NotSupportedException>(() => store.GetDynamicCollection("d", new VectorStoreCollectionDefinition()));
    }
}
