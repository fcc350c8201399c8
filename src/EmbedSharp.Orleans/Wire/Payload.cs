using System.Buffers;
using System.Runtime.InteropServices;
using Orleans.Serialization.Buffers;

namespace EmbedSharp.Orleans.Wire;

/// <summary>
/// Spans of ids and floats in and out of <see cref="PooledBuffer"/>s, the one payload type on the wire:
/// Orleans blits them segment by segment, where a <c>float[]</c> argument costs a field header and a codec
/// call per element (4.5–5.4× slower in the design study).
/// </summary>
/// <remarks>
/// Values travel in the machine's byte order (every silo and client of a cluster is little-endian x64 or
/// Arm64). A buffer received in a call belongs to the receiver, which disposes it; a buffer sent is reset by
/// Orleans' codec once written and must not be used again.
/// </remarks>
internal static class Payload
{
    /// <summary>Most bytes one call may carry (ids plus rows); larger batches are split by the store.</summary>
    public const int MaxCallBytes = 16 << 20;

    public static PooledBuffer From<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        var buffer = new PooledBuffer();
        buffer.Write(MemoryMarshal.AsBytes(values));
        return buffer;
    }

    /// <summary>Element count of <paramref name="buffer"/> read as <typeparamref name="T"/>, checked to be whole.</summary>
    public static int CountOf<T>(in PooledBuffer buffer, string op, string what) where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        if (buffer.Length % size != 0)
            throw new InvalidDataException($"[{op}] {what} is {buffer.Length} bytes, not a whole number of {size}-byte values");
        return buffer.Length / size;
    }

    /// <summary>Copies <paramref name="buffer"/> into <paramref name="destination"/>, which must have exactly its length.</summary>
    public static void CopyTo<T>(in PooledBuffer buffer, Span<T> destination, string op, string what) where T : unmanaged
    {
        Span<byte> bytes = MemoryMarshal.AsBytes(destination);
        if (bytes.Length != buffer.Length)
            throw new InvalidDataException($"[{op}] {what} is {buffer.Length} bytes; expected {bytes.Length}");
        buffer.CopyTo(bytes);
    }

    public static T[] ToArray<T>(in PooledBuffer buffer, string op, string what) where T : unmanaged
    {
        var result = new T[CountOf<T>(buffer, op, what)];
        CopyTo<T>(buffer, result, op, what);
        return result;
    }

    /// <summary>
    /// Copies <paramref name="buffer"/> into an array rented from the shared pool (a shard's half-megabyte of
    /// gradients would otherwise be a new large-object-heap array each call); dispose the result to return it.
    /// </summary>
    public static Rented<T> Rent<T>(in PooledBuffer buffer, string op, string what) where T : unmanaged
    {
        int count = CountOf<T>(buffer, op, what);
        T[] array = ArrayPool<T>.Shared.Rent(count);
        buffer.CopyTo(MemoryMarshal.AsBytes(array.AsSpan(0, count)));
        return new Rented<T>(array, count);
    }

    /// <summary>Values copied out of a payload into a pooled array: <see cref="Span"/> until disposed.</summary>
    public readonly struct Rented<T>(T[] array, int count) : IDisposable where T : unmanaged
    {
        public int Length => count;

        public Span<T> Span => array.AsSpan(0, count);

        public void Dispose() => ArrayPool<T>.Shared.Return(array);
    }
}
