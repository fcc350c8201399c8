using EmbedSharp.Numerics;
using EmbedSharp.Positional;

namespace EmbedSharp.Tests.Layers;

public sealed class LearnedPositionalEmbeddingTests
{
    [Fact]
    public void Forward_reads_offset_rows_and_errors_past_the_maximum()
    {
        using var pos = new LearnedPositionalEmbedding(6, 2, new EmbeddingOptions { Seed = 1 });
        float[] o = new float[3 * 2];
        pos.Forward(3, o, offset: 3);
        float[] row = new float[2];
        pos.Embedding.Weight.ReadRow(5, row);
        Assert.Equal(row, o[4..]);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => pos.Forward(4, new float[8], offset: 3));
        Assert.Contains("position 6", ex.Message);
        Assert.Contains("past the maximum length", ex.Message);
        Assert.Contains("MaxPositions 6", ex.Message);
    }

    [Fact]
    public void AddTo_and_Backward_broadcast_over_the_batch()
    {
        using var pos = new LearnedPositionalEmbedding(4, 2, new EmbeddingOptions { Seed = 2 });
        float[] x = new float[2 * 3 * 2];
        pos.AddTo(x, 3);
        float[] pe = new float[6];
        pos.Forward(3, pe);
        Assert.Equal(pe.Concat(pe), x);
        var grad = pos.Backward([1, 1, 2, 2, 3, 3, 10, 10, 20, 20, 30, 30], 3);
        Assert.Equal([0, 1, 2], grad.Rows.ToArray());
        Assert.Equal([11f, 11, 22, 22, 33, 33], grad.Values.ToArray());
        Assert.Throws<ArgumentException>(() => pos.AddTo(new float[5], 3));
    }
}

public sealed class TokenEmbeddingTests
{
    [Fact]
    public void Forward_scales_tokens_and_adds_sinusoids_and_segments()
    {
        using var stack = new TokenEmbedding(10, 4, new TokenEmbeddingOptions
        {
            ScaleBySqrtDims = true,
            PositionEncoding = PositionEncoding.Sinusoidal,
            SinusoidalLayout = SinusoidalLayout.ConcatHalves,
            NumSegments = 2,
            TokenOptions = new EmbeddingOptions { Seed = 3 },
            SegmentOptions = new EmbeddingOptions { Seed = 4 },
        });
        int[] ids = [1, 2, 3, 4, 5, 6];
        int[] seg = [0, 0, 1, 0, 1, 1];
        float[] got = new float[ids.Length * 4];
        stack.Forward(ids, 3, got, seg, offset: 2);

        float[] pe = new float[3 * 4];
        Sinusoidal.Encode([2, 3, 4], 4, SinusoidalLayout.ConcatHalves, pe);
        float[] tok = new float[4], s = new float[4];
        for (int t = 0; t < ids.Length; t++)
        {
            stack.Tokens.Weight.ReadRow(ids[t], tok);
            stack.Segments!.Weight.ReadRow(seg[t], s);
            for (int j = 0; j < 4; j++)
                Assert.Equal(2f * tok[j] + pe[(t % 3) * 4 + j] + s[j], got[t * 4 + j], 5);
        }
    }

    [Fact]
    public void Backward_routes_scaled_gradients_to_every_table()
    {
        using var stack = new TokenEmbedding(5, 4, new TokenEmbeddingOptions
        {
            ScaleBySqrtDims = true,
            PositionEncoding = PositionEncoding.Learned,
            MaxPositions = 3,
            NumSegments = 2,
        });
        int[] ids = [1, 1, 4, 2];
        float[] g = Enumerable.Range(0, 16).Select(i => (float)i).ToArray();
        TokenEmbeddingGradient grad = stack.Backward(ids, 2, g, [0, 1, 1, 1]);
        Assert.Equal([1, 2, 4], grad.Tokens.Rows.ToArray());
        Assert.Equal(Enumerable.Range(0, 4).Select(j => 2f * (j + (4 + j))).ToArray(), grad.Tokens.GetRow(0).ToArray());
        Assert.Equal([0, 1], grad.Positions!.Rows.ToArray());
        Assert.Equal(Enumerable.Range(0, 4).Select(j => (float)(j + 8 + j)).ToArray(), grad.Positions.GetRow(0).ToArray());
        Assert.Equal(Enumerable.Range(0, 4).Select(j => (float)j).ToArray(), grad.Segments!.GetRow(0).ToArray());
    }

    [Fact]
    public void Logits_use_the_tied_token_table()
    {
        using var stack = new TokenEmbedding(6, 3, new TokenEmbeddingOptions { PositionEncoding = PositionEncoding.None, TokenOptions = new EmbeddingOptions { Seed = 9 } });
        float[] h = [0.5f, -1f, 2f];
        float[] logits = new float[6];
        stack.Logits(h, logits);
        float[] row = new float[3];
        for (int v = 0; v < 6; v++)
        {
            stack.Tokens.Weight.ReadRow(v, row);
            Assert.Equal(h[0] * row[0] + h[1] * row[1] + h[2] * row[2], logits[v], 5);
        }
        // Tying: a change to the input table shows up in the head.
        stack.Tokens.Weight.WriteRow(2, [1f, 1f, 1f]);
        stack.Logits(h, logits);
        Assert.Equal(1.5f, logits[2], 5);
    }

    [Fact]
    public void Bad_inputs_are_rejected_before_writing()
    {
        using var stack = new TokenEmbedding(5, 4, new TokenEmbeddingOptions { PositionEncoding = PositionEncoding.Learned, MaxPositions = 3 });
        float[] dst = Enumerable.Repeat(7f, 16).ToArray();
        Assert.Contains("past the maximum length", Assert.Throws<ArgumentOutOfRangeException>(() => stack.Forward([1, 2, 3, 4], 4, dst)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => stack.Forward([1, 9], 2, dst));
        Assert.Throws<ArgumentException>(() => stack.Forward([1, 2, 3], 2, dst));
        Assert.Throws<ArgumentException>(() => stack.Forward([1, 2], 2, dst, [0, 0]));
        Assert.All(dst, v => Assert.Equal(7f, v));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenEmbedding(5, 3)); // odd dims with sinusoids
    }
}

public sealed class MixedDimensionEmbeddingTests
{
    [Fact]
    public void Forward_matches_the_reference_on_random_ids()
    {
        using var md = new MixedDimensionEmbedding([3, 10, 1, 20], [8, 4, 1, 2], 5, seed: 4);
        Assert.Equal(34, md.NumEmbeddings);
        var rng = new SeededRandom(1);
        int[] ids = Enumerable.Range(0, 40).Select(_ => rng.NextInt(34)).Append(0).Append(33).Append(13).ToArray();
        float[] fast = new float[ids.Length * 5], reference = new float[ids.Length * 5];
        md.Forward(ids, fast);
        md.ForwardReference(ids, reference);
        for (int i = 0; i < fast.Length; i++)
            Assert.Equal(reference[i], fast[i], 4);
        Assert.Equal(13, md.BlockStart(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => md.Forward([34], new float[5]));
    }

    [Fact]
    public void Backward_matches_finite_differences()
    {
        using var md = new MixedDimensionEmbedding([2, 3], [3, 2], 4, seed: 8);
        int[] ids = [0, 4, 0, 2];
        var rng = new SeededRandom(5);
        float[] g = Enumerable.Range(0, 16).Select(_ => (float)rng.NextNormal()).ToArray();
        MixedDimensionGradient grad = md.Backward(ids, g);

        double Loss()
        {
            float[] o = new float[16];
            md.Forward(ids, o);
            return o.Select((v, i) => (double)v * g[i]).Sum();
        }

        for (int b = 0; b < 2; b++)
        {
            float[] dTable = grad.Blocks[b].ToDense();
            Span<float> w = md.Blocks[b].Weight.AsSpan<float>();
            for (int i = 0; i < w.Length; i++)
            {
                float keep = w[i];
                w[i] = keep + 1e-2f; double up = Loss();
                w[i] = keep - 1e-2f; double down = Loss();
                w[i] = keep;
                Assert.Equal((up - down) / 2e-2, dTable[i], 2);
            }
            Span<float> p = md.Projection(b);
            for (int i = 0; i < p.Length; i++)
            {
                float keep = p[i];
                p[i] = keep + 1e-2f; double up = Loss();
                p[i] = keep - 1e-2f; double down = Loss();
                p[i] = keep;
                Assert.Equal((up - down) / 2e-2, grad.Projections[b][i], 2);
            }
        }
    }

    [Fact]
    public void Power_law_dims_shrink_with_frequency()
    {
        Assert.Equal([64, 32, 16, 8], MixedDimensionEmbedding.PowerLawDims([1000, 250, 62.5, 15.625], 64, 0.5));
        Assert.Equal([16, 16], MixedDimensionEmbedding.PowerLawDims([10, 1], 16, 0));
        Assert.Equal([4, 1], MixedDimensionEmbedding.PowerLawDims([1e6, 1], 4, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => MixedDimensionEmbedding.PowerLawDims([1, 2], 4, 1.5));
        Assert.Throws<ArgumentException>(() => new MixedDimensionEmbedding([1, 2], [3], 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MixedDimensionEmbedding([1, 0], [3, 3], 4));
    }
}
