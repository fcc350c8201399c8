using EmbedSharp.Graphs.Models;

namespace EmbedSharp.Graphs.Training;

/// <summary>Per-example losses with their hand-derived gradients (finite-difference tested).</summary>
internal static class Losses
{
    /// <summary>
    /// One positive and k negatives of one query. Returns the loss and adds its gradient to the anchor,
    /// relation, target and negative rows' gradients. <paramref name="negatives"/> holds k entity rows
    /// (row-major), <paramref name="gNegatives"/> their gradients. Scratch: q and gq of the entity width, k scores.
    /// The self-adversarial weights are constants of the gradient (as in the paper); <paramref name="heldWeights"/>,
    /// when given, replaces them (tests hold them fixed to check the gradient by finite differences), and
    /// <paramref name="weightsUsed"/>, when given, receives them.
    /// </summary>
    public static float NegativeSampling(KgModel model, KgLoss loss, float margin, float alpha,
        ReadOnlySpan<float> anchor, ReadOnlySpan<float> relation, bool headSide, ReadOnlySpan<float> target, ReadOnlySpan<float> negatives, int k,
        Span<float> gAnchor, Span<float> gRelation, Span<float> gTarget, Span<float> gNegatives,
        Span<float> q, Span<float> gq, Span<float> scores, ReadOnlySpan<float> heldWeights = default, Span<float> weightsUsed = default)
    {
        int d = anchor.Length;
        var kind = model.Kind;
        model.Query(anchor, relation, headSide, q);
        float pos = model.Gamma + ScoreKernels.Score(kind, q, target);
        for (int j = 0; j < k; j++)
            scores[j] = model.Gamma + ScoreKernels.Score(kind, q, negatives.Slice(j * d, d));
        gq.Clear();
        float value;
        if (loss == KgLoss.Margin)
        {
            value = 0;
            float gPos = 0, inv = 1f / k;
            for (int j = 0; j < k; j++)
            {
                float m = margin - pos + scores[j];
                if (m <= 0)
                    continue;
                value += m * inv;
                gPos -= inv;
                ScoreKernels.Backward(kind, q, negatives.Slice(j * d, d), inv, gq, gNegatives.Slice(j * d, d));
            }
            ScoreKernels.Backward(kind, q, target, gPos, gq, gTarget);
        }
        else
        {
            // Self-adversarial weights p = softmax(α · s), treated as constants.
            float max = float.NegativeInfinity;
            for (int j = 0; j < k; j++)
                max = MathF.Max(max, alpha * scores[j]);
            double z = 0;
            for (int j = 0; j < k; j++)
                z += Math.Exp(alpha * scores[j] - max);
            double negLoss = 0;
            for (int j = 0; j < k; j++)
            {
                float p = heldWeights.IsEmpty ? (float)(Math.Exp(alpha * scores[j] - max) / z) : heldWeights[j];
                if (!weightsUsed.IsEmpty)
                    weightsUsed[j] = p;
                negLoss += p * Softplus(scores[j]);           // −log σ(−s) = softplus(s)
                float g = 0.5f * p * Sigmoid(scores[j]);      // d softplus(s)/ds = σ(s)
                ScoreKernels.Backward(kind, q, negatives.Slice(j * d, d), g, gq, gNegatives.Slice(j * d, d));
            }
            value = (float)(0.5 * (Softplus(-pos) + negLoss)); // −log σ(s) = softplus(−s)
            ScoreKernels.Backward(kind, q, target, -0.5f * Sigmoid(-pos), gq, gTarget);
        }
        model.QueryBackward(anchor, relation, headSide, gq, gAnchor, gRelation);
        return value;
    }

    /// <summary>Adds <c>scale · ∂R/∂row</c> to <paramref name="grad"/> and returns <c>scale · R(row)</c> for the regularizer R.</summary>
    public static float Regularize(KgRegularizer regularizer, float weight, bool complex, ReadOnlySpan<float> row, Span<float> grad, float scale)
    {
        if (regularizer == KgRegularizer.None || weight == 0)
            return 0;
        float w = weight * scale;
        double value = 0;
        if (regularizer == KgRegularizer.L2)
        {
            for (int i = 0; i < row.Length; i++)
            {
                value += row[i] * row[i];
                grad[i] += 2 * w * row[i];
            }
        }
        else if (complex)
        {
            int d = row.Length / 2;
            for (int i = 0; i < d; i++)
            {
                float re = row[i], im = row[d + i];
                float m = MathF.Sqrt(re * re + im * im);
                value += m * m * m;
                grad[i] += 3 * w * m * re;
                grad[d + i] += 3 * w * m * im;
            }
        }
        else
        {
            for (int i = 0; i < row.Length; i++)
            {
                float a = MathF.Abs(row[i]);
                value += a * a * a;
                grad[i] += 3 * w * a * row[i];
            }
        }
        return (float)(w * value);
    }

    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>log(1 + eˣ) without overflow.</summary>
    public static float Softplus(float x) => x > 0 ? x + MathF.Log(1 + MathF.Exp(-x)) : MathF.Log(1 + MathF.Exp(x));
}
