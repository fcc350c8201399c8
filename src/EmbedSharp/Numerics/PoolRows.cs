using System.Runtime.CompilerServices;

namespace EmbedSharp.Numerics;

/// <summary>
/// Where the public span kernel <see cref="Kernels.PoolBags{TPool, TRows}"/> reads its rows from (spans, so a
/// caller's managed arrays work). The library's own storages use the internal pointer row source that the
/// same pooling loop is written over; a source of this kind is adapted to it row by row.
/// </summary>
/// <remarks>
/// <see cref="Row"/> returns float32 values. Float32 storage returns the stored row itself; narrower
/// storage widens into <c>scratch</c> (at least <see cref="Dims"/> long) and returns that.
/// Row ids are validated by the caller; implementations only assert them.
/// </remarks>
public interface IPoolRowSource
{
    /// <summary>Length of each row.</summary>
    int Dims { get; }

    /// <summary>Row <paramref name="row"/> as float32, possibly widened into <paramref name="scratch"/>.</summary>
    ReadOnlySpan<float> Row(int row, Span<float> scratch);
}

/// <summary>Rows of a row-major float32 matrix held in a span.</summary>
/// <remarks>Creates a source over <paramref name="table"/> with rows <paramref name="dims"/> wide.</remarks>
public readonly ref struct SpanRows(ReadOnlySpan<float> table, int dims) : IPoolRowSource
{
    private readonly ReadOnlySpan<float> _table = table;

    /// <inheritdoc/>
    public int Dims { get; } = dims;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<float> Row(int row, Span<float> scratch) => _table.Slice(row * Dims, Dims);
}
