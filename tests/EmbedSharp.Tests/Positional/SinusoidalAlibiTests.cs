using EmbedSharp.Positional;

namespace EmbedSharp.Tests.Positional;

public sealed class SinusoidalTests
{
    [Theory]
    [InlineData(SinusoidalLayout.Interleaved)]
    [InlineData(SinusoidalLayout.ConcatHalves)]
    [InlineData(SinusoidalLayout.ConcatHalvesT2T)]
    public void Position_zero_is_sines_zero_and_cosines_one(SinusoidalLayout layout)
    {
        float[] pe = new float[6];
        Sinusoidal.Encode([0], 6, layout, pe);
        float[] expected = layout == SinusoidalLayout.Interleaved ? [0, 1, 0, 1, 0, 1] : [0, 0, 0, 1, 1, 1];
        Assert.Equal(expected, pe);
    }

    [Fact]
    public void Frequencies_follow_each_schedule()
    {
        double[] f = new double[4];
        Sinusoidal.Frequencies(8, SinusoidalLayout.Interleaved, f);
        Assert.Equal([1, 0.1, 0.01, 0.001], f.Select(v => Math.Round(v, 12)).ToArray());
        Sinusoidal.Frequencies(8, SinusoidalLayout.ConcatHalvesT2T, f);
        Assert.Equal(1e-4, f[3], 15); // the slowest is exactly 1/base
        double[] one = new double[1];
        Sinusoidal.Frequencies(2, SinusoidalLayout.ConcatHalvesT2T, one);
        Assert.Equal(1.0, one[0]);
    }

    [Fact]
    public void Far_positions_keep_float32_accuracy()
    {
        float[] pe = new float[16];
        Sinusoidal.Encode([4095], 16, SinusoidalLayout.Interleaved, pe);
        Assert.Equal(Math.Sin(4095.0), pe[0], 6);
        Assert.Equal(Math.Cos(4095.0 * Math.Pow(10000, -2.0 / 16)), pe[3], 6);
    }

    [Fact]
    public void AddTo_adds_the_encoding()
    {
        int[] positions = [3, 0, 9];
        float[] x = Enumerable.Range(0, 24).Select(i => (float)i).ToArray();
        float[] pe = new float[24];
        Sinusoidal.Encode(positions, 8, SinusoidalLayout.ConcatHalves, pe);
        float[] y = (float[])x.Clone();
        Sinusoidal.AddTo(y, positions, 8, SinusoidalLayout.ConcatHalves);
        for (int i = 0; i < 24; i++)
            Assert.Equal(x[i] + pe[i], y[i]);
    }

    [Fact]
    public void Odd_dims_and_bad_bases_are_rejected()
    {
        Assert.Contains("odd", Assert.Throws<ArgumentOutOfRangeException>(() => Sinusoidal.Encode([0], 5, SinusoidalLayout.Interleaved, new float[5])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Sinusoidal.Encode([0], 4, SinusoidalLayout.Interleaved, new float[4], 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sinusoidal.Encode([0], 4, (SinusoidalLayout)9, new float[4]));
        Assert.Throws<ArgumentException>(() => Sinusoidal.Encode([0, 1], 4, SinusoidalLayout.Interleaved, new float[7]));
    }
}

public sealed class AlibiTests
{
    [Fact]
    public void Slopes_for_a_power_of_two_are_geometric()
    {
        float[] s = new float[8];
        Alibi.Slopes(8, s);
        Assert.Equal([1f / 2, 1f / 4, 1f / 8, 1f / 16, 1f / 32, 1f / 64, 1f / 128, 1f / 256], s);
    }

    [Fact]
    public void Slopes_for_other_counts_interleave_the_next_power()
    {
        float[] s = new float[12];
        Alibi.Slopes(12, s);
        float[] eight = new float[8];
        Alibi.Slopes(8, eight);
        Assert.Equal(eight, s[..8]);
        // Every other slope of 16 heads: 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5.
        Assert.Equal([(float)Math.Pow(2, -0.5), (float)Math.Pow(2, -1.5), (float)Math.Pow(2, -2.5), (float)Math.Pow(2, -3.5)], s[8..]);
        float[] one = new float[1];
        Alibi.Slopes(1, one);
        Assert.Equal(1f / 256, one[0]);
    }

    [Fact]
    public void Bias_penalises_distance_and_aligns_queries_to_the_last_keys()
    {
        float[] bias = new float[2 * 2 * 4];
        Alibi.Bias([0.5f, 0.25f], queryLength: 2, keyLength: 4, bias);
        // Head 0, query at absolute position 2 then 3.
        Assert.Equal([-1f, -0.5f, 0f, -0.5f, -1.5f, -1f, -0.5f, 0f], bias[..8]);
        Assert.Equal([-0.5f, -0.25f, 0f, -0.25f], bias[8..12]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Alibi.Bias([1f], 3, 2, new float[6]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Alibi.Slopes(0, new float[1]));
    }
}
