using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Numerics;

public static partial class Kernels
{
    /// <summary>
    /// Index of the first id outside <c>[0, <paramref name="bound"/>)</c>, or -1 when every id is in range:
    /// the validation every lookup runs over its ids before it touches anything.
    /// </summary>
    /// <remarks>
    /// SIMD: ids are compared as unsigned (a negative id is then ≥ any bound) 32 at a time; the first
    /// block holding a bad id is searched again in scalar code for its exact position. A scalar loop
    /// with a branch per id cost about a cycle per id, a tenth of a Zipf bag's run on two cores.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int FirstOutOfRange(ReadOnlySpan<int> ids, int bound)
    {
        uint n = (uint)Math.Max(bound, 0);
        int i = 0;
        if (Vector256.IsHardwareAccelerated && ids.Length >= Vector256<int>.Count)
        {
            ref uint r = ref Unsafe.As<int, uint>(ref MemoryMarshal.GetReference(ids));
            var limit = Vector256.Create(n);
            for (; i <= ids.Length - 4 * Vector256<uint>.Count; i += 4 * Vector256<uint>.Count)
            {
                var bad = Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref r, (nuint)i), limit)
                    | Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref r, (nuint)(i + 8)), limit)
                    | Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref r, (nuint)(i + 16)), limit)
                    | Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref r, (nuint)(i + 24)), limit);
                if (bad != Vector256<uint>.Zero)
                    break; // the scalar loop below finds it within these 32 ids
            }
            for (; i <= ids.Length - Vector256<uint>.Count; i += Vector256<uint>.Count)
            {
                if (Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref r, (nuint)i), limit) != Vector256<uint>.Zero)
                    break;
            }
        }
        for (; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= n)
                return i;
        }
        return -1;
    }

    /// <summary>Plain reference for <see cref="FirstOutOfRange"/>.</summary>
    internal static int FirstOutOfRangeReference(ReadOnlySpan<int> ids, int bound)
    {
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] < 0 || ids[i] >= bound)
                return i;
        }
        return -1;
    }
}
