using EmbedSharp.Diagnostics;

namespace EmbedSharp.Optimizers;

/// <summary>Hyperparameter checks shared by the update rules; messages follow PyTorch's wording.</summary>
internal static class RuleChecks
{
    public static void LearningRate(string op, double lr, bool strictlyPositive = false)
    {
        bool ok = strictlyPositive ? lr > 0 : lr >= 0;
        if (!ok || !double.IsFinite(lr))
            ThrowHelper.ArgumentOutOfRange(op, "lr", lr, $"invalid learning rate {lr}; valid values are finite numbers {(strictlyPositive ? "> 0" : "≥ 0")}");
    }

    public static void NonNegative(string op, double value, string name)
    {
        if (!(value >= 0) || !double.IsFinite(value))
            ThrowHelper.ArgumentOutOfRange(op, name, value, $"invalid {name} {value}; valid values are finite numbers ≥ 0");
    }

    public static void Beta(string op, double beta, int index)
    {
        if (!(beta >= 0 && beta < 1))
            ThrowHelper.ArgumentOutOfRange(op, index == 0 ? "beta1" : "beta2", beta, $"invalid beta parameter at index {index}: {beta}; valid values are in [0, 1)");
    }
}
