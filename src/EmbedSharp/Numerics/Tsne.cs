using EmbedSharp.Diagnostics;

namespace EmbedSharp.Numerics;

/// <summary>Settings of <see cref="Kernels.Tsne"/>; the defaults are openTSNE's and scikit-learn's.</summary>
public sealed class TsneOptions
{
    /// <summary>
    /// Effective number of neighbours each point's affinities cover (default 30). Clamped to
    /// <c>(rows − 1) / 3</c> for small inputs, so a subset of a dozen points still projects.
    /// </summary>
    public double Perplexity { get; init; } = 30;

    /// <summary>Gradient-descent iterations in all, the exaggerated ones included (default 750).</summary>
    public int Iterations { get; init; } = 750;

    /// <summary>Leading iterations with attraction multiplied by <see cref="Exaggeration"/> and momentum 0.5 (default 250).</summary>
    public int ExaggerationIterations { get; init; } = 250;

    /// <summary>Early exaggeration factor (default 12).</summary>
    public double Exaggeration { get; init; } = 12;

    /// <summary>Step size; null chooses <c>max(rows / Exaggeration / 4, 50)</c> (Belkina et al. 2019, scikit-learn's <c>"auto"</c>).</summary>
    public double? LearningRate { get; init; }

    /// <summary>
    /// Barnes-Hut accuracy: a quadtree cell of side <c>s</c> at distance <c>d</c> is summarised by its
    /// centre of mass when <c>s / d &lt; Theta</c> (default 0.5; 0 computes every pair exactly).
    /// </summary>
    public double Theta { get; init; } = 0.5;

    /// <summary>Seed of the initial layout (<see cref="SeededRandom"/>): the same seed gives the same picture.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>Worker threads; null uses every processor. Results do not depend on it.</summary>
    public int? Threads { get; init; }

    /// <summary>Told the iteration reached every 25 iterations and at the end.</summary>
    public IProgress<TsneProgress>? Progress { get; init; }

    /// <summary>Checked between iterations; a cancelled run throws <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken CancellationToken { get; init; }
}

/// <summary>How far a t-SNE run has come: <paramref name="Iteration"/> of <paramref name="Iterations"/> done.</summary>
public readonly record struct TsneProgress(int Iteration, int Iterations);

public static partial class Kernels
{
    /// <summary>
    /// t-SNE (van der Maaten and Hinton 2008) with Barnes-Hut gradients (van der Maaten 2014): lays
    /// the <paramref name="rows"/> × <paramref name="dims"/> row-major <paramref name="data"/> out in
    /// two dimensions, writing <c>(x, y)</c> per row into <paramref name="destination"/> (<c>rows × 2</c>).
    /// </summary>
    /// <remarks>
    /// Input affinities: each row's <c>k = min(rows − 1, ⌊3·perplexity⌋)</c> nearest rows by squared
    /// Euclidean distance (exact, through the blocked GEMM), Gaussian widths found by bisection so that
    /// each conditional distribution has the requested perplexity, then symmetrised:
    /// <c>P_ij = (p_j|i + p_i|j) / 2n</c>. The layout minimises <c>KL(P ‖ Q)</c> with Student-t
    /// <c>Q_ij ∝ 1 / (1 + ‖y_i − y_j‖²)</c>; its gradient is
    /// <c>∂C/∂y_i = 4 (α Σ_j P_ij w_ij (y_i − y_j) − Σ_j w_ij² (y_i − y_j) / Z)</c> with
    /// <c>w_ij = 1 / (1 + ‖y_i − y_j‖²)</c>, <c>Z = Σ_{k≠l} w_kl</c> and exaggeration α, the repulsive
    /// sums taken over a quadtree. Steps use momentum and per-coordinate gains (Jacobs 1988), and the
    /// layout is re-centred after each. Computed in double; deterministic for a given seed whatever
    /// the thread count. <see cref="TsneReference"/> is the exact O(n²) version.
    /// </remarks>
    /// <exception cref="ArgumentException">Shapes do not match, or <paramref name="data"/> holds NaN or ∞.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="OperationCanceledException">The options' token was cancelled.</exception>
    public static void Tsne(ReadOnlySpan<float> data, int rows, int dims, Span<float> destination, TsneOptions? options = null)
    {
        options ??= new TsneOptions();
        CheckTsne("tsne", data, rows, dims, destination, options);
        if (rows <= 1)
        {
            destination[..(2 * rows)].Clear();
            return;
        }
        int threads = Math.Max(1, options.Threads ?? ParallelWork.DefaultThreads);
        var p = TsneAffinities.Sparse(data, rows, dims, EffectivePerplexity(options.Perplexity, rows), threads);
        var gradient = new TsneGradient.BarnesHut(p, rows, options.Theta, threads);
        TsneGradient.Optimize(gradient, rows, destination, options);
    }

    /// <summary>
    /// Exact t-SNE: as <see cref="Tsne"/> but with affinities over all pairs (each row's Gaussian covers
    /// every other row) and the O(n²) gradient. The reference the Barnes-Hut version is tested against;
    /// practical up to a few thousand rows.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes do not match, or <paramref name="data"/> holds NaN or ∞.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static void TsneReference(ReadOnlySpan<float> data, int rows, int dims, Span<float> destination, TsneOptions? options = null)
    {
        options ??= new TsneOptions();
        CheckTsne("tsne", data, rows, dims, destination, options);
        if (rows <= 1)
        {
            destination[..(2 * rows)].Clear();
            return;
        }
        var p = TsneAffinities.Dense(data, rows, dims, EffectivePerplexity(options.Perplexity, rows));
        TsneGradient.Optimize(new TsneGradient.Exact(p, rows), rows, destination, options);
    }

    internal static double EffectivePerplexity(double perplexity, int rows) => Math.Max(Math.Min(perplexity, (rows - 1) / 3.0), 1.0);

    private static void CheckTsne(string op, ReadOnlySpan<float> data, int rows, int dims, Span<float> destination, TsneOptions options)
    {
        Guard.NonNegative(op, rows);
        Guard.Positive(op, dims);
        Guard.Length(op, data.Length, (long)rows * dims, "rows × dims");
        Guard.MinLength(op, destination.Length, 2L * rows, "rows × 2");
        Guard.PositiveFinite(op, options.Perplexity, "perplexity");
        Guard.Positive(op, options.Iterations, "iterations");
        Guard.InRange(op, options.ExaggerationIterations, 0, options.Iterations + 1L, "exaggerationIterations");
        Guard.PositiveFinite(op, options.Exaggeration, "exaggeration");
        if (options.LearningRate is double lr)
            Guard.PositiveFinite(op, lr, "learningRate");
        if (!(options.Theta >= 0 && options.Theta <= 1))
            ThrowHelper.ArgumentOutOfRange(op, "theta", options.Theta, "theta must be in [0, 1] (0 is exact, 0.5 the usual)");
        int bad = FirstNonFinite(data);
        if (bad >= 0)
            ThrowHelper.Argument(op, "data", $"row {bad / dims} holds {data[bad]} at column {bad % dims}; t-SNE needs finite values");
    }
}
