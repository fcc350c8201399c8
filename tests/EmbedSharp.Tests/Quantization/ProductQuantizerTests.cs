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

    [Theory]
    [InlineData(9, 5, 2)]     // fastText's dsub 2 on an odd dim: four blocks of 2, the last of 1
    [InlineData(7, 3, 3)]     // 3 + 3 + 1
    [InlineData(1, 1, 1)]
    [InlineData(8, 4, 2)]     // equal blocks through the ragged factory
    public void Ragged_last_block_encodes_decodes_scores_and_persists(int dims, int m, int sub)
    {
        var centroids = Gaussian(256, dims, 11);   // 256 × dims values, block after block
        var pq = ProductQuantizer.FromCentroids(dims, m, sub, centroids);
        int last = dims - (m - 1) * sub;
        Assert.Equal((sub, last), (pq.SubDims, pq.LastSubDims));
        var rng = new SeededRandom(4);
        var code = new byte[m];
        for (int j = 0; j < m; j++)
            code[j] = (byte)rng.NextInt(256);

        // The plain reference: block j's centroid c starts at j·256·sub + c·width(j).
        var expected = new float[dims];
        for (int j = 0; j < m; j++)
        {
            int w = j == m - 1 ? last : sub;
            for (int i = 0; i < w; i++)
                expected[j * sub + i] = centroids[j * 256 * sub + code[j] * w + i];
            Assert.Equal(centroids.AsSpan(j * 256 * sub + code[j] * w, w).ToArray(), pq.Centroid(j, code[j]).ToArray());
        }
        var decoded = new float[dims];
        pq.Decode(code, decoded);
        Assert.Equal(expected, decoded);

        // Encoding a decoded row gives its code back (centroids are distinct Gaussian draws).
        var again = new byte[m];
        pq.Encode(decoded, again);
        Assert.Equal(code, again);

        // AddDecoded rounds the product and the sum separately, as fastText does.
        var acc = Gaussian(1, dims, 12);
        var want = acc.ToArray();
        for (int i = 0; i < dims; i++)
            want[i] += 0.37f * expected[i];
        pq.AddDecoded(code, 0.37f, acc);
        Assert.Equal(want, acc);

        var query = Gaussian(1, dims, 13);
        var table = new float[m * 256];
        pq.ComputeTable(query, PqTable.Dot, table);
        float dot = 0;
        for (int i = 0; i < dims; i++)
            dot += query[i] * expected[i];
        Assert.True(Math.Abs(dot - ProductQuantizer.Score(table, code)) <= 1e-4f * (1 + Math.Abs(dot)));

        var ms = new MemoryStream();
        pq.Save(ms);
        var bytes = ms.ToArray();
        Assert.Equal(last == sub ? "EPQ1" : "EPQ2", System.Text.Encoding.ASCII.GetString(bytes, 0, 4));
        var back = ProductQuantizer.Load(new MemoryStream(bytes));
        Assert.Equal((dims, m, sub, last), (back.Dims, back.M, back.SubDims, back.LastSubDims));
        Assert.Equal(pq.Centroids.ToArray(), back.Centroids.ToArray());
        for (int cut = 0; cut < bytes.Length; cut += 61)
            Assert.Throws<InvalidDataException>(() => ProductQuantizer.Load(new MemoryStream(bytes[..cut])));
        Assert.Throws<ArgumentOutOfRangeException>(() => pq.Centroid(m, 0));
    }

    [Theory]
    [InlineData(9, 5, 1)]   // 5 blocks of 1 cannot make 9
    [InlineData(9, 2, 9)]   // the first block alone is already 9
    [InlineData(9, 0, 2)]
    public void Ragged_widths_that_do_not_add_up_are_refused(int dims, int m, int sub)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => ProductQuantizer.FromCentroids(dims, m, sub, new float[256 * dims]));
        Assert.StartsWith("[pq.from_centroids]", e.Message);
    }

    [Fact]
    public void Ragged_header_with_impossible_widths_is_refused()
    {
        var ms = new MemoryStream();
        ProductQuantizer.FromCentroids(9, 5, 2, Gaussian(256, 9, 1)).Save(ms);
        var bytes = ms.ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), 9);   // sub-dims 9: 4 blocks already exceed 9
        var e = Assert.Throws<InvalidDataException>(() => ProductQuantizer.Load(new MemoryStream(bytes)));
        Assert.Contains("impossible", e.Message);
    }
}
