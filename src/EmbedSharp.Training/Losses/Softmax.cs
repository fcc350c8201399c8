namespace EmbedSharp.Training.Losses;

/// <summary>
/// Softmax output layers: the full softmax over every class, and sampled softmax (Jean et al. 2015)
/// for large vocabularies, which scores the target and k classes drawn from a proposal q and corrects
/// each logit by <c>−log(k·q)</c>.
/// </summary>
internal static unsafe class Softmax
{
    /// <summary>
    /// One SGD step of <c>−log softmax(W·h + b)[target]</c>: <c>scores</c> receives the probabilities,
    /// <c>gradHidden += Σ_j (δ_jt − p_j)·lr·W_j</c> (the ascent direction, word2vec's sign), then
    /// <c>W_j += (δ_jt − p_j)·lr·h</c> and <c>b_j += (δ_jt − p_j)·lr</c>.
    /// </summary>
    /// <returns>The loss <c>−log p_target</c> (before the update).</returns>
    public static float FullStep(float* hidden, float* output, float* bias, int classes, int dims, int target, float lr, float* gradHidden, float* scores)
    {
        float max = float.NegativeInfinity;
        for (int j = 0; j < classes; j++)
        {
            float s = Common.VectorMath.Dot(hidden, output + (long)j * dims, dims) + (bias is null ? 0 : bias[j]);
            scores[j] = s;
            if (s > max)
                max = s;
        }
        double z = 0;
        for (int j = 0; j < classes; j++)
        {
            float p = MathF.Exp(scores[j] - max);
            scores[j] = p;
            z += p;
        }
        float inv = (float)(1 / z);
        float pTarget = scores[target] * inv;
        for (int j = 0; j < classes; j++)
        {
            float p = scores[j] * inv;
            scores[j] = p;
            float g = ((j == target ? 1f : 0f) - p) * lr;
            float* w = output + (long)j * dims;
            Common.VectorMath.AccumulateAndUpdate(g, hidden, w, gradHidden, dims);
            if (bias is not null)
                bias[j] += g;
        }
        return -MathF.Log(MathF.Max(pTarget, 1e-30f));
    }
}
