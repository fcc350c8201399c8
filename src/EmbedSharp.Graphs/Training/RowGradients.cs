using EmbedSharp.Sparse;

namespace EmbedSharp.Graphs.Training;

/// <summary>Gradient rows of one table gathered by row id during a batch, then handed to an optimizer as a coalesced <see cref="SparseGradient"/>.</summary>
internal sealed class RowGradients
{
    private readonly int[] _slot;
    private readonly List<int> _rows = [];
    private float[] _values;

    public RowGradients(int numRows, int dims)
    {
        NumRows = numRows;
        Dims = dims;
        _slot = new int[numRows];
        Array.Fill(_slot, -1);
        _values = new float[Math.Max(1, dims) * 64];
    }

    public int NumRows { get; }

    public int Dims { get; }

    public int Count => _rows.Count;

    /// <summary>The accumulator of <paramref name="row"/> (zero on first touch in a batch).</summary>
    public Span<float> Row(int row)
    {
        int s = _slot[row];
        if (s < 0)
        {
            s = _rows.Count;
            _slot[row] = s;
            _rows.Add(row);
            long need = (long)(s + 1) * Dims;
            if (need > _values.Length)
                Array.Resize(ref _values, (int)Math.Min(Array.MaxLength, Math.Max(need, 2L * _values.Length)));
            _values.AsSpan(s * Dims, Dims).Clear();
        }
        return _values.AsSpan(s * Dims, Dims);
    }

    /// <summary>Adds every row of <paramref name="other"/> into this one and clears <paramref name="other"/>.</summary>
    public void MergeFrom(RowGradients other)
    {
        for (int i = 0; i < other._rows.Count; i++)
        {
            var dst = Row(other._rows[i]);
            System.Numerics.Tensors.TensorPrimitives.Add(dst, other._values.AsSpan(i * Dims, Dims), dst);
        }
        other.Clear();
    }

    /// <summary>
    /// Applies the gathered rows to <paramref name="layer"/>'s table with <paramref name="optimizer"/> and clears this
    /// accumulator: bit for bit <c>optimizer.Step(Build())</c>, through <see cref="Embedding.BackwardAndStep(ReadOnlySpan{int}, ReadOnlySpan{float}, Optimizers.SparseOptimizer)"/>
    /// over the rows as gathered (each once), so no batch-sized gradient is allocated, sorted or copied.
    /// </summary>
    public void StepAndClear(Embedding layer, Optimizers.SparseOptimizer optimizer)
    {
        layer.BackwardAndStep(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_rows), _values.AsSpan(0, _rows.Count * Dims), optimizer);
        Clear();
    }

    /// <summary>The gathered rows, ascending, as a gradient; clears this accumulator.</summary>
    public SparseGradient Build()
    {
        int[] rows;
        if ((long)_rows.Count * 8 >= NumRows)
        {
            // Most rows touched (a large batch of negatives): one scan of the slot map yields them in order.
            rows = new int[_rows.Count];
            for (int r = 0, next = 0; next < rows.Length; r++)
                if (_slot[r] >= 0)
                    rows[next++] = r;
        }
        else
        {
            rows = _rows.ToArray();
            Array.Sort(rows);
        }
        // Every value is written below, so the (large) array is not zeroed first.
        var values = GC.AllocateUninitializedArray<float>(checked(rows.Length * Dims));
        for (int i = 0; i < rows.Length; i++)
            _values.AsSpan(_slot[rows[i]] * Dims, Dims).CopyTo(values.AsSpan(i * Dims, Dims));
        Clear();
        return new SparseGradient(NumRows, Dims, rows, values);
    }

    public void Clear()
    {
        foreach (int r in _rows)
            _slot[r] = -1;
        _rows.Clear();
    }
}
