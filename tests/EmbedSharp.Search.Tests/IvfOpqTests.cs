using EmbedSharp.Numerics;
using EmbedSharp.Search.Ivf;

namespace EmbedSharp.Search.Tests;

public sealed class IvfOpqTests
{
    private static float[] RandomOrthogonal(int d, ulong seed)
    {
        // Gram–Schmidt on a Gaussian matrix (rows).
        var rng = new SeededRandom(seed);
        var q = new double[d * d];
        for (int i = 0; i < d * d; i++)
            q[i] = rng.NextNormal();
        for (int i = 0; i < d; i++)
        {
            for (int k = 0; k < i; k++)
            {
                double dot = 0;
                for (int j = 0; j < d; j++)
                    dot += q[i * d + j] * q[k * d + j];
                for (int j = 0; j < d; j++)
                    q[i * d + j] -= dot * q[k * d + j];
            }
            double norm = 0;
            for (int j = 0; j < d; j++)
                norm += q[i * d + j] * q[i * d + j];
            for (int j = 0; j < d; j++)
                q[i * d + j] /= Math.Sqrt(norm);
        }
        return Array.ConvertAll(q, v => (float)v);
    }

    private static void AssertOrthogonal(float[] r, int d)
    {
        for (int i = 0; i < d; i++)
        {
            for (int k = 0; k < d; k++)
            {
                double dot = 0;
                for (int j = 0; j < d; j++)
                    dot += r[i * d + j] * r[k * d + j];
                Assert.True(Math.Abs(dot - (i == k ? 1 : 0)) < 1e-4, $"R·Rᵀ[{i},{k}] = {dot}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(16)]
    public void Procrustes_recovers_the_rotation_of_a_scaled_orthogonal_matrix(int d)
    {
        // A = Q·diag(s) with s > 0 has SVD Q·diag(s)·I, so the nearest orthogonal matrix is Q.
        var q = RandomOrthogonal(d, (ulong)d);
        var a = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                a[i * d + j] = q[i * d + j] * (1.0 + j * 0.37);
        var r = Opq.Procrustes(a, d);
        for (int i = 0; i < d * d; i++)
            Assert.True(Math.Abs(r[i] - q[i]) < 1e-4, $"entry {i}: {r[i]} vs {q[i]}");
    }

    [Fact]
    public void Procrustes_of_rank_deficient_matrices_is_still_orthogonal()
    {
        int d = 5;
        Assert.Equal(Opq.Identity(d), Opq.Procrustes(new double[d * d], d));
        var rank1 = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                rank1[i * d + j] = (i + 1) * (j - 2.5);
        AssertOrthogonal(Opq.Procrustes(rank1, d), d);
    }

    [Fact]
    public void Opq_lowers_the_quantization_error_of_correlated_data_and_round_trips()
    {
        // The second half of every vector repeats the first (plus a little noise): plain PQ codes the
        // two halves apart and spends half its bits on the copy; a rotation makes them one sub-space's work.
        int dims = 8, n = 2000;
        var rng = new SeededRandom(11);
        var x = new float[n * dims];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < dims / 2; j++)
            {
                x[i * dims + j] = (float)rng.NextNormal();
                x[i * dims + j + dims / 2] = x[i * dims + j] + 0.05f * (float)rng.NextNormal();
            }
        }
        double Error(IvfIndex index)
        {
            var v = new float[dims];
            double e = 0;
            for (int i = 0; i < n; i++)
            {
                Assert.True(index.TryGetVector(i, v));
                for (int j = 0; j < dims; j++)
                    e += (v[j] - x[i * dims + j]) * (v[j] - x[i * dims + j]);
            }
            return e / n;
        }
        var baseOptions = new IvfOptions { NList = 1, PqM = 2, TrainIterations = 6, MaxPointsPerCentroid = 4000 };
        var plain = IvfIndex.Train(x, dims, SimilarityMetric.L2, baseOptions, threads: 2);
        plain.AddBatch(x, threads: 2);
        var opq = IvfIndex.Train(x, dims, SimilarityMetric.L2, baseOptions with { OpqIterations = 6 }, threads: 2);
        opq.AddBatch(x, threads: 2);
        AssertOrthogonal(opq.Rotation.ToArray(), dims);
        Assert.True(plain.Rotation.IsEmpty);
        double ePlain = Error(plain), eOpq = Error(opq);
        Assert.True(eOpq < 0.7 * ePlain, $"OPQ error {eOpq} is not below plain PQ's {ePlain}");

        // Searches rank by the same reconstructions (L2 and Dot), and a save/open round trip keeps them.
        var queries = x.AsSpan(0, 20 * dims).ToArray();
        foreach (var metric in new[] { SimilarityMetric.L2, SimilarityMetric.Dot })
        {
            var index = IvfIndex.Train(x, dims, metric, baseOptions with { OpqIterations = 3 }, threads: 1);
            index.AddBatch(x, threads: 1);
            var found = index.SearchBatch(queries, 5, null, 1, nprobe: 1);
            var v = new float[dims];
            for (int qi = 0; qi < 20; qi++)
            {
                var qv = queries.AsSpan(qi * dims, dims);
                foreach (var hit in found[qi])
                {
                    index.TryGetVector(hit.Index, v);
                    float expected = metric == SimilarityMetric.L2
                        ? MathF.Sqrt(Distances.SquaredL2Reference(qv, v))
                        : Distances.DotReference(qv, v);
                    Assert.True(Math.Abs(expected - hit.Score) < 1e-3 * (1 + Math.Abs(expected)), $"{metric}: score {hit.Score} vs reconstruction {expected}");
                }
            }
            var stream = new MemoryStream();
            index.Save(stream);
            stream.Position = 0;
            var back = IvfIndex.Load(stream);
            Assert.Equal(index.Rotation.ToArray(), back.Rotation.ToArray());
            var again = back.SearchBatch(queries, 5, null, 1, nprobe: 1);
            for (int qi = 0; qi < 20; qi++)
                Assert.Equal(found[qi].Select(h => h.Index), again[qi].Select(h => h.Index));
            // A truncated rotation is a clear error.
            var bytes = stream.ToArray();
            int cut = 64 + dims * 4 + 12 + 256 * dims * 4 + 10;
            var ex = Assert.Throws<InvalidDataException>(() => IvfIndex.Load(new MemoryStream(bytes[..cut])));
            Assert.Contains("OPQ rotation", ex.Message);
        }
    }

    [Fact]
    public void Opq_options_are_validated()
    {
        var x = new float[300 * 4];
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => IvfIndex.Train(x, 4, SimilarityMetric.L2, new IvfOptions { NList = 2, OpqIterations = 2 }));
        Assert.Contains("PqM > 0", ex.Message);
    }
}
