using EmbedSharp.Diagnostics;

namespace EmbedSharp.Optimizers;

/// <summary>
/// The optimizer's non-finite guard's one message: <c>[optimizer.step] step t: row r FINDING; OUTCOME</c>,
/// where the finding names the value and its element and the outcome says what was (not) changed.
/// </summary>
internal static class NonFiniteGuard
{
    private const string Op = "optimizer.step";

    /// <summary>What the guard found.</summary>
    public enum Finding
    {
        /// <summary>A gradient element, before anything changed.</summary>
        Gradient,

        /// <summary>A row's summed gradient, whose finite parts overflowed.</summary>
        GradientSum,

        /// <summary>A weight already non-finite before its row's update.</summary>
        WeightBefore,

        /// <summary>A weight produced by the update.</summary>
        WeightProduced,

        /// <summary>A state value produced by the update.</summary>
        StateProduced,
    }

    /// <summary>The exception for <paramref name="finding"/> at element <paramref name="element"/> of row <paramref name="row"/>.</summary>
    public static NonFiniteException Error(Finding finding, long step, int row, int element, float value)
    {
        string what = finding switch
        {
            Finding.Gradient => $"has gradient {value} at element {element}",
            Finding.GradientSum => $"has a gradient that sums to {value} at element {element} (its positions' finite gradients overflowed)",
            Finding.WeightBefore => $"holds weight {value} at element {element} before its update",
            Finding.WeightProduced => $"produced weight {value} at element {element} in its update",
            _ => $"produced optimizer state {value} at element {element} in its update",
        };
        string outcome = finding == Finding.Gradient
            ? "nothing was updated"
            : "the row was left as it was, and rows applied before it in this step keep their update";
        string advice = finding == Finding.WeightBefore ? "find what wrote it, or reinitialise the row" : "lower the learning rate or enable clipping";
        return new NonFiniteException(ThrowHelper.Format(Op, $"step {step}: row {row} {what}; {outcome} ({advice})"), step, row, element);
    }

    /// <summary>Throws when <paramref name="gradient"/> holds a non-finite element (<paramref name="finding"/> says whether it is a sum).</summary>
    public static void Check(ReadOnlySpan<float> gradient, Finding finding, long step, int row)
    {
        int d = Numerics.Kernels.FirstNonFinite(gradient);
        if (d >= 0)
            throw Error(finding, step, row, d, gradient[d]);
    }
}
