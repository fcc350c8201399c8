namespace EmbedSharp.Tables;

/// <summary>How the rows of one bag are combined (PyTorch's <c>mode</c>, FBGEMM's <c>PoolingMode</c>).</summary>
public enum PoolingMode
{
    /// <summary><c>out[b] = Σ w_j · W[indices[j]]</c> over the bag's non-padding positions (w = 1 without per-sample weights).</summary>
    Sum = 0,

    /// <summary><c>out[b] = (Σ W[indices[j]]) / |M_b|</c>, dividing by the number of non-padding positions; PyTorch's default.</summary>
    Mean = 1,

    /// <summary><c>out[b, d] = max_j W[indices[j], d]</c>, each dimension on its own; ties go to the first position in bag order.</summary>
    Max = 2,
}
