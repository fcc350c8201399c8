using EmbedSharp.Diagnostics;
using EmbedSharp.Optimizers;

namespace EmbedSharp.Stores;

/// <summary>The update rules a store can run beside its rows; each maps onto one of core's fused rules.</summary>
public enum OptimizerKind
{
    /// <summary>No optimizer: the store has not been trained (or is read-only).</summary>
    None = 0,

    /// <summary><see cref="Optimizers.Sgd"/>: plain SGD, or with momentum (then Dims floats of state a row).</summary>
    Sgd = 1,

    /// <summary><see cref="Optimizers.Adagrad"/>: Dims floats of state a row.</summary>
    Adagrad = 2,

    /// <summary><see cref="Optimizers.RowwiseAdagrad"/>: one float of state a row.</summary>
    RowwiseAdagrad = 3,

    /// <summary><see cref="Optimizers.Adam"/> (L2 weight decay): 2·Dims floats of state a row.</summary>
    Adam = 4,

    /// <summary><see cref="Optimizers.AdamW"/> (decoupled weight decay): 2·Dims floats of state a row.</summary>
    AdamW = 5,

    /// <summary><see cref="Optimizers.LazyAdam"/> (PyTorch's SparseAdam): 2·Dims floats of state a row.</summary>
    LazyAdam = 6,
}

/// <summary>
/// One optimizer step as a store applies it: the rule, its hyperparameters, the learning rate already
/// scaled by any schedule, and the step number t (bias corrections and Adagrad's decay read it).
/// </summary>
/// <remarks>
/// <para>The store runs core's rule for <see cref="Kind"/> on each listed row:
/// <c>rule.Prepare(Step, 1)</c> once, then <c>rule.UpdateRow(weight, summedGradient, state)</c> per row,
/// the same rule code a <see cref="FusedSparseBackward{TRule}"/> runs, so a store trained with the steps
/// of an in-process optimizer (t = 1, 2, …, same rule, constant schedule) holds the same bits.</para>
/// <para>The client owns t: every worker pushing the same step number is what the synchronous mode
/// does; asynchronous workers each count their own. Hyperparameters that size the state (the kind,
/// SGD's momentum on or off, AMSGrad) must stay the same for the store's life; the rest may change
/// from step to step.</para>
/// </remarks>
public readonly record struct OptimizerStep
{
    /// <summary>The rule.</summary>
    public OptimizerKind Kind { get; init; }

    /// <summary>The learning rate of this step (after any schedule).</summary>
    public double LearningRate { get; init; }

    /// <summary>The step number t, from 1.</summary>
    public long Step { get; init; }

    /// <summary>Weight decay (L2 for SGD, Adagrad, row-wise Adagrad and Adam; decoupled for AdamW).</summary>
    public double WeightDecay { get; init; }

    /// <summary>SGD momentum (0 = none).</summary>
    public double Momentum { get; init; }

    /// <summary>Adam's β₁.</summary>
    public double Beta1 { get; init; }

    /// <summary>Adam's β₂.</summary>
    public double Beta2 { get; init; }

    /// <summary>The ε of Adagrad, row-wise Adagrad and Adam.</summary>
    public double Eps { get; init; }

    /// <summary>Adagrad's learning-rate decay.</summary>
    public double LrDecay { get; init; }

    /// <summary>Adagrad's initial accumulator value.</summary>
    public double InitialAccumulatorValue { get; init; }

    /// <summary>Plain SGD, or SGD with momentum (PyTorch's defaults otherwise).</summary>
    public static OptimizerStep Sgd(double learningRate, long step, double momentum = 0, double weightDecay = 0) =>
        new() { Kind = OptimizerKind.Sgd, LearningRate = learningRate, Step = step, Momentum = momentum, WeightDecay = weightDecay };

    /// <summary>Adagrad with PyTorch's defaults.</summary>
    public static OptimizerStep Adagrad(double learningRate, long step, double lrDecay = 0, double weightDecay = 0, double initialAccumulatorValue = 0, double eps = 1e-10) =>
        new() { Kind = OptimizerKind.Adagrad, LearningRate = learningRate, Step = step, LrDecay = lrDecay, WeightDecay = weightDecay, InitialAccumulatorValue = initialAccumulatorValue, Eps = eps };

    /// <summary>FBGEMM's row-wise Adagrad.</summary>
    public static OptimizerStep RowwiseAdagrad(double learningRate, long step, double eps = 1e-8, double weightDecay = 0) =>
        new() { Kind = OptimizerKind.RowwiseAdagrad, LearningRate = learningRate, Step = step, Eps = eps, WeightDecay = weightDecay };

    /// <summary>Adam with PyTorch's defaults.</summary>
    public static OptimizerStep Adam(double learningRate, long step, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0) =>
        new() { Kind = OptimizerKind.Adam, LearningRate = learningRate, Step = step, Beta1 = beta1, Beta2 = beta2, Eps = eps, WeightDecay = weightDecay };

    /// <summary>AdamW with PyTorch's defaults.</summary>
    public static OptimizerStep AdamW(double learningRate, long step, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2) =>
        new() { Kind = OptimizerKind.AdamW, LearningRate = learningRate, Step = step, Beta1 = beta1, Beta2 = beta2, Eps = eps, WeightDecay = weightDecay };

    /// <summary>LazyAdam (SparseAdam) with PyTorch's defaults.</summary>
    public static OptimizerStep LazyAdam(double learningRate, long step, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8) =>
        new() { Kind = OptimizerKind.LazyAdam, LearningRate = learningRate, Step = step, Beta1 = beta1, Beta2 = beta2, Eps = eps };

    /// <summary>The same step with another step number.</summary>
    public OptimizerStep At(long step) => this with { Step = step };

    /// <summary>Floats of optimizer state this step's rule keeps per row of <paramref name="dims"/> floats.</summary>
    /// <exception cref="ArgumentException">The step is not valid (see <see cref="Validate"/>).</exception>
    public int StateWidth(int dims)
    {
        var width = new WidthOf(dims);
        Dispatch(ref width, "store.optimizer");
        return width.Width;
    }

    /// <summary>Checks the kind, t ≥ 1 and the hyperparameters (by building core's rule, whose messages name the bad value).</summary>
    /// <exception cref="ArgumentException">An unknown kind or a hyperparameter out of range.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="Step"/> &lt; 1.</exception>
    public void Validate(string op = "store.optimizer")
    {
        var none = new WidthOf(1);
        Dispatch(ref none, op);
    }

    /// <summary>Builds core's rule for this step and hands it to <paramref name="action"/> (one generic instantiation per rule).</summary>
    internal void Dispatch<TAction>(ref TAction action, string op) where TAction : IRuleAction, allows ref struct
    {
        if (Step < 1)
            ThrowHelper.ArgumentOutOfRange(op, nameof(Step), Step, $"step {Step} is out of range; steps count from 1");
        switch (Kind)
        {
            case OptimizerKind.Sgd:
                action.Run(new Optimizers.Sgd(LearningRate, Momentum, 0, WeightDecay));
                break;
            case OptimizerKind.Adagrad:
                action.Run(new Optimizers.Adagrad(LearningRate, LrDecay, WeightDecay, InitialAccumulatorValue, Eps));
                break;
            case OptimizerKind.RowwiseAdagrad:
                action.Run(new Optimizers.RowwiseAdagrad(LearningRate, Eps, WeightDecay));
                break;
            case OptimizerKind.Adam:
                action.Run(new Optimizers.Adam(LearningRate, Beta1, Beta2, Eps, WeightDecay));
                break;
            case OptimizerKind.AdamW:
                action.Run(new Optimizers.AdamW(LearningRate, Beta1, Beta2, Eps, WeightDecay));
                break;
            case OptimizerKind.LazyAdam:
                action.Run(new Optimizers.LazyAdam(LearningRate, Beta1, Beta2, Eps));
                break;
            default:
                ThrowHelper.Argument(op, nameof(Kind), $"optimizer kind {Kind} is not a rule; valid kinds are Sgd, Adagrad, RowwiseAdagrad, Adam, AdamW, LazyAdam");
                break;
        }
    }

    private struct WidthOf(int dims) : IRuleAction
    {
        public int Width;

        public void Run<TRule>(in TRule rule) where TRule : struct, ISparseUpdateRule => Width = rule.StateWidth(dims);
    }
}

/// <summary>Code run with a concrete rule type (see <see cref="OptimizerStep.Dispatch"/>).</summary>
internal interface IRuleAction
{
    /// <summary>Runs with <paramref name="rule"/>.</summary>
    void Run<TRule>(in TRule rule) where TRule : struct, ISparseUpdateRule;
}
