using EmbedSharp.Graphs.Models;

namespace EmbedSharp.Graphs.Training;

/// <summary>Per-example losses with their hand-derived gradients (finite-difference tested).</summary>
internal static class Losses
{
    /// <summary>
    /// One positive and k negatives of one query. Returns the loss and adds its gradient to the anchor,
    /// relation and target rows' gradients and writes (not adds) the negative rows' gradients.
    /// <paramref name="negatives"/> holds k entity rows (row-major), <paramref name="gNegatives"/> their gradients. Scratch: q and gq of the entity width, k scores.
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
        bool dot = kind == ScoreKind.Dot;
        model.Query(anchor, relation, headSide, q);
        // Distance kinds: each negative's unit direction is kept in its gradient row and scaled once its weight is known.
        float pos = model.Gamma + (dot ? ScoreKernels.Score(kind, q, target) : ScoreKernels.ScoreWithUnit(kind, q, target, gTargetUnit(d)));
        for (int j = 0; j < k; j++)
            scores[j] = model.Gamma + (dot ? ScoreKernels.Score(kind, q, negatives.Slice(j * d, d)) : ScoreKernels.ScoreWithUnit(kind, q, negatives.Slice(j * d, d), gNegatives.Slice(j * d, d)));
        gq.Clear();
        float value, gPos;
        if (loss == KgLoss.Margin)
        {
            value = 0;
            gPos = 0;
            float inv = 1f / k;
            for (int j = 0; j < k; j++)
            {
                float m = margin - pos + scores[j];
                float g = m > 0 ? inv : 0;
                if (m > 0)
                {
                    value += m * inv;
                    gPos -= inv;
                }
                Apply(dot, q, negatives.Slice(j * d, d), g, gq, gNegatives.Slice(j * d, d));
            }
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
                Apply(dot, q, negatives.Slice(j * d, d), g, gq, gNegatives.Slice(j * d, d));
            }
            value = (float)(0.5 * (Softplus(-pos) + negLoss)); // −log σ(s) = softplus(−s)
            gPos = -0.5f * Sigmoid(-pos);
        }
        if (dot)
            ScoreKernels.Backward(kind, q, target, gPos, gq, gTarget);
        else
        {
            var unit = gTargetUnit(d);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(unit, -gPos, gq, gq);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(unit, gPos, gTarget, gTarget);
        }
        model.QueryBackward(anchor, relation, headSide, gq, gAnchor, gRelation);
        return value;
    }

    [ThreadStatic]
    private static float[]? t_targetUnit;

    private static Span<float> gTargetUnit(int d)
    {
        if (t_targetUnit is null || t_targetUnit.Length < d)
            t_targetUnit = new float[d];
        return t_targetUnit.AsSpan(0, d);
    }

    /// <summary>
    /// One negative's share: with its score's weight g, <c>gq += g · ∂s/∂q</c>, and its gradient row set to
    /// <c>g · ∂s/∂e</c> (for distance kinds the row holds the unit direction on entry and is scaled in place).
    /// </summary>
    private static void Apply(bool dot, ReadOnlySpan<float> q, ReadOnlySpan<float> negative, float g, Span<float> gq, Span<float> gNegative)
    {
        if (dot)
        {
            System.Numerics.Tensors.TensorPrimitives.Multiply(q, g, gNegative);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(negative, g, gq, gq);
            return;
        }
        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(gNegative, -g, gq, gq);
        System.Numerics.Tensors.TensorPrimitives.Multiply(gNegative, g, gNegative);
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
