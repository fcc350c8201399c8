using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EmbedSharp.Search;

/// <summary>
/// Integer dot product of unsigned-byte codes with a signed-byte query, Σ c_i · w_i, for graph walks on
/// int8 codes: AVX-VNNI <c>vpdpbusd</c> (32 bytes an instruction), an AVX2 path that widens both to 16 bits
/// and multiplies with <c>vpmaddwd</c> (no saturation, so every path returns the same integer), and a
/// scalar loop; <see cref="Reference"/> beside them.
/// </summary>
internal static unsafe class Int8Dot
{
    /// <summary>Σ <paramref name="codes"/>[i] · <paramref name="query"/>[i] over <paramref name="n"/> bytes (exact; |result| &lt; 2³¹ for n &lt; 66,000).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Dot(byte* codes, sbyte* query, int n)
    {
        if (AvxVnni.IsSupported)
            return DotVnni(codes, query, n);
        if (Avx2.IsSupported)
            return DotAvx2(codes, query, n);
        return DotScalar(codes, query, n, 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    internal static int DotVnni(byte* codes, sbyte* query, int n)
    {
        Vector256<int> a0 = Vector256<int>.Zero, a1 = Vector256<int>.Zero;
        int i = 0;
        for (; i <= n - 64; i += 64)
        {
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, Vector256.Load(codes + i), Vector256.Load(query + i));
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, Vector256.Load(codes + i + 32), Vector256.Load(query + i + 32));
        }
        for (; i <= n - 32; i += 32)
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, Vector256.Load(codes + i), Vector256.Load(query + i));
        return DotScalar(codes, query, n, i) + Vector256.Sum(a0 + a1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    internal static int DotAvx2(byte* codes, sbyte* query, int n)
    {
        Vector256<int> a0 = Vector256<int>.Zero, a1 = Vector256<int>.Zero;
        int i = 0;
        for (; i <= n - 32; i += 32)
        {
            var c0 = Avx2.ConvertToVector256Int16(codes + i);
            var c1 = Avx2.ConvertToVector256Int16(codes + i + 16);
            var w0 = Avx2.ConvertToVector256Int16(query + i);
            var w1 = Avx2.ConvertToVector256Int16(query + i + 16);
            a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(c0, w0));
            a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(c1, w1));
        }
        return DotScalar(codes, query, n, i) + Vector256.Sum(a0 + a1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int DotScalar(byte* codes, sbyte* query, int n, int from)
    {
        int s = 0;
        for (int i = from; i < n; i++)
            s += codes[i] * query[i];
        return s;
    }

    /// <summary>The plain reference: Σ codes[i] · query[i] — core's, the one the pre-filter's kernels are tested against.</summary>
    public static int Reference(ReadOnlySpan<byte> codes, ReadOnlySpan<sbyte> query) => Int8Kernels.DotReference(codes, query);
}
