using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace EmbedSharp.Numerics;

public static partial class Kernels
{
    /// <summary>
    /// Row gather: <c>destination[i, :] = scale · table[indices[i], :]</c> for a row-major table of
    /// <paramref name="dims"/> columns. Indices must already be validated (in [0, rows)); this
    /// kernel only asserts them. Works for float, <see cref="Half"/> and <see cref="BFloat16"/>
    /// storage; the output is always float32.
    /// </summary>
    public static void Gather<T>(ReadOnlySpan<T> table, int dims, ReadOnlySpan<int> indices, float scale, Span<float> destination)
        where T : unmanaged
    {
        System.Diagnostics.Debug.Assert(destination.Length >= (long)indices.Length * dims);
        for (int i = 0; i < indices.Length; i++)
        {
            int row = indices[i];
            System.Diagnostics.Debug.Assert((uint)row < (uint)(table.Length / Math.Max(dims, 1)) || dims == 0);
            ReadOnlySpan<T> src = table.Slice(row * dims, dims); // fits: table.Length ≤ int.MaxValue
            Span<float> dst = destination.Slice(i * dims, dims);
            WidenRow(src, dst);
        }
        if (scale != 1f)
            TensorPrimitives.Multiply(destination.Slice(0, indices.Length * dims), scale, destination.Slice(0, indices.Length * dims));
    }

    /// <summary>Widens one row of storage type <typeparamref name="T"/> to float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WidenRow<T>(ReadOnlySpan<T> src, Span<float> dst) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(src).CopyTo(dst);
        else if (typeof(T) == typeof(Half))
            TensorPrimitives.ConvertToSingle(System.Runtime.InteropServices.MemoryMarshal.Cast<T, Half>(src), dst);
        else if (typeof(T) == typeof(BFloat16))
            Widen(System.Runtime.InteropServices.MemoryMarshal.Cast<T, BFloat16>(src), dst);
        else
            throw new NotSupportedException($"[gather] storage type {typeof(T).Name} not supported (float, Half, BFloat16)");
    }

    /// <summary>Rounds one float32 row to storage type <typeparamref name="T"/> (nearest, ties to even).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NarrowRow<T>(ReadOnlySpan<float> src, Span<T> dst) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            src.CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(dst));
        else if (typeof(T) == typeof(Half))
            TensorPrimitives.ConvertToHalf(src, System.Runtime.InteropServices.MemoryMarshal.Cast<T, Half>(dst));
        else if (typeof(T) == typeof(BFloat16))
            Narrow(src, System.Runtime.InteropServices.MemoryMarshal.Cast<T, BFloat16>(dst));
        else
            throw new NotSupportedException($"[gather] storage type {typeof(T).Name} not supported (float, Half, BFloat16)");
    }

    /// <summary>Plain-loop reference for <see cref="Gather{T}"/>, used by tests and benchmarks.</summary>
    internal static void GatherReference<T>(ReadOnlySpan<T> table, int dims, ReadOnlySpan<int> indices, float scale, Span<float> destination)
        where T : unmanaged
    {
        for (int i = 0; i < indices.Length; i++)
        {
            for (int d = 0; d < dims; d++)
            {
                T v = table[indices[i] * dims + d];
                float f = v switch
                {
                    float x => x,
                    Half h => (float)h,
                    BFloat16 b => BFloat16.BitsToSingle(b.Bits),
                    _ => throw new NotSupportedException(),
                };
                destination[i * dims + d] = scale * f;
            }
        }
    }
}
