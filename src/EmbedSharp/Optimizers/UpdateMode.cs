namespace EmbedSharp.Optimizers;

/// <summary>How a <see cref="SparseOptimizer"/> applies a step.</summary>
public enum UpdateMode
{
    /// <summary>
    /// Deterministic: one step at a time (a concurrent call throws), the coalesced rows applied in
    /// ascending order on the calling thread. The same inputs give bit-identical tables and state.
    /// </summary>
    Exact = 0,

    /// <summary>
    /// Lock-free, as word2vec and fastText train: the rows of a step are split among worker threads,
    /// and several threads may call <c>Step</c> at once on the same optimizer. Two updates of one row
    /// can interleave and one may be lost; results are not reproducible, but the table and state stay
    /// finite and in bounds. The step counter advances atomically.
    /// </summary>
    Hogwild = 1,
}

/// <summary>What a step does to rows the batch's gradient does not list.</summary>
public enum UntouchedRows
{
    /// <summary>
    /// Rows outside the gradient keep their weights and optimizer state bit for bit: moments do not
    /// decay, momentum does not carry them, weight decay does not shrink them. Cost is proportional to
    /// the rows touched. This is PyTorch's <c>SparseAdam</c>/sparse <c>Adagrad</c> behaviour, and
    /// TensorFlow's lazy optimizers'.
    /// </summary>
    Lazy = 0,

    /// <summary>
    /// Every row is updated as if its gradient were zero, exactly as PyTorch's dense optimizers do:
    /// momentum and Adam moments keep moving rows after their gradient stops, weight decay shrinks
    /// every row every step. Rows whose state is still initial and whose update would be a no-op are
    /// skipped (so state is allocated only where it can become non-zero), but with weight decay every
    /// row is visited: cost O(NumEmbeddings · Dims) per step.
    /// </summary>
    Dense = 1,
}
