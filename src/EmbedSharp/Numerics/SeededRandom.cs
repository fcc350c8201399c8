using System.Runtime.CompilerServices;

namespace EmbedSharp.Numerics;

/// <summary>
/// A small, fast, reproducible generator (xoshiro256** seeded through SplitMix64). The same seed
/// gives the same stream on every platform and .NET version, which <see cref="Random"/> does not
/// promise. Not thread-safe: give each worker its own instance (see <see cref="Fork"/>).
/// </summary>
public sealed class SeededRandom
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spareNormal;
    private bool _hasSpare;

    /// <summary>Creates a generator from a 64-bit seed.</summary>
    public SeededRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15ul;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ul;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBul;
        return z ^ (z >> 31);
    }

    /// <summary>Next 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1ul << 53));

    /// <summary>A uniform float in [0, 1) with 24 random bits.</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1u << 24));

    /// <summary>A uniform integer in [0, maxExclusive), without modulo bias (Lemire's method).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "[random] maxExclusive must be > 0");
        ulong range = (ulong)maxExclusive;
        // 32-bit Lemire: multiply a 32-bit random by range, reject the biased low part.
        uint r = (uint)(NextUInt64() >> 32);
        ulong prod = (ulong)r * range;
        uint lo = (uint)prod;
        if (lo < range)
        {
            uint threshold = (uint)((0x1_0000_0000ul - range) % range);
            while (lo < threshold)
            {
                r = (uint)(NextUInt64() >> 32);
                prod = (ulong)r * range;
                lo = (uint)prod;
            }
        }
        return (int)(prod >> 32);
    }

    /// <summary>A standard normal draw (Marsaglia's polar method, two per round).</summary>
    public double NextNormal()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spareNormal;
        }
        double u, v, s;
        do
        {
            u = 2 * NextDouble() - 1;
            v = 2 * NextDouble() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        double f = Math.Sqrt(-2 * Math.Log(s) / s);
        _spareNormal = v * f;
        _hasSpare = true;
        return u * f;
    }

    /// <summary>An independent generator derived from this one's stream (for per-thread workers).</summary>
    public SeededRandom Fork() => new(NextUInt64());
}
