using System.Buffers;
using System.Collections;
using EmbedSharp.Numerics;

namespace EmbedSharp.Sparse;

/// <summary>
/// The positions of a batch grouped by the row they touch: distinct rows ascending, and for each
/// row its positions in batch order. It is a coalesced sparse gradient without the values — the
/// fused backward + optimizer step sums each row's gradient in a scratch row just before applying
/// it, so the batch's gradient is never materialised (and never allocated). Arrays come from the
/// shared pool and go back on <see cref="Dispose"/>.
/// </summary>
internal sealed class RowGroups : IDisposable
{
    private int[] _rows, _starts, _positions;

    private RowGroups(int[] rows, int[] starts, int[] positions, int count, int positionCount, int indexCount)
    {
        _rows = rows;
        _starts = starts;
        _positions = positions;
        Count = count;
        PositionCount = positionCount;
        IndexCount = indexCount;
    }

    /// <summary>Positions in the batch, kept or not: every position is below it.</summary>
    public int IndexCount { get; }

    /// <summary>Distinct rows.</summary>
    public int Count { get; }

    /// <summary>Positions kept (those not skipped).</summary>
    public int PositionCount { get; }

    /// <summary>The distinct rows, ascending.</summary>
    public ReadOnlySpan<int> Rows => _rows.AsSpan(0, Count);

    /// <summary>Row <c>i</c>'s positions are <c>Positions[Starts[i] .. Starts[i + 1])</c>; Count + 1 entries.</summary>
    public ReadOnlySpan<int> Starts => _starts.AsSpan(0, Count + 1);

    /// <summary>Kept positions, grouped by row, ascending within a row.</summary>
    public ReadOnlySpan<int> Positions => _positions.AsSpan(0, PositionCount);

    /// <summary>
    /// Groups positions <c>j</c> by <c>indices[j]</c>, leaving out positions holding
    /// <paramref name="skipIndex"/> and rows set in <paramref name="skipRow"/>. Indices must already be
    /// validated to lie in <c>[0, numEmbeddings)</c>.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static RowGroups Build(ReadOnlySpan<int> indices, int numEmbeddings, int skipIndex = -1, BitArray? skipRow = null)
    {
        int n = indices.Length;
        int[] keys = ArrayPool<int>.Shared.Rent(Math.Max(n, 1));
        int[] positions = ArrayPool<int>.Shared.Rent(Math.Max(n, 1));
        int kept = 0;
        for (int j = 0; j < n; j++)
        {
            int r = indices[j];
            if (r == skipIndex || (skipRow is not null && skipRow[r]))
                continue;
            keys[kept] = r;
            positions[kept++] = j;
        }
        return FromKeyed(keys, positions, kept, numEmbeddings, n);
    }

    /// <summary>
    /// Groups the first <paramref name="kept"/> (row, position) pairs of <paramref name="keys"/> and
    /// <paramref name="positions"/> (pooled arrays it takes over; positions ascending, every position
    /// below <paramref name="indexCount"/>).
    /// </summary>
    internal static RowGroups FromKeyed(int[] keys, int[] positions, int kept, int numEmbeddings, int indexCount)
    {
        int[] scratchKeys = ArrayPool<int>.Shared.Rent(Math.Max(kept, 1));
        int[] scratchPositions = ArrayPool<int>.Shared.Rent(Math.Max(kept, 1));
        try
        {
            Kernels.SortByKey(keys.AsSpan(0, kept), positions.AsSpan(0, kept), Math.Max(numEmbeddings - 1, 0), scratchKeys, scratchPositions);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(scratchPositions);
        }

        // Reuse the scratch key array for the segment starts (at most kept + 1 entries are needed).
        int[] starts = scratchKeys.Length >= kept + 1 ? scratchKeys : Swap(scratchKeys, kept + 1);
        int distinct = 0;
        for (int k = 0; k < kept; k++)
        {
            if (k == 0 || keys[k] != keys[k - 1])
            {
                starts[distinct] = k;
                keys[distinct++] = keys[k]; // compacts in place: distinct ≤ k
            }
        }
        starts[distinct] = kept;
        return new RowGroups(keys, starts, positions, distinct, kept, indexCount);
    }

    private static int[] Swap(int[] old, int length)
    {
        ArrayPool<int>.Shared.Return(old);
        return ArrayPool<int>.Shared.Rent(length);
    }

    /// <summary>Effectively the dense values of the coalesced gradient: row <c>i</c> = <c>source.Sum(i)</c>.</summary>
    public SparseGradient Materialize(int numEmbeddings, in GradientSource source)
    {
        int dims = source.Dims;
        var values = new float[(long)Count * dims];
        for (int i = 0; i < Count; i++)
            source.Sum(this, i, values.AsSpan(i * dims, dims));
        return new SparseGradient(numEmbeddings, dims, Rows.ToArray(), values);
    }

    /// <summary>Returns the arrays to the pool; the groups must not be used afterwards.</summary>
    public void Dispose()
    {
        if (_rows.Length == 0)
            return;
        ArrayPool<int>.Shared.Return(_rows);
        ArrayPool<int>.Shared.Return(_starts);
        ArrayPool<int>.Shared.Return(_positions);
        _rows = _starts = _positions = [];
    }
}

/// <summary>
/// Where the gradient of each position comes from: position <c>j</c> contributes
/// <c>scale(j) · gradRows[src(j)]</c> with <c>src(j) = sourceRow[j]</c> (its bag) or <c>j</c>, and
/// <c>scale(j) = positionScale[j]</c>, or <c>Scale</c> — divided by the row's count when
/// <c>DivideByCount</c> (PyTorch's <c>scale_grad_by_freq</c>).
/// </summary>
internal readonly ref struct GradientSource
{
    public GradientSource(ReadOnlySpan<float> gradRows, int dims, ReadOnlySpan<int> sourceRow = default,
        ReadOnlySpan<float> positionScale = default, float scale = 1f, bool divideByCount = false)
    {
        GradRows = gradRows;
        Dims = dims;
        SourceRow = sourceRow;
        PositionScale = positionScale;
        Scale = scale;
        DivideByCount = divideByCount;
    }

    public ReadOnlySpan<float> GradRows { get; }

    public int Dims { get; }

    public ReadOnlySpan<int> SourceRow { get; }

    public ReadOnlySpan<float> PositionScale { get; }

    public float Scale { get; }

    public bool DivideByCount { get; }

    /// <summary>The upstream row position <paramref name="j"/> reads.</summary>
    public int Source(int j) => SourceRow.IsEmpty ? j : SourceRow[j];

    /// <summary>
    /// Writes row <paramref name="segment"/>'s summed gradient into <paramref name="destination"/>:
    /// starting from zeros, each position's <c>scale · gradRow</c> is added in batch order (a
    /// multiply then an add, the order and roundings of <see cref="Coalesce.Rows"/>).
    /// </summary>
    public void Sum(RowGroups groups, int segment, Span<float> destination) =>
        Sum(groups.Positions[groups.Starts[segment]..groups.Starts[segment + 1]], destination);

    /// <summary>As <see cref="Sum(RowGroups, int, Span{float})"/> for one row's <paramref name="positions"/>, in batch order.</summary>
    public void Sum(ReadOnlySpan<int> positions, Span<float> destination)
    {
        destination = destination[..Dims];
        int end = positions.Length;
        float rowScale = DivideByCount ? (float)(Scale / (double)end) : Scale;
        int k = 0;
        if (k < end && PositionScale.IsEmpty && rowScale == 1f)
        {
            // 0 + g in one pass (not a copy: the sum turns −0 into +0, as the accumulation would).
            System.Numerics.Tensors.TensorPrimitives.Add(GradRows.Slice(Source(positions[k]) * Dims, Dims), 0f, destination);
            k++;
        }
        else
        {
            destination.Clear();
        }
        for (; k < end; k++)
        {
            int j = positions[k];
            ReadOnlySpan<float> g = GradRows.Slice(Source(j) * Dims, Dims);
            float s = PositionScale.IsEmpty ? rowScale : PositionScale[j];
            if (s == 1f)
                System.Numerics.Tensors.TensorPrimitives.Add(destination, g, destination);
            else
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(g, s, destination, destination);
        }
    }
}
