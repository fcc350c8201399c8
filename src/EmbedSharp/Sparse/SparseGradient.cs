using EmbedSharp.Diagnostics;

namespace EmbedSharp.Sparse;

/// <summary>
/// A coalesced row-sparse gradient of a <c>NumEmbeddings × Dims</c> table: distinct row ids in
/// ascending order and one accumulated gradient row for each. Rows not listed have gradient 0.
/// </summary>
/// <remarks>
/// This is PyTorch's <c>sparse=True</c> gradient after <c>coalesce()</c>: duplicates summed, sorted by
/// row. Sums are taken in the order the positions appear in the batch, so the result is
/// deterministic for a given input.
/// </remarks>
public sealed class SparseGradient
{
    private readonly int[] _rows;
    private readonly float[] _values;

    /// <summary>Wraps already-coalesced data (rows strictly ascending, <c>values.Length = rows.Length · dims</c>).</summary>
    /// <exception cref="ArgumentException">The rows are not strictly ascending, out of range, or the lengths disagree.</exception>
    public SparseGradient(int numEmbeddings, int dims, int[] rows, float[] values)
    {
        const string op = "sparse_gradient";
        Guard.NonNegative(op, numEmbeddings);
        Guard.NonNegative(op, dims);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(values);
        Guard.Length(op, values.Length, (long)rows.Length * dims, "rows.Length × dims");
        for (int i = 0; i < rows.Length; i++)
        {
            if ((uint)rows[i] >= (uint)numEmbeddings)
                ThrowHelper.IndexOutOfRange(op, nameof(rows), rows[i], i, numEmbeddings);
            if (i > 0 && rows[i] <= rows[i - 1])
                ThrowHelper.Argument(op, nameof(rows), $"rows must be strictly ascending, but rows[{i - 1}] = {rows[i - 1]} and rows[{i}] = {rows[i]}");
        }
        NumEmbeddings = numEmbeddings;
        Dims = dims;
        _rows = rows;
        _values = values;
    }

    /// <summary>Rows of the table this gradient is for.</summary>
    public int NumEmbeddings { get; }

    /// <summary>Length of each gradient row.</summary>
    public int Dims { get; }

    /// <summary>Number of distinct rows with a gradient entry.</summary>
    public int Count => _rows.Length;

    /// <summary>The distinct row ids, ascending.</summary>
    public ReadOnlySpan<int> Rows => _rows;

    /// <summary>The gradient rows, <c>Count × Dims</c>, row-major; entry <c>i</c> belongs to <c>Rows[i]</c>.</summary>
    public Span<float> Values => _values;

    /// <summary>The gradient row for the <paramref name="i"/>-th listed row.</summary>
    public Span<float> GetRow(int i) => _values.AsSpan(i * Dims, Dims);

    /// <summary>Adds this gradient into a dense row-major <c>NumEmbeddings × Dims</c> buffer.</summary>
    public void AddTo(Span<float> dense)
    {
        Guard.MinLength("sparse_gradient.add_to", dense.Length, (long)NumEmbeddings * Dims, "NumEmbeddings × Dims");
        for (int i = 0; i < _rows.Length; i++)
        {
            Span<float> dst = dense.Slice(_rows[i] * Dims, Dims);
            System.Numerics.Tensors.TensorPrimitives.Add(dst, GetRow(i), dst);
        }
    }

    /// <summary>The dense <c>NumEmbeddings × Dims</c> equivalent.</summary>
    public float[] ToDense()
    {
        var dense = new float[(long)NumEmbeddings * Dims];
        AddTo(dense);
        return dense;
    }
}
