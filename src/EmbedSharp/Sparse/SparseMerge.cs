using System.Numerics.Tensors;

namespace EmbedSharp.Sparse;

/// <summary>Adds coalesced gradients of the same table (a merge of two ascending row lists).</summary>
internal static class SparseMerge
{
    /// <summary><c>a + b</c> as one coalesced gradient; rows present in both are summed as <c>a[r] + b[r]</c>.</summary>
    public static SparseGradient Add(SparseGradient a, SparseGradient b)
    {
        System.Diagnostics.Debug.Assert(a.NumEmbeddings == b.NumEmbeddings && a.Dims == b.Dims);
        int dims = a.Dims;
        var rows = new List<int>(a.Count + b.Count);
        var values = new List<float>((a.Count + b.Count) * dims);
        int i = 0, k = 0;
        Span<float> sum = dims <= 256 ? stackalloc float[dims] : new float[dims];
        while (i < a.Count || k < b.Count)
        {
            if (k >= b.Count || (i < a.Count && a.Rows[i] < b.Rows[k]))
            {
                rows.Add(a.Rows[i]);
                values.AddRange(a.GetRow(i++));
            }
            else if (i >= a.Count || b.Rows[k] < a.Rows[i])
            {
                rows.Add(b.Rows[k]);
                values.AddRange(b.GetRow(k++));
            }
            else
            {
                TensorPrimitives.Add(a.GetRow(i), b.GetRow(k), sum);
                rows.Add(a.Rows[i]);
                values.AddRange(sum);
                i++;
                k++;
            }
        }
        return new SparseGradient(a.NumEmbeddings, dims, [.. rows], [.. values]);
    }
}
