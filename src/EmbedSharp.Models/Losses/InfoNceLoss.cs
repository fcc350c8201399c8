using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Dense;
using EmbedSharp.Numerics;

namespace EmbedSharp.Models.Losses;

/// <summary>
/// InfoNCE over a batch of matched pairs with in-batch negatives and a learnable temperature — CLIP's
/// objective when <see cref="Symmetric"/>. Row b of the queries matches row b of the keys; every
/// other key in the batch is a negative.
/// </summary>
/// <remarks>
/// <para>With <c>s = exp(LogScale)</c> (the inverse temperature) and <c>S = Q·Kᵀ</c>, the logits are
/// <c>z = s·S</c>. The query→key loss is softmax cross-entropy of each row of <c>z − logQ</c> against the
/// diagonal (the optional log-Q correction lowers each key column by the log-probability with which
/// it appears in batches, Yi et al. 2019); the key→query loss does the same down each column of
/// <c>z</c>. Symmetric: <c>L = (L_rows + L_cols)/2</c>, otherwise <c>L = L_rows</c>.</para>
/// <para>Gradients: with <c>∂z</c> the softmax-minus-identity terms divided by the batch (and by 2 when
/// symmetric), <c>∂Q = s·∂z·K</c>, <c>∂K = s·∂zᵀ·Q</c>, <c>∂LogScale = Σ ∂z ⊙ z</c>. The scale is capped at
/// <see cref="MaxLogScale"/> (CLIP's 100); past the cap its gradient is zero. Inputs are not normalised
/// here: normalise the towers' outputs first for CLIP's cosine form.</para>
/// </remarks>
public sealed class InfoNceLoss
{
    private float[]? _s, _dz, _t1, _t2;

    /// <summary>Creates the loss with temperature <paramref name="temperature"/> (CLIP starts at 0.07).</summary>
    public InfoNceLoss(double temperature = 0.07, bool symmetric = true, double maxLogScale = 4.605170185988091)
    {
        Guard.PositiveFinite("info_nce.create", temperature);
        Guard.Finite("info_nce.create", maxLogScale);
        LogScale = new Parameter("log_scale", 1);
        LogScale.Value[0] = (float)Math.Log(1 / temperature);
        Symmetric = symmetric;
        MaxLogScale = maxLogScale;
    }

    /// <summary>The learnable <c>log(1/temperature)</c>; give it to a dense optimizer with the towers' parameters.</summary>
    public Parameter LogScale { get; }

    /// <summary>Whether the key→query direction is averaged in.</summary>
    public bool Symmetric { get; }

    /// <summary>Cap on <see cref="LogScale"/> (default ln 100).</summary>
    public double MaxLogScale { get; }

    /// <summary>The current temperature, <c>1/exp(min(LogScale, MaxLogScale))</c>.</summary>
    public double Temperature => 1 / Math.Exp(Math.Min(LogScale.Value[0], MaxLogScale));

    /// <summary>
    /// Returns the mean loss, writes <paramref name="gradQueries"/> and <paramref name="gradKeys"/>, and adds
    /// to <c>LogScale.Grad</c>.
    /// </summary>
    /// <param name="queries"><c>[batch, dims]</c>.</param>
    /// <param name="keys"><c>[batch, dims]</c>, row b matching query b.</param>
    /// <param name="batch">Pairs.</param>
    /// <param name="dims">Width of a row.</param>
    /// <param name="gradQueries">∂L/∂queries.</param>
    /// <param name="gradKeys">∂L/∂keys.</param>
    /// <param name="logQ">Per key: log of its sampling probability (empty: no correction).</param>
    /// <exception cref="ArgumentException">Wrong lengths.</exception>
    public unsafe double Compute(ReadOnlySpan<float> queries, ReadOnlySpan<float> keys, int batch, int dims,
        Span<float> gradQueries, Span<float> gradKeys, ReadOnlySpan<float> logQ = default)
    {
        const string op = "info_nce";
        Guard.NonNegative(op, batch);
        Guard.NonNegative(op, dims);
        long n = (long)batch * dims;
        Guard.Length(op, queries.Length, n, $"batch × dims = {batch} × {dims}");
        Guard.Length(op, keys.Length, n, $"batch × dims = {batch} × {dims}");
        Guard.Length(op, gradQueries.Length, n, $"batch × dims = {batch} × {dims}");
        Guard.Length(op, gradKeys.Length, n, $"batch × dims = {batch} × {dims}");
        if (!logQ.IsEmpty)
            Guard.Length(op, logQ.Length, batch, "one log-probability per key, or none");
        if (batch == 0)
            return 0;
        bool capped = LogScale.Value[0] > MaxLogScale;
        double scale = Math.Exp(Math.Min(LogScale.Value[0], MaxLogScale));
        int bb = batch * batch;
        float[] s = Layer_Ensure(ref _s, bb), dz = Layer_Ensure(ref _dz, bb);
        fixed (float* q = queries)
        fixed (float* k = keys)
        fixed (float* sp = s)
            Gemm.MultiplyTransposed(q, batch, dims, k, batch, sp, batch, Environment.ProcessorCount);
        double rowWeight = Symmetric ? 0.5 : 1.0;
        double loss = 0;
        // Rows: softmax over keys of z − logQ.
        for (int i = 0; i < batch; i++)
        {
            double max = double.NegativeInfinity;
            for (int j = 0; j < batch; j++)
                max = Math.Max(max, scale * s[i * batch + j] - (logQ.IsEmpty ? 0 : logQ[j]));
            double sum = 0;
            for (int j = 0; j < batch; j++)
                sum += Math.Exp(scale * s[i * batch + j] - (logQ.IsEmpty ? 0 : logQ[j]) - max);
            double lse = max + Math.Log(sum);
            loss += rowWeight * (lse - (scale * s[i * batch + i] - (logQ.IsEmpty ? 0 : logQ[i]))) / batch;
            for (int j = 0; j < batch; j++)
            {
                double p = Math.Exp(scale * s[i * batch + j] - (logQ.IsEmpty ? 0 : logQ[j]) - lse);
                dz[i * batch + j] = (float)(rowWeight * (p - (i == j ? 1 : 0)) / batch);
            }
        }
        if (Symmetric)
        {
            // Columns: softmax over queries of z.
            for (int j = 0; j < batch; j++)
            {
                double max = double.NegativeInfinity;
                for (int i = 0; i < batch; i++)
                    max = Math.Max(max, scale * s[i * batch + j]);
                double sum = 0;
                for (int i = 0; i < batch; i++)
                    sum += Math.Exp(scale * s[i * batch + j] - max);
                double lse = max + Math.Log(sum);
                loss += 0.5 * (lse - scale * s[j * batch + j]) / batch;
                for (int i = 0; i < batch; i++)
                {
                    double p = Math.Exp(scale * s[i * batch + j] - lse);
                    dz[i * batch + j] += (float)(0.5 * (p - (i == j ? 1 : 0)) / batch);
                }
            }
        }
        double gradLogScale = 0;
        for (int e = 0; e < bb; e++)
            gradLogScale += dz[e] * scale * s[e];
        if (!capped)
            LogScale.Grad[0] += (float)gradLogScale;
        // ∂z · s is what both products need.
        for (int e = 0; e < bb; e++)
            dz[e] = (float)(dz[e] * scale);
        if (dims > 0)
        {
            float[] t1 = Layer_Ensure(ref _t1, Math.Max(n, bb)), t2 = Layer_Ensure(ref _t2, n);
            // ∂Q = ∂z·K = ∂z · (Kᵀ)ᵀ.
            DenseMath.Transpose(keys, batch, dims, t2);
            fixed (float* a = dz)
            fixed (float* b = t2)
            fixed (float* c = gradQueries)
                Gemm.MultiplyTransposed(a, batch, batch, b, dims, c, dims, Environment.ProcessorCount);
            // ∂K = ∂zᵀ·Q = (∂zᵀ) · (Qᵀ)ᵀ.
            DenseMath.Transpose(queries, batch, dims, t2);
            DenseMath.Transpose(dz.AsSpan(0, bb), batch, batch, t1);
            fixed (float* a = t1)
            fixed (float* b = t2)
            fixed (float* c = gradKeys)
                Gemm.MultiplyTransposed(a, batch, batch, b, dims, c, dims, Environment.ProcessorCount);
        }
        return loss;
    }

    private static float[] Layer_Ensure(ref float[]? buffer, long length)
    {
        if (buffer is null || buffer.Length < length)
            buffer = new float[Math.Max(length, 1)];
        return buffer;
    }
}
