using System.Runtime.CompilerServices;

namespace EmbedSharp.Tables;

/// <summary>
/// A managed array on the pinned object heap whose used part starts on a 64-byte cache line and,
/// when large, is backed by transparent huge pages (Linux, best effort). Quantized tables keep their
/// packed codes, scales and biases in these: a random row then costs one cache line per array
/// instead of two (a 64-byte row of codes no longer straddles lines) and no TLB miss per array.
/// Being a normal managed array, it stays alive while any span over it is in use, and being pinned,
/// its address never changes, so kernels may hold raw pointers while they keep the owner alive.
/// </summary>
internal readonly unsafe struct AlignedArray<T> where T : unmanaged
{
    private readonly T[]? _array;
    private readonly int _offset;

    private AlignedArray(T[] array, int offset, int length)
    {
        _array = array;
        _offset = offset;
        Length = length;
    }

    /// <summary>Elements held.</summary>
    public int Length { get; }

    /// <summary>True for the default value (no array).</summary>
    public bool IsNull => _array is null;

    /// <summary>The elements (empty when <see cref="IsNull"/>).</summary>
    public Span<T> Span => _array is null ? default : _array.AsSpan(_offset, Length);

    /// <summary>Address of the first element (the array is pinned for its whole life); null when <see cref="IsNull"/>.</summary>
    public T* Pointer => _array is null ? null : (T*)Unsafe.AsPointer(ref _array[_offset]);

    /// <summary>A cache-line-aligned, pinned copy of <paramref name="source"/>.</summary>
    public static AlignedArray<T> CopyOf(T[] source)
    {
        int pad = NativeAllocation.CacheLine / sizeof(T);
        T[] array = GC.AllocateUninitializedArray<T>(source.Length + pad, pinned: true);
        fixed (T* p = array)
        {
            int offset = (int)((NativeAllocation.CacheLine - ((nuint)p & (NativeAllocation.CacheLine - 1))) & (NativeAllocation.CacheLine - 1)) / sizeof(T);
            T* start = p + offset;
            NativeAllocation.FillWithHugePages((byte*)start, (nuint)source.Length * (nuint)sizeof(T), () => source.AsSpan().CopyTo(array.AsSpan(offset, source.Length)));
            return new AlignedArray<T>(array, offset, source.Length);
        }
    }
}
