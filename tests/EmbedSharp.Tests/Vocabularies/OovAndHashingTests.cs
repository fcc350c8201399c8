using EmbedSharp.Vocabularies;


namespace EmbedSharp.Tests.Vocabularies;

public sealed class OovPolicyTests
{
    private static readonly Vocabulary Words = Vocabulary.Build("cat dog cat bird".Split(' '), VocabularyOptions.PadUnk);

    [Fact]
    public void Unknown_policy_maps_oov_to_unk()
    {
        var p = new UnknownTokenPolicy(Words);
        Assert.Equal([Words.GetId("dog")], p.GetRows("dog"));
        Assert.Equal([1], p.GetRows("zebra"));
        Assert.Throws<ArgumentException>(() => new UnknownTokenPolicy(Vocabulary.Build(["a"])));
    }

    [Fact]
    public void Subword_compose_is_the_mean_of_word_and_ngram_rows()
    {
        var hasher = new SubwordHasher(3, 4, 50);
        var p = new SubwordPolicy(Words, hasher);
        int rows = p.NumEmbeddings, dims = 3;
        float[] w = new float[rows * dims];
        for (int i = 0; i < w.Length; i++)
            w[i] = (i % 17) - 8;
        foreach (string token in new[] { "cat", "cats", "<pad>", "xy", "a" })
        {
            int[] r = p.GetRows(token);
            float[] expected = new float[dims];
            foreach (int row in r)
                for (int j = 0; j < dims; j++)
                    expected[j] += w[row * dims + j];
            for (int j = 0; j < dims; j++)
                expected[j] *= r.Length == 0 ? 0 : 1f / r.Length;
            float[] got = new float[dims];
            p.Compose(token, w, dims, got);
            Assert.Equal(expected, got);
        }
        Assert.Equal([0], p.GetRows("<pad>")); // special tokens: own row only
        Assert.Equal(Words.GetId("cat"), p.GetRows("cat")[0]);
        Assert.All(p.GetRows("cats"), r => Assert.InRange(r, Words.Count, rows - 1));
        Assert.Throws<ArgumentException>(() => p.Compose("cat", new float[3], dims, new float[3]));
    }

    [Fact]
    public void Bags_are_csr_for_a_mean_pooled_lookup()
    {
        var p = new SubwordPolicy(Words, new SubwordHasher(3, 3, 10));
        var indices = new List<int>();
        var offsets = new List<int>();
        p.AppendBags(["dog", "zz"], indices, offsets);
        int[] dog = p.GetRows("dog"), zz = p.GetRows("zz");
        Assert.Equal([0, dog.Length], offsets);
        Assert.Equal(dog.Concat(zz), indices);
    }

    [Fact]
    public void Hash_bucket_policy_keeps_known_ids_and_hashes_the_rest_after_them()
    {
        var p = new HashBucketPolicy(100, Words);
        Assert.Equal([Words.GetId("cat")], p.GetRows("cat"));
        int r = p.GetRows("zebra")[0];
        Assert.Equal(Words.Count + (int)(SubwordHasher.Hash("zebra") % 100), r);
        Assert.Equal(Words.Count + 100, p.NumEmbeddings);
        Assert.Equal(p.Bucket("cat"), new HashBucketPolicy(100).GetRows("cat")[0]);
    }

    [Fact]
    public void Hash_bucket_occupancy_matches_theory()
    {
        // n distinct random tokens into B buckets: E[occupied] = B(1 − (1 − 1/B)^n). (Sequential strings
        // such as "token1", "token2" collide *less* than random under FNV-1a, so the keys are random words.)
        const int n = 5000, b = 10000;
        var p = new HashBucketPolicy(b);
        var rng = new EmbedSharp.Numerics.SeededRandom(99);
        var tokens = new HashSet<string>();
        while (tokens.Count < n)
            tokens.Add(new string(Enumerable.Range(0, 8).Select(_ => (char)('a' + rng.NextInt(26))).ToArray()));
        var used = new HashSet<int>();
        foreach (string t in tokens)
            used.Add(p.Bucket(t));
        double expected = b * (1 - Math.Pow(1 - 1.0 / b, n));
        double lambda = (double)n / b;
        double sd = Math.Sqrt(b * Math.Exp(-lambda) * (1 - (1 + lambda) * Math.Exp(-lambda)));
        Assert.InRange(used.Count, expected - 5 * sd, expected + 5 * sd);
    }
}

public sealed class IdHashingTests
{
    private static long CollidingPairs(IEnumerable<long> keys) =>
        keys.GroupBy(k => k).Sum(g => (long)g.Count() * (g.Count() - 1) / 2);

    [Fact]
    public void Pairwise_collisions_match_one_over_buckets()
    {
        const int n = 20000, b = 100_000;
        int[] buckets = new int[n];
        IdHashing.Buckets(Enumerable.Range(0, n).Select(i => (long)i).ToArray(), seed: 1, b, buckets);
        Assert.All(buckets, x => Assert.InRange(x, 0, b - 1));
        double expected = (double)n * (n - 1) / 2 / b; // ≈ 2000
        Assert.InRange(CollidingPairs(buckets.Select(x => (long)x)), expected - 5 * Math.Sqrt(expected), expected + 5 * Math.Sqrt(expected));
    }

    [Fact]
    public void Two_seeds_act_independently_so_full_collisions_fall_to_one_over_b_squared()
    {
        // k = 2 hash functions into B = 1000: two ids share both buckets with probability 1/B² = 1e-6.
        const int n = 20000, b = 1000;
        long[] ids = Enumerable.Range(0, n).Select(i => (long)i * 7919 + 13).ToArray();
        int[] h0 = new int[n], h1 = new int[n];
        IdHashing.Buckets(ids, 10, b, h0);
        IdHashing.Buckets(ids, 11, b, h1);
        double expected = (double)n * (n - 1) / 2 / ((double)b * b); // ≈ 200
        long pairs = CollidingPairs(Enumerable.Range(0, n).Select(i => (long)h0[i] * b + h1[i]));
        Assert.InRange(pairs, expected - 5 * Math.Sqrt(expected), expected + 5 * Math.Sqrt(expected));
        // Versus a single function into the same B: ~n²/2B ≈ 200 000 colliding pairs.
        Assert.True(CollidingPairs(h0.Select(x => (long)x)) > 100 * pairs);
    }

    [Fact]
    public void Buckets_are_deterministic_and_token_ids_are_stable()
    {
        Assert.Equal(IdHashing.Bucket(123456789012345, 3, 97), IdHashing.Bucket(123456789012345, 3, 97));
        Assert.Equal(IdHashing.TokenId("hello"), IdHashing.TokenId("hello"));
        Assert.NotEqual(IdHashing.TokenId("hello"), IdHashing.TokenId("hellp"));
        Assert.Throws<ArgumentOutOfRangeException>(() => IdHashing.Bucket(1, 0, 0));
    }

    [Fact]
    public void Quotient_remainder_split_gives_a_unique_pair_per_id()
    {
        long[] ids = Enumerable.Range(0, 1000).Select(i => (long)i).ToArray();
        int[] q = new int[1000], r = new int[1000];
        QuotientRemainder.Split(ids, 1000, 32, q, r);
        Assert.Equal(1000, ids.Select(i => (q[i], r[i])).Distinct().Count());
        Assert.Equal(32, QuotientRemainder.QuotientRows(1000, 32));
        Assert.Equal(1_000_000, QuotientRemainder.QuotientRows(1_000_000_000_000, 1_000_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuotientRemainder.Split([5, 1000], 1000, 32, q, r));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuotientRemainder.QuotientRows(long.MaxValue, 2));
    }
}
