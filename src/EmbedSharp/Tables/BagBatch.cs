using System.Buffers;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Tables;

/// <summary>
/// A validated batch of bags: the start of every bag plus the end of the last one. Built from 1-D
/// <c>indices</c> + CSR <c>offsets</c> or from a fixed-length 2-D <c>[B, L]</c> batch. Dispose it to
/// return the rented start array of a 2-D batch.
/// </summary>
internal ref struct BagBatch
{
    private int[]? _rented;

    /// <summary>Start position of each bag; <see cref="Count"/> entries.</summary>
    public ReadOnlySpan<int> Starts { get; private set; }

    /// <summary>End (exclusive) of the last bag.</summary>
    public int End { get; private set; }

    /// <summary>Number of bags, B.</summary>
    public readonly int Count => Starts.Length;

    /// <summary>End (exclusive) of bag <paramref name="b"/>.</summary>
    public readonly int Stop(int b) => b + 1 < Starts.Length ? Starts[b + 1] : End;

    /// <summary>
    /// Validates 1-D <paramref name="indices"/> with CSR <paramref name="offsets"/> and every id, before
    /// anything is read or written.
    /// </summary>
    /// <remarks>
    /// Without <paramref name="includeLastOffset"/>, B = offsets.Length and the last bag ends at
    /// <c>indices.Length</c>. With it, B = offsets.Length − 1 and <c>offsets[B]</c> must equal
    /// <c>indices.Length</c>: PyTorch 1.13 silently drops (sum), miscounts (mean) or corrupts memory
    /// (max) on trailing ids past the last offset, so they are rejected here (issues #52851, #191965).
    /// </remarks>
    public static BagBatch FromOffsets(string op, int numEmbeddings, ReadOnlySpan<int> indices, ReadOnlySpan<int> offsets,
        bool includeLastOffset)
    {
        int n = indices.Length;
        ReadOnlySpan<int> starts;
        if (includeLastOffset)
        {
            if (offsets.IsEmpty)
                ThrowHelper.Argument(op, nameof(offsets), "offsets is empty; with includeLastOffset it needs B + 1 entries, the last equal to indices.Length " + n);
            starts = offsets[..^1];
            if (offsets[^1] != n)
                ThrowHelper.Argument(op, nameof(offsets),
                    $"offsets[{offsets.Length - 1}] = {offsets[^1]} but indices has {n} entries; with includeLastOffset the last offset must equal indices.Length (ids after it would belong to no bag)");
        }
        else
        {
            starts = offsets;
            if (offsets.IsEmpty && n > 0)
                ThrowHelper.Argument(op, nameof(offsets), $"offsets is empty but indices has {n} entries; 1-D indices need offsets starting with 0 (one entry per bag)");
        }
        CheckOffsets(op, offsets, n);
        CheckIds(op, numEmbeddings, indices);
        return new BagBatch { Starts = starts, End = n };
    }

    /// <summary>Validates a fixed-length batch: <paramref name="batchSize"/> bags of <paramref name="bagLength"/> ids each.</summary>
    public static BagBatch FromFixed(string op, int numEmbeddings, ReadOnlySpan<int> indices, int batchSize, int bagLength)
    {
        Guard.NonNegative(op, batchSize);
        Guard.NonNegative(op, bagLength);
        Guard.Length(op, indices.Length, (long)batchSize * bagLength, $"a [batchSize, bagLength] = [{batchSize}, {bagLength}] batch");
        CheckIds(op, numEmbeddings, indices, bagLength);
        int[] rented = ArrayPool<int>.Shared.Rent(Math.Max(batchSize, 1));
        for (int b = 0; b < batchSize; b++)
            rented[b] = b * bagLength;
        return new BagBatch { _rented = rented, Starts = rented.AsSpan(0, batchSize), End = indices.Length };
    }

    private static void CheckOffsets(string op, ReadOnlySpan<int> offsets, int n)
    {
        if (offsets.IsEmpty)
            return;
        if (offsets[0] != 0)
            ThrowHelper.Argument(op, nameof(offsets), $"offsets[0] = {offsets[0]} but the first bag has to start at position 0");
        for (int b = 1; b < offsets.Length; b++)
        {
            if (offsets[b] < offsets[b - 1])
                ThrowHelper.Argument(op, nameof(offsets), $"offsets must be non-decreasing, but offsets[{b - 1}] = {offsets[b - 1]} and offsets[{b}] = {offsets[b]}");
            if (offsets[b] > n)
                ThrowHelper.Argument(op, nameof(offsets), $"offsets[{b}] = {offsets[b]} is greater than indices.Length {n}; valid offsets are 0..{n}");
        }
    }

    private static void CheckIds(string op, int numEmbeddings, ReadOnlySpan<int> indices, int rowLength = 0)
    {
        int j = Numerics.Kernels.FirstOutOfRange(indices, numEmbeddings);
        if (j >= 0)
        {
            ReadOnlySpan<nint> shape = rowLength > 0 ? [indices.Length / rowLength, rowLength] : default;
            ThrowHelper.IndexOutOfRange(op, "indices", indices[j], j, numEmbeddings, shape);
        }
    }

    /// <summary>Returns the rented start array, if any.</summary>
    public void Dispose()
    {
        if (_rented is not null)
            ArrayPool<int>.Shared.Return(_rented);
        _rented = null;
        Starts = default;
    }
}
