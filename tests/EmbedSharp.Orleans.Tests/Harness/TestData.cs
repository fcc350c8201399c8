using EmbedSharp.Stores;

namespace EmbedSharp.Orleans.Tests.Harness;

/// <summary>Seeded ids, rows and gradients, and exact comparisons of two stores.</summary>
internal static class TestData
{
    public static long[] Ids(Random rng, int count, long numEmbeddings) =>
        [.. Enumerable.Range(0, count).Select(_ => rng.NextInt64(numEmbeddings))];

    public static float[] Floats(Random rng, int count, float scale = 1f) =>
        [.. Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale)];

    public static long[] Range(long count) => [.. Enumerable.Range(0, checked((int)count)).Select(i => (long)i)];

    public static async Task<float[]> ReadAll(IEmbeddingRowReader store, long numEmbeddings)
    {
        long[] ids = Range(numEmbeddings);
        var rows = new float[ids.Length * store.Info.Dims];
        await store.GatherAsync(ids, rows);
        return rows;
    }

    /// <summary>Asserts two stores hold the same bits in every row, naming the first row that differs.</summary>
    public static async Task AssertSameRows(IEmbeddingRowReader expected, IEmbeddingRowReader actual, long numEmbeddings)
    {
        float[] a = await ReadAll(expected, numEmbeddings), b = await ReadAll(actual, numEmbeddings);
        int dims = expected.Info.Dims;
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i]))
                Assert.Fail($"row {i / dims} column {i % dims}: expected {a[i]:R}, got {b[i]:R}");
    }
}
