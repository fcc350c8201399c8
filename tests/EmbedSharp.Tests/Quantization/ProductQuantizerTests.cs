using EmbedSharp.Numerics;
using EmbedSharp.Quantization;

namespace EmbedSharp.Tests.Quantization;

public sealed class ProductQuantizerTests
{
    private static float[] Gaussian(int n, int dims, ulong seed)
    {
        var rng = new SeededRandom(seed);
        var x = new float[n * dims];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)rng.NextNormal();
        return x;
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 3, 2)]
    [InlineData(300, 5, 17)]
    [InlineData(600, 9, 300)]
    public void Assign_matches_the_plain_reference(int n, int dims, int k)
    {
        var data = Gaussian(n, dims, 1);
        var centroids = Gaussian(k, dims, 2);
        var fast = new int[n];
        var reference = new int[n];
        KMeans.Assign(data, dims, centroids, fast, threads: 2);
        KMeans.AssignReference(data, dims, centroids, reference);
        Assert.Equal(reference, fast);
    }

    [Fact]
    public void KMeans_finds_planted_clusters_and_is_seeded()
    {
        var rng = new SeededRandom(5);
        int dims = 4, n = 400;
        var data = new float[n * dims];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < dims; j++)
                data[i * dims + j] = (i % 4) * 10 + (float)rng.NextNormal() * 0.1f;
        var c1 = KMeans.Train(data, dims, 4, 10, seed: 3, threads: 1);
        var c2 = KMeans.Train(data, dims, 4, 10, seed: 3, threads: 2);
        Assert.Equal(c1, c2);
        var found = Enumerable.Range(0, 4).Select(c => (int)Math.Round(c1[c * dims] / 10)).OrderBy(v => v);
        Assert.Equal([0, 1, 2, 3], found);
        Assert.Throws<ArgumentException>(() => KMeans.Train(data.AsSpan(0, 8), dims, 4));
        Assert.Throws<ArgumentException>(() => KMeans.Train([float.NaN, 1, 2, 3], 1, 1));
    }

    [Fact]
    public void Encode_decode_and_ADC_agree_and_persist()
    {
        int dims = 16, m = 4;
        var data = Gaussian(1000, dims, 7);
        var pq = ProductQuantizer.Train(data, dims, m, iterations: 8, seed: 1, threads: 2);
        var code = new byte[m];
        var decoded = new float[dims];
        var table = new float[m * 256];
        var dots = new float[m * 256];
        var query = Gaussian(1, dims, 9);
        pq.ComputeTable(query, PqTable.L2, table);
        pq.ComputeTable(query, PqTable.Dot, dots);
        double err = 0, energy = 0;
        for (int i = 0; i < 200; i++)
        {
            var x = data.AsSpan(i * dims, dims);
            pq.Encode(x, code);
            pq.Decode(code, decoded);
            float l2 = 0, dot = 0;
            for (int j = 0; j < dims; j++)
            {
                l2 += (query[j] - decoded[j]) * (query[j] - decoded[j]);
                dot += query[j] * decoded[j];
                err += (x[j] - decoded[j]) * (x[j] - decoded[j]);
                energy += x[j] * x[j];
            }
            Assert.True(Math.Abs(l2 - ProductQuantizer.Score(table, code)) <= 1e-4 * (1 + Math.Abs(l2)), $"l2 {l2}");
            Assert.True(Math.Abs(dot - ProductQuantizer.Score(dots, code)) <= 1e-4 * (1 + Math.Abs(dot)), $"dot {dot}");
        }
        Assert.True(err < 0.5 * energy, $"relative error {err / energy}");
        var ms = new MemoryStream();
        pq.Save(ms);
        var bytes = ms.ToArray();
        var back = ProductQuantizer.Load(new MemoryStream(bytes));
        Assert.Equal(pq.Centroids.ToArray(), back.Centroids.ToArray());
        for (int cut = 0; cut < bytes.Length; cut += 997)
            Assert.Throws<InvalidDataException>(() => ProductQuantizer.Load(new MemoryStream(bytes[..cut])));
        bytes[5] = 0x7f;
        Assert.Throws<InvalidDataException>(() => ProductQuantizer.Load(new MemoryStream(bytes)));
        Assert.Throws<ArgumentException>(() => ProductQuantizer.Train(data, dims, 3));
        Assert.Throws<ArgumentException>(() => ProductQuantizer.Train(data.AsSpan(0, 100 * dims), dims, m));
    }
}
