using EmbedSharp.Diagnostics;

namespace EmbedSharp.Optimizers;

/// <summary>How a <see cref="SparseOptimizer"/> applies its rule: mode, untouched rows, schedule, clipping, guard.</summary>
public sealed class SparseOptimizerOptions
{
    /// <summary><see cref="UpdateMode.Exact"/> (default, deterministic) or <see cref="UpdateMode.Hogwild"/>.</summary>
    public UpdateMode Mode { get; init; } = UpdateMode.Exact;

    /// <summary>Worker threads per step in Hogwild mode (default: the processor count). Ignored in Exact mode.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>What happens to rows a step's gradient does not list; <see cref="UntouchedRows.Lazy"/> by default.</summary>
    public UntouchedRows UntouchedRows { get; init; } = UntouchedRows.Lazy;

    /// <summary>The learning-rate schedule; constant by default.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Constant;

    /// <summary>
    /// When set, each gradient row whose L2 norm n exceeds it is scaled by <c>MaxRowNorm / (n + 1e-6)</c>
    /// before the rule sees it. Must be a finite number &gt; 0.
    /// </summary>
    public double? MaxRowNorm { get; init; }

    /// <summary>
    /// When set, after per-row clipping, the whole step's gradient is scaled by
    /// <c>MaxGlobalNorm / (N + 1e-6)</c> if its total L2 norm N (over every listed row) exceeds it, as
    /// PyTorch's <c>clip_grad_norm_</c>. Must be a finite number &gt; 0.
    /// </summary>
    public double? MaxGlobalNorm { get; init; }

    /// <summary>
    /// Stop on NaN/∞ (default true): a non-finite gradient throws <see cref="NonFiniteException"/> before
    /// anything changes; an update that produces a non-finite weight or state restores that row and throws.
    /// </summary>
    public bool GuardNonFinite { get; init; } = true;
}
