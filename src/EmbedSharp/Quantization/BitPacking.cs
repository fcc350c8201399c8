using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EmbedSharp.Quantization;

/// <summary>A code width as a type, so hot loops are specialised per width (STYLE habit 4).</summary>
internal interface IBitWidth
{
    static abstract int Bits { get; }
}

internal readonly struct Bits2 : IBitWidth { public static int Bits => 2; }
internal readonly struct Bits3 : IBitWidth { public static int Bits => 3; }
internal readonly struct Bits4 : IBitWidth { public static int Bits => 4; }
internal readonly struct Bits5 : IBitWidth { public static int Bits => 5; }
internal readonly struct Bits6 : IBitWidth { public static int Bits => 6; }
internal readonly struct Bits8 : IBitWidth { public static int Bits => 8; }

/// <summary>
/// MLX's packing of b-bit codes into uint32 words: each row is one little-endian, LSB-first bit stream;
/// code <c>i</c> occupies stream bits <c>[i·b, (i+1)·b)</c> and stream bit <c>k</c> is bit <c>k mod 32</c> of
/// word <c>k div 32</c>. For b = 2, 4, 8 a word holds <c>32/b</c> whole codes; for 3, 5 and 6 bits a code
/// can straddle two words (code 10 of a 3-bit row is stream bits 30..32).
/// </summary>
public static class BitPacking
{
    /// <summary>Packs <paramref name="codes"/> (each &lt; 2^bits) into <paramref name="destination"/>, which must hold <c>ceil(codes·bits/32)</c> words.</summary>
    /// <exception cref="ArgumentOutOfRangeException">bits is not in 1..8.</exception>
    /// <exception cref="ArgumentException">The destination is too short, or a code does not fit in <paramref name="bits"/> bits.</exception>
    public static void Pack(ReadOnlySpan<byte> codes, int bits, Span<uint> destination)
    {
        const string op = "quantize.pack";
        Diagnostics.Guard.InRange(op, bits, 1, 9);
        long words = ((long)codes.Length * bits + 31) / 32;
        Diagnostics.Guard.MinLength(op, destination.Length, words, $"{codes.Length} codes of {bits} bits");
        int limit = 1 << bits;
        for (int i = 0; i < codes.Length; i++)
        {
            if (codes[i] >= limit)
                Diagnostics.ThrowHelper.Argument(op, nameof(codes), $"codes[{i}] = {codes[i]} does not fit in {bits} bits; valid values are 0..{limit - 1}");
        }
        destination[..(int)words].Clear();
        for (int i = 0; i < codes.Length; i++)
            WriteCode(destination, i, bits, codes[i]);
    }

    /// <summary>Unpacks <paramref name="destination"/>.Length codes of <paramref name="bits"/> bits from <paramref name="packed"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">bits is not in 1..8.</exception>
    /// <exception cref="ArgumentException"><paramref name="packed"/> is too short for that many codes.</exception>
    public static void Unpack(ReadOnlySpan<uint> packed, int bits, Span<byte> destination)
    {
        const string op = "quantize.unpack";
        Diagnostics.Guard.InRange(op, bits, 1, 9);
        long words = ((long)destination.Length * bits + 31) / 32;
        Diagnostics.Guard.MinLength(op, packed.Length, words, $"{destination.Length} codes of {bits} bits");
        for (int i = 0; i < destination.Length; i++)
            destination[i] = (byte)ReadCode(packed, i, bits);
    }

    /// <summary>ORs one code into the stream (the words must start cleared). Handles straddling codes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void WriteCode(Span<uint> packed, long index, int bits, uint code)
    {
        long bit = index * bits;
        int word = (int)(bit >> 5), shift = (int)(bit & 31);
        packed[word] |= code << shift;
        if (shift + bits > 32)
            packed[word + 1] |= code >> (32 - shift);
    }

    /// <summary>Reads code <paramref name="index"/> of the stream; the plain reference for every unpack path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint ReadCode(ReadOnlySpan<uint> packed, long index, int bits)
    {
        long bit = index * bits;
        int word = (int)(bit >> 5), shift = (int)(bit & 31);
        uint mask = (1u << bits) - 1;
        uint value = packed[word] >> shift;
        if (shift + bits > 32)
            value |= packed[word + 1] << (32 - shift);
        return value & mask;
    }

    /// <summary>
    /// Unpacks <paramref name="destination"/>.Length codes starting at code <paramref name="first"/> as floats.
    /// <paramref name="first"/>·b must be a multiple of 32 (groups always start on a word boundary).
    /// </summary>
    /// <remarks>
    /// 8 bits: one code per byte of the little-endian words. 4 and 2 bits: two or four codes per byte,
    /// the first in the low bits. 3, 5, 6 bits: a 64-bit window over two words, shifted per code.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void UnpackToSingle<TBits>(ReadOnlySpan<uint> packed, long first, Span<float> destination)
        where TBits : struct, IBitWidth
    {
        int b = TBits.Bits;
        int count = destination.Length;
        long startBit = first * b;
        System.Diagnostics.Debug.Assert((startBit & 31) == 0);
        ReadOnlySpan<uint> words = packed.Slice((int)(startBit >> 5), (int)(((long)count * b + 31) >> 5));
        if (b == 8)
        {
            ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(words)[..count];
            for (int i = 0; i < count; i++)
                destination[i] = bytes[i];
        }
        else if (b == 4)
        {
            ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(words);
            int i = 0;
            for (; i + 1 < count; i += 2)
            {
                int v = bytes[i >> 1];
                destination[i] = v & 15;
                destination[i + 1] = v >> 4;
            }
            if (i < count)
                destination[i] = bytes[i >> 1] & 15;
        }
        else if (b == 2)
        {
            for (int i = 0; i < count; i++)
                destination[i] = (words[i >> 4] >> ((i & 15) << 1)) & 3u;
        }
        else
        {
            uint mask = (1u << b) - 1;
            for (int i = 0; i < count; i++)
            {
                int bit = i * b;
                int w = bit >> 5, shift = bit & 31;
                ulong window = words[w];
                if (shift + b > 32)
                    window |= (ulong)words[w + 1] << 32;
                destination[i] = (uint)(window >> shift) & mask;
            }
        }
    }
}
