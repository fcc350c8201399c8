using EmbedSharp.Diagnostics;

namespace EmbedSharp.Optimizers;

/// <summary>
/// A learning-rate schedule: the factor by which step t (1-based) scales the rule's learning rate.
/// Schedules are pure functions of t, so resuming from saved state (which stores t) resumes the schedule.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The factor for step <paramref name="step"/> (≥ 1).</summary>
    public abstract double Factor(long step);

    /// <summary>Factor 1 at every step.</summary>
    public static LearningRateSchedule Constant { get; } = new ConstantSchedule();

    /// <summary>
    /// Linear decay as word2vec: <c>max(1 − (t − 1)/totalSteps, finalFactor)</c>, so the first step runs at
    /// the full rate and the rate never drops below <paramref name="finalFactor"/> (word2vec's 1e-4).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="totalSteps"/> ≤ 0 or <paramref name="finalFactor"/> outside [0, 1].</exception>
    public static LearningRateSchedule Linear(long totalSteps, double finalFactor = 1e-4)
    {
        Guard.Positive("lr_schedule.linear", totalSteps);
        CheckFactor("lr_schedule.linear", finalFactor);
        return new LinearSchedule(totalSteps, finalFactor);
    }

    /// <summary>
    /// Cosine annealing: <c>f + (1 − f)·(1 + cos(π·min(t − 1, T)/T))/2</c> with T = <paramref name="totalSteps"/>
    /// and f = <paramref name="finalFactor"/>; 1 at the first step, f from step T + 1 on.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="totalSteps"/> ≤ 0 or <paramref name="finalFactor"/> outside [0, 1].</exception>
    public static LearningRateSchedule Cosine(long totalSteps, double finalFactor = 0)
    {
        Guard.Positive("lr_schedule.cosine", totalSteps);
        CheckFactor("lr_schedule.cosine", finalFactor);
        return new CosineSchedule(totalSteps, finalFactor);
    }

    /// <summary>
    /// Linear warm-up: <c>t / warmupSteps</c> for t ≤ warmupSteps, then <paramref name="then"/> (default
    /// constant) evaluated at <c>t − warmupSteps</c>, so the following schedule starts at its own step 1.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="warmupSteps"/> ≤ 0.</exception>
    public static LearningRateSchedule WarmUp(long warmupSteps, LearningRateSchedule? then = null)
    {
        Guard.Positive("lr_schedule.warmup", warmupSteps);
        return new WarmUpSchedule(warmupSteps, then ?? Constant);
    }

    private static void CheckFactor(string op, double f)
    {
        if (!(f >= 0 && f <= 1))
            ThrowHelper.ArgumentOutOfRange(op, "finalFactor", f, $"finalFactor {f} is out of range; valid values are 0..1");
    }

    private sealed class ConstantSchedule : LearningRateSchedule
    {
        public override double Factor(long step) => 1;
    }

    private sealed class LinearSchedule(long total, double final) : LearningRateSchedule
    {
        public override double Factor(long step) => Math.Max(1 - (double)(step - 1) / total, final);
    }

    private sealed class CosineSchedule(long total, double final) : LearningRateSchedule
    {
        public override double Factor(long step) =>
            final + (1 - final) * (1 + Math.Cos(Math.PI * Math.Min(step - 1, total) / total)) / 2;
    }

    private sealed class WarmUpSchedule(long warmup, LearningRateSchedule then) : LearningRateSchedule
    {
        public override double Factor(long step) => step <= warmup ? (double)step / warmup : then.Factor(step - warmup);
    }
}
