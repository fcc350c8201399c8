using EmbedSharp.Diagnostics;

namespace EmbedSharp.Models.Losses;

/// <summary>
/// Losses that return their mean value and write its gradient with respect to their input
/// (overwriting <c>grad</c>), so a backward pass starts from them. Sums run in double.
/// </summary>
public static class Loss
{
    /// <summary>Mean squared error, <c>L = (1/n) Σ (p − y)²</c>, <c>∂L/∂p = 2(p − y)/n</c>.</summary>
    /// <exception cref="ArgumentException">Spans of different lengths.</exception>
    public static double MeanSquaredError(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> grad)
    {
        const string op = "loss.mse";
        Guard.Length(op, target.Length, prediction.Length, "one target per prediction");
        Guard.Length(op, grad.Length, prediction.Length, "one gradient per prediction");
        int n = prediction.Length;
        if (n == 0)
            return 0;
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            double d = prediction[i] - (double)target[i];
            sum += d * d;
            grad[i] = (float)(2 * d / n);
        }
        return sum / n;
    }

    /// <summary>
    /// Binary cross-entropy on logits, mean over elements (PyTorch's <c>BCEWithLogitsLoss</c>):
    /// <c>ℓ = max(x, 0) − x·y + log(1 + e^{−|x|})</c>, <c>∂ℓ/∂x = σ(x) − y</c>; optional per-element weights.
    /// </summary>
    /// <exception cref="ArgumentException">Spans of different lengths.</exception>
    public static double BinaryCrossEntropyWithLogits(ReadOnlySpan<float> logits, ReadOnlySpan<float> target, Span<float> grad,
        ReadOnlySpan<float> weights = default)
    {
        const string op = "loss.bce_with_logits";
        Guard.Length(op, target.Length, logits.Length, "one target per logit");
        Guard.Length(op, grad.Length, logits.Length, "one gradient per logit");
        if (!weights.IsEmpty)
            Guard.Length(op, weights.Length, logits.Length, "one weight per logit, or empty");
        int n = logits.Length;
        if (n == 0)
            return 0;
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            double x = logits[i], y = target[i], w = weights.IsEmpty ? 1 : weights[i];
            sum += w * (Math.Max(x, 0) - x * y + Math.Log(1 + Math.Exp(-Math.Abs(x))));
            grad[i] = (float)(w * (Sigmoid(x) - y) / n);
        }
        return sum / n;
    }

    /// <summary>
    /// Softmax cross-entropy over <paramref name="classes"/> columns, mean over rows:
    /// <c>ℓ_b = logsumexp(z_b) − z_b[label_b]</c>, <c>∂ℓ/∂z = softmax(z) − onehot</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong lengths.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label outside <c>[0, classes)</c>.</exception>
    public static double SoftmaxCrossEntropy(ReadOnlySpan<float> logits, int batch, int classes, ReadOnlySpan<int> labels, Span<float> grad) =>
        SampledSoftmax(logits, batch, classes, labels, default, grad, "loss.softmax_cross_entropy");

    /// <summary>
    /// Sampled softmax with the log-Q correction (Jean et al.; Yi et al. 2019 for in-batch negatives):
    /// each column's logit is lowered by <c>log Q(column)</c>, the log-probability with which the
    /// candidate was sampled, before softmax cross-entropy, so popular items drawn often as negatives
    /// are not over-penalised: <c>ℓ_b = logsumexp_c(z_bc − logQ_c) − (z_b,label − logQ_label)</c>.
    /// </summary>
    /// <param name="logits"><c>[batch, candidates]</c> scores.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="candidates">Columns.</param>
    /// <param name="labels">The positive column of each row.</param>
    /// <param name="logQ">Per column <c>[candidates]</c> or per element <c>[batch, candidates]</c>; empty for none.</param>
    /// <param name="grad">∂L/∂logits, <c>[batch, candidates]</c>.</param>
    /// <exception cref="ArgumentException">Wrong lengths.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label outside <c>[0, candidates)</c>.</exception>
    public static double SampledSoftmax(ReadOnlySpan<float> logits, int batch, int candidates, ReadOnlySpan<int> labels,
        ReadOnlySpan<float> logQ, Span<float> grad) =>
        SampledSoftmax(logits, batch, candidates, labels, logQ, grad, "loss.sampled_softmax");

    private static double SampledSoftmax(ReadOnlySpan<float> logits, int batch, int candidates, ReadOnlySpan<int> labels,
        ReadOnlySpan<float> logQ, Span<float> grad, string op)
    {
        Guard.NonNegative(op, batch);
        Guard.NonNegative(op, candidates);
        Guard.Length(op, logits.Length, (long)batch * candidates, $"batch × candidates = {batch} × {candidates}");
        Guard.Length(op, grad.Length, (long)batch * candidates, $"batch × candidates = {batch} × {candidates}");
        Guard.Length(op, labels.Length, batch, "one label per row");
        bool perElement = logQ.Length == batch * candidates && batch != 1;
        if (!logQ.IsEmpty && logQ.Length != candidates && !perElement)
            ThrowHelper.Argument(op, nameof(logQ), $"logQ has {logQ.Length} elements but {candidates} (per column) or {batch * candidates} (per element) are needed, or none");
        for (int b = 0; b < batch; b++)
            Guard.InRange(op, labels[b], 0, candidates, $"labels[{b}]");
        if (batch == 0)
            return 0;
        double total = 0;
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> z = logits.Slice(b * candidates, candidates);
            Span<float> g = grad.Slice(b * candidates, candidates);
            double max = double.NegativeInfinity;
            for (int c = 0; c < candidates; c++)
                max = Math.Max(max, Corrected(z, logQ, perElement, b, candidates, c));
            double sum = 0;
            for (int c = 0; c < candidates; c++)
                sum += Math.Exp(Corrected(z, logQ, perElement, b, candidates, c) - max);
            double lse = max + Math.Log(sum);
            total += lse - Corrected(z, logQ, perElement, b, candidates, labels[b]);
            for (int c = 0; c < candidates; c++)
                g[c] = (float)((Math.Exp(Corrected(z, logQ, perElement, b, candidates, c) - lse) - (c == labels[b] ? 1 : 0)) / batch);
        }
        return total / batch;
    }

    private static double Corrected(ReadOnlySpan<float> z, ReadOnlySpan<float> logQ, bool perElement, int b, int candidates, int c) =>
        logQ.IsEmpty ? z[c] : (double)z[c] - (perElement ? logQ[b * candidates + c] : logQ[c]);

    internal static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));
}
