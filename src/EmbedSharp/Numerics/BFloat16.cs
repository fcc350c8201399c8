using System.Runtime.CompilerServices;

namespace EmbedSharp.Numerics;

/// <summary>
/// The bfloat16 format: the upper 16 bits of an IEEE float32 (1 sign, 8 exponent, 7 mantissa bits).
/// Converting from float rounds to nearest, ties to even (as PyTorch, MLX and hardware do);
/// NaN stays NaN (quiet) and infinities stay infinite.
/// </summary>
public readonly struct BFloat16 : IEquatable<BFloat16>
{
    /// <summary>The raw 16-bit pattern.</summary>
    public readonly ushort Bits;

    private BFloat16(ushort bits) => Bits = bits;

    /// <summary>Reinterprets a raw 16-bit pattern.</summary>
    public static BFloat16 FromBits(ushort bits) => new(bits);

    /// <summary>Rounds a float to the nearest bfloat16, ties to even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort RoundToBits(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if ((u & 0x7FFF_FFFFu) > 0x7F80_0000u)
            return (ushort)((u >> 16) | 0x0040); // NaN: keep sign and payload top, force quiet
        // Add 0x7FFF plus the lowest kept bit: rounds to nearest, ties to even. Overflow carries
        // into the exponent, which turns the largest finite values into infinity, as it should.
        uint lsb = (u >> 16) & 1u;
        return (ushort)((u + 0x7FFFu + lsb) >> 16);
    }

    /// <summary>Widens a raw bfloat16 pattern to float (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BitsToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Rounds to bfloat16 (nearest, ties to even).</summary>
    public static explicit operator BFloat16(float value) => new(RoundToBits(value));

    /// <summary>Widens to float (exact).</summary>
    public static explicit operator float(BFloat16 value) => BitsToSingle(value.Bits);

    /// <inheritdoc/>
    public bool Equals(BFloat16 other) => Bits == other.Bits;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is BFloat16 b && Equals(b);

    /// <inheritdoc/>
    public override int GetHashCode() => Bits;

    /// <inheritdoc/>
    public override string ToString() => ((float)this).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Bitwise equality.</summary>
    public static bool operator ==(BFloat16 a, BFloat16 b) => a.Bits == b.Bits;

    /// <summary>Bitwise inequality.</summary>
    public static bool operator !=(BFloat16 a, BFloat16 b) => a.Bits != b.Bits;
}
