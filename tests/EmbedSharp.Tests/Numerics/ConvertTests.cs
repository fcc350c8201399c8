using EmbedSharp.Numerics;

namespace EmbedSharp.Tests.Numerics;

public sealed class ConvertTests
{
    public static IEnumerable<object[]> Lengths() => Enumerable.Range(0, 257).Where(n => n < 40 || n % 17 == 0 || n == 256).Select(n => new object[] { n });

    private static float[] RandomFloats(int n, int seed)
    {
        var r = new SeededRandom((ulong)seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = (float)(r.NextNormal() * Math.Pow(10, r.NextInt(12) - 6));
        return x;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void BFloat16_NarrowAndWiden_MatchScalarReference(int n)
    {
        float[] x = RandomFloats(n, n);
        if (n > 5)
        {
            x[1] = float.NaN; x[2] = float.PositiveInfinity; x[3] = -0f; x[4] = float.MaxValue; x[5] = float.Epsilon;
        }
        var fast = new BFloat16[n];
        var slow = new BFloat16[n];
        Kernels.Narrow(x, fast);
        Kernels.NarrowReference(x, slow);
        Assert.Equal(slow.Select(b => b.Bits), fast.Select(b => b.Bits));

        var wf = new float[n];
        var ws = new float[n];
        Kernels.Widen(fast, wf);
        Kernels.WidenReference(fast, ws);
        Assert.Equal(ws.Select(BitConverter.SingleToUInt32Bits), wf.Select(BitConverter.SingleToUInt32Bits));
    }

    [Theory]
    [InlineData(1.0f, 0x3F80)]
    [InlineData(-2.0f, 0xC000)]
    [InlineData(1.00390625f, 0x3F80)]      // 1 + 2^-8: exactly half-way between 0x3F80 and 0x3F81 → even (0x3F80)
    [InlineData(1.01171875f, 0x3F82)]      // 1 + 3·2^-8: half-way between 0x3F81 and 0x3F82 → even (0x3F82)
    [InlineData(1.0039065f, 0x3F81)]       // just above half-way → up
    [InlineData(float.MaxValue, 0x7F80)]   // rounds up to +∞
    [InlineData(float.PositiveInfinity, 0x7F80)]
    [InlineData(-0f, 0x8000)]
    public void BFloat16_RoundsToNearestEven(float value, int expectedBits)
    {
        Assert.Equal((ushort)expectedBits, BFloat16.RoundToBits(value));
    }

    [Fact]
    public void BFloat16_NaNStaysQuietNaN()
    {
        ushort bits = BFloat16.RoundToBits(BitConverter.UInt32BitsToSingle(0x7F800001)); // signalling NaN, payload in low bits only
        Assert.True(float.IsNaN(BFloat16.BitsToSingle(bits)));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Half_RoundTripMatchesSystemHalf(int n)
    {
        float[] x = RandomFloats(n, 1000 + n);
        var h = new Half[n];
        Kernels.Narrow(x, h);
        for (int i = 0; i < n; i++)
            Assert.Equal(BitConverter.HalfToUInt16Bits((Half)x[i]), BitConverter.HalfToUInt16Bits(h[i]));
        var back = new float[n];
        Kernels.Widen(h, back);
        for (int i = 0; i < n; i++)
            Assert.Equal((float)h[i], back[i]);
    }
}
