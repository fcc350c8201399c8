using EmbedSharp.Numerics;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Tests.Layers;

public sealed class HashEmbeddingTests
{
    [Fact]
    public void Forward_is_the_importance_weighted_sum_of_hashed_components()
    {
        using var h = new HashEmbedding(numBuckets: 50, dims: 5, numHashes: 3, numImportanceRows: 40, seed: 9);
        long[] ids = [0, 7, 7, 123456789012, -5];
        float[] got = new float[ids.Length * 5];
        h.Forward(ids, got);
        int[] buckets = new int[ids.Length * 3], rows = new int[ids.Length];
        h.GetBuckets(ids, buckets, rows);
        float[] c = new float[5], p = new float[3];
        for (int t = 0; t < ids.Length; t++)
        {
            h.Importance.Weight.ReadRow(rows[t], p);
            for (int j = 0; j < 5; j++)
            {
                double s = 0;
                for (int i = 0; i < 3; i++)
                {
                    h.Components.Weight.ReadRow(buckets[t * 3 + i], c);
                    s += p[i] * c[j];
                }
                Assert.Equal(s, got[t * 5 + j], 5);
            }
        }
        Assert.Equal(got.AsSpan(5, 5).ToArray(), got.AsSpan(10, 5).ToArray());
    }

    [Fact]
    public void Backward_matches_finite_differences()
    {
        using var h = new HashEmbedding(numBuckets: 8, dims: 3, numHashes: 2, numImportanceRows: 6, seed: 1);
        long[] ids = [3, 11, 3, 40];
        var rng = new SeededRandom(2);
        float[] g = Enumerable.Range(0, ids.Length * 3).Select(_ => (float)rng.NextNormal()).ToArray();
        HashEmbeddingGradient grad = h.Backward(ids, g);
        float[] dC = grad.Components.ToDense(), dP = grad.Importance.ToDense();

        double Loss()
        {
            float[] o = new float[ids.Length * 3];
            h.Forward(ids, o);
            double s = 0;
            for (int i = 0; i < o.Length; i++)
                s += (double)o[i] * g[i];
            return s;
        }

        void Check(EmbedSharp.Tables.EmbeddingTable table, float[] analytic)
        {
            Span<float> w = table.AsSpan<float>();
            for (int i = 0; i < w.Length; i++)
            {
                float keep = w[i];
                w[i] = keep + 1e-2f;
                double up = Loss();
                w[i] = keep - 1e-2f;
                double down = Loss();
                w[i] = keep;
                Assert.Equal((up - down) / 2e-2, analytic[i], 2);
            }
        }
        Check(h.Components.Weight, dC);
        Check(h.Importance.Weight, dP);
    }

    [Fact]
    public void Full_collisions_are_rarer_than_with_the_hashing_trick()
    {
        // n ids, B buckets, k = 2: ids sharing both components ≈ C(n,2)/B² pairs, vs C(n,2)/B for k = 1.
        const int n = 4000, b = 500;
        using var h = new HashEmbedding(b, 1, 2, 1, seed: 3);
        long[] ids = Enumerable.Range(0, n).Select(i => (long)i).ToArray();
        int[] buckets = new int[2 * n], rows = new int[n];
        h.GetBuckets(ids, buckets, rows);
        long Pairs(IEnumerable<long> keys) => keys.GroupBy(k => k).Sum(gr => (long)gr.Count() * (gr.Count() - 1) / 2);
        double expected2 = (double)n * (n - 1) / 2 / ((double)b * b); // ≈ 32
        long full = Pairs(Enumerable.Range(0, n).Select(t => (long)buckets[2 * t] * b + buckets[2 * t + 1]));
        Assert.InRange(full, expected2 - 5 * Math.Sqrt(expected2), expected2 + 5 * Math.Sqrt(expected2));
        double expected1 = (double)n * (n - 1) / 2 / b; // ≈ 16 000
        long single = Pairs(Enumerable.Range(0, n).Select(t => (long)buckets[2 * t]));
        Assert.InRange(single, expected1 - 5 * Math.Sqrt(expected1), expected1 + 5 * Math.Sqrt(expected1));
    }

    [Fact]
    public void Bad_sizes_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new HashEmbedding(0, 4, 2, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HashEmbedding(10, 4, 0, 10));
        using var h = new HashEmbedding(10, 4, 2, 10);
        Assert.Throws<ArgumentException>(() => h.Forward([1, 2], new float[7]));
        Assert.Throws<ArgumentException>(() => h.Backward([1, 2], new float[7]));
    }
}

public sealed class QuotientRemainderEmbeddingTests
{
    [Theory]
    [InlineData(QrCombiner.Product)]
    [InlineData(QrCombiner.Sum)]
    public void Forward_combines_quotient_and_remainder_rows(QrCombiner combiner)
    {
        using var qr = new QuotientRemainderEmbedding(100, 4, 8, combiner, seed: 5);
        Assert.Equal(13, qr.Quotient.NumEmbeddings);
        Assert.Equal(8, qr.Remainder.NumEmbeddings);
        long[] ids = [0, 7, 8, 99, 8];
        float[] got = new float[ids.Length * 4];
        qr.Forward(ids, got);
        float[] q = new float[4], r = new float[4];
        for (int t = 0; t < ids.Length; t++)
        {
            qr.Quotient.Weight.ReadRow((int)(ids[t] / 8), q);
            qr.Remainder.Weight.ReadRow((int)(ids[t] % 8), r);
            for (int j = 0; j < 4; j++)
                Assert.Equal(combiner == QrCombiner.Product ? q[j] * r[j] : q[j] + r[j], got[t * 4 + j]);
        }
    }

    [Theory]
    [InlineData(QrCombiner.Product)]
    [InlineData(QrCombiner.Sum)]
    public void Backward_matches_the_chain_rule(QrCombiner combiner)
    {
        using var qr = new QuotientRemainderEmbedding(50, 3, 7, combiner, seed: 2);
        long[] ids = [3, 10, 3, 49];
        float[] g = Enumerable.Range(0, 12).Select(i => (float)(i % 5 - 2)).ToArray();
        QuotientRemainderGradient grad = qr.Backward(ids, g);
        float[] dq = grad.Quotient.ToDense(), dr = grad.Remainder.ToDense();
        float[] eq = new float[qr.Quotient.NumEmbeddings * 3], er = new float[7 * 3];
        float[] q = new float[3], r = new float[3];
        for (int t = 0; t < ids.Length; t++)
        {
            int qi = (int)(ids[t] / 7), ri = (int)(ids[t] % 7);
            qr.Quotient.Weight.ReadRow(qi, q);
            qr.Remainder.Weight.ReadRow(ri, r);
            for (int j = 0; j < 3; j++)
            {
                eq[qi * 3 + j] += combiner == QrCombiner.Product ? g[t * 3 + j] * r[j] : g[t * 3 + j];
                er[ri * 3 + j] += combiner == QrCombiner.Product ? g[t * 3 + j] * q[j] : g[t * 3 + j];
            }
        }
        Assert.Equal(eq, dq);
        Assert.Equal(er, dr);
    }

    [Fact]
    public void Huge_id_spaces_fit_in_two_small_tables()
    {
        using var qr = new QuotientRemainderEmbedding(10_000_000_000, 2, 100_000);
        Assert.Equal(100_000, qr.Quotient.NumEmbeddings);
        float[] o = new float[4];
        qr.Forward([9_999_999_999, 0], o);
        Assert.All(o, v => Assert.True(float.IsFinite(v)));
        Assert.Throws<ArgumentOutOfRangeException>(() => qr.Forward([10_000_000_000], new float[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => qr.Forward([-1], new float[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new QuotientRemainderEmbedding(10, 2, 3, (QrCombiner)7));
    }
}
