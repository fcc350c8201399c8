using EmbedSharp.Numerics;
using EmbedSharp.Models.Data;

namespace EmbedSharp.Models.Recommenders;

/// <summary>
/// Bayesian biased matrix factorisation by Gibbs sampling, in the form libFM's MCMC learner uses for a
/// user-item factorisation machine (Rendle 2012, "Factorization machines with libFM", §4.3; Salakhutdinov
/// &amp; Mnih's BPMF with the per-dimension hyper-priors of libFM instead of a full Wishart):
/// <c>r ~ N(μ + b_u + b_i + p_u·q_i, 1/α)</c>; each group's biases and each factor dimension of each group
/// (users, items) have their own prior <c>N(m, 1/λ)</c>, with <c>λ ~ Gamma(1, 1)</c>, <c>m ~ N(0, 1/λ)</c>
/// and <c>α ~ Gamma(1, 1)</c> sampled too, so there is no regularisation constant to tune.
/// </summary>
/// <remarks>
/// <para>Every parameter is drawn from its exact conditional given all the others, one coordinate at a
/// time (the model is linear in each): for a parameter θ with derivative h of each of its ratings'
/// predictions, precision <c>α Σ h² + λ</c> and mean <c>(α Σ h (e + θ h) + m λ) / precision</c>, e the current
/// residuals, which are kept for all ratings and updated after each draw. The order per sweep is α, the
/// hyper-parameters, μ, the user and item biases, then factor dimension by dimension the user and item
/// factors. One thread, one seeded generator: same seed, same bits.</para>
/// <para>The prediction is the posterior mean, the average of <c>Samples</c> draws spread evenly over the
/// sweeps after <c>BurnIn</c>. That average of dot products is itself a dot product of the draws stacked
/// side by side (each scaled by <c>1/√S</c>), so the stored model is an ordinary <see cref="FactorModel"/>
/// with <c>Factors·Samples</c> columns and biases averaged over the draws: scoring, saving, recommending
/// and folding in work unchanged.</para>
/// </remarks>
// Size: ~450 lines because one Gibbs sweep (hyper-priors, biases, factors, implicit and side-feature terms) and
// the posterior averaging are one sampler; splitting it would separate conditionals that must stay consistent.
internal static class BayesianMf
{
    // libFM's hyper-prior constants: α, λ ~ Gamma(1, 1) (shape, rate), m ~ N(0, 1/(γ0 λ)) with γ0 = 1.
    private const double Alpha0 = 1, Beta0 = 1, AlphaLambda = 1, BetaLambda = 1, Gamma0 = 1;

    /// <summary>
    /// Side information of one side (users or items): CSR rows of (attribute, weight) per user or item row,
    /// attributes numbered so that each prior group is a contiguous range <c>[GroupStarts[g], GroupStarts[g+1])</c>.
    /// </summary>
    internal sealed record Attributes(int[] Offsets, int[] Ids, float[] Weights, int[] GroupStarts)
    {
        public int Count => GroupStarts[^1];

        public static Attributes None(int rows) => new(new int[rows + 1], [], [], [0]);
    }

    public static void Train(FactorModel m, Interactions set, RecommenderOptions o, Attributes userAttrs, Attributes itemAttrs, SeededRandom rng,
        IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        int k = o.Factors, nu = m.Users.Count, ni = m.Items.Count, n = set.Count, samples = o.Samples;
        // Ratings in user-CSR order; item lists point into that order, so one residual array serves both.
        int[] uOff = set.UserOffsets, uItem = set.UserItems;
        float[] y = set.UserValues;
        int[] posUser = new int[n];
        for (int u = 0; u < nu; u++)
            for (int t = uOff[u]; t < uOff[u + 1]; t++)
                posUser[t] = u;
        int[] iOff = new int[ni + 1];
        foreach (int i in uItem)
            iOff[i + 1]++;
        for (int i = 0; i < ni; i++)
            iOff[i + 1] += iOff[i];
        int[] iPos = new int[n];
        int[] fill = (int[])iOff.Clone();
        for (int t = 0; t < n; t++)
            iPos[fill[uItem[t]]++] = t;
        int[] uCount = new int[nu], iCount = new int[ni];
        for (int u = 0; u < nu; u++)
            uCount[u] = uOff[u + 1] - uOff[u];
        for (int i = 0; i < ni; i++)
            iCount[i] = iOff[i + 1] - iOff[i];

        var user = new Side(nu, k, userAttrs, rng, o.InitStd);
        var item = new Side(ni, k, itemAttrs, rng, o.InitStd);
        double w0 = 0, alpha = 1;
        foreach (float r in y)
            w0 += r;
        w0 /= Math.Max(n, 1);
        var e = new double[n];

        double sumW0 = 0;
        var sumBu = new double[nu];
        var sumBi = new double[ni];
        int burnIn = o.BurnIn, kept = 0;
        int thin = Math.Max(1, (o.Epochs - burnIn) / samples);
        float scale = 1 / MathF.Sqrt(samples);
        int stride = k * samples;
        var ui = new double[n]; // the other side's factor per rating, in user-CSR order (scratch)
        for (int sweep = 1; sweep <= o.Epochs; sweep++)
        {
            ct.ThrowIfCancellationRequested();
            // Effective rows and residuals from the parameters (no drift from incremental updates).
            user.Compose();
            item.Compose();
            double sse = 0;
            for (int t = 0; t < n; t++)
            {
                int u = posUser[t], i = uItem[t];
                double dot = 0;
                for (int f = 0; f < k; f++)
                    dot += user.Effective[u * k + f] * item.Effective[i * k + f];
                e[t] = y[t] - w0 - user.EffectiveBias[u] - item.EffectiveBias[i] - dot;
                sse += e[t] * e[t];
            }
            // Noise precision α, then every prior's mean and precision.
            alpha = Gamma(rng, (Alpha0 + n) / 2, (Beta0 + sse) / 2);
            user.DrawPriors(rng);
            item.DrawPriors(rng);
            // Global mean (flat prior).
            {
                double s = 0;
                foreach (double r in e)
                    s += r + w0;
                double w = s / n + rng.NextNormal() / Math.Sqrt(alpha * n);
                double d = w - w0;
                for (int t = 0; t < n; t++)
                    e[t] -= d;
                w0 = w;
            }
            // Biases: h = 1 per rating (times the attribute weight for attribute biases).
            for (int t = 0; t < n; t++)
                ui[t] = 1;
            user.DrawDimension(rng, alpha, e, ui, uOff, null, uCount, bias: true, f: -1);
            item.DrawDimension(rng, alpha, e, ui, iOff, iPos, iCount, bias: true, f: -1);
            // Factors, one dimension at a time: users against the items' column f, then items against users'.
            for (int f = 0; f < k; f++)
            {
                for (int t = 0; t < n; t++)
                    ui[t] = item.Effective[uItem[t] * k + f];
                user.DrawDimension(rng, alpha, e, ui, uOff, null, uCount, bias: false, f);
                for (int t = 0; t < n; t++)
                    ui[t] = user.Effective[posUser[t] * k + f];
                item.DrawDimension(rng, alpha, e, ui, iOff, iPos, iCount, bias: false, f);
            }
            if (sweep > burnIn && (sweep - burnIn) % thin == 0 && kept < samples)
            {
                // Keep this draw: its effective rows become columns [kept·k, kept·k + k) of the stacked tables.
                int col = kept * k;
                for (int u = 0; u < nu; u++)
                    for (int f = 0; f < k; f++)
                        m.UserFactors[u * stride + col + f] = (float)user.Effective[u * k + f] * scale;
                for (int i = 0; i < ni; i++)
                    for (int f = 0; f < k; f++)
                        m.ItemFactors[i * stride + col + f] = (float)item.Effective[i * k + f] * scale;
                sumW0 += w0;
                for (int u = 0; u < nu; u++)
                    sumBu[u] += user.EffectiveBias[u];
                for (int i = 0; i < ni; i++)
                    sumBi[i] += item.EffectiveBias[i];
                kept++;
            }
            sse = 0;
            foreach (double r in e)
                sse += r * r;
            Report(sweep, o, sse / Math.Max(n, 1), progress);
        }
        m.GlobalMean = (float)(sumW0 / kept);
        for (int u = 0; u < nu; u++)
            m.UserBias[u] = (float)(sumBu[u] / kept);
        for (int i = 0; i < ni; i++)
            m.ItemBias[i] = (float)(sumBi[i] / kept);
    }

    /// <summary>
    /// One side's parameters: id factors and biases, attribute factors and biases, their priors, and the
    /// effective rows <c>P_r = p_r + Σ_a x_ra·y_a</c>, <c>B_r = b_r + Σ_a x_ra·w_a</c> that predictions use.
    /// </summary>
    private sealed class Side
    {
        private readonly int _rows, _k;
        private readonly Attributes _attrs;
        private readonly double[] _p, _b, _y, _w;
        // Priors: [0] the ids, [1 + g] attribute group g; factor priors per group and dimension.
        private readonly double[] _biasMean, _biasPrec, _factorMean, _factorPrec;
        // Attribute → (row, weight) lists, the transpose of _attrs.
        private readonly int[] _aOff, _aRow;
        private readonly float[] _aWeight;
        private readonly double[] _sum, _hh, _delta;

        public Side(int rows, int k, Attributes attrs, SeededRandom rng, double initStd)
        {
            _rows = rows;
            _k = k;
            _attrs = attrs;
            int na = attrs.Count, groups = attrs.GroupStarts.Length;
            _p = new double[rows * k];
            _y = new double[na * k];
            for (int j = 0; j < _p.Length; j++)
                _p[j] = rng.NextNormal() * initStd;
            for (int j = 0; j < _y.Length; j++)
                _y[j] = rng.NextNormal() * initStd;
            _b = new double[rows];
            _w = new double[na];
            _biasMean = new double[groups];
            _biasPrec = new double[groups];
            _factorMean = new double[groups * k];
            _factorPrec = new double[groups * k];
            Array.Fill(_biasPrec, 1.0);
            Array.Fill(_factorPrec, 1.0);
            Effective = new double[rows * k];
            EffectiveBias = new double[rows];
            _aOff = new int[na + 1];
            foreach (int a in attrs.Ids)
                _aOff[a + 1]++;
            for (int a = 0; a < na; a++)
                _aOff[a + 1] += _aOff[a];
            _aRow = new int[attrs.Ids.Length];
            _aWeight = new float[attrs.Ids.Length];
            int[] fill = (int[])_aOff.Clone();
            for (int r = 0; r < rows; r++)
                for (int c = attrs.Offsets[r]; c < attrs.Offsets[r + 1]; c++)
                {
                    int at = fill[attrs.Ids[c]]++;
                    _aRow[at] = r;
                    _aWeight[at] = attrs.Weights[c];
                }
            _sum = new double[rows];
            _hh = new double[rows];
            _delta = new double[rows];
        }

        public double[] Effective { get; }

        public double[] EffectiveBias { get; }

        public void Compose()
        {
            Array.Copy(_p, Effective, _p.Length);
            Array.Copy(_b, EffectiveBias, _b.Length);
            for (int r = 0; r < _rows; r++)
                for (int c = _attrs.Offsets[r]; c < _attrs.Offsets[r + 1]; c++)
                {
                    int a = _attrs.Ids[c];
                    double x = _attrs.Weights[c];
                    EffectiveBias[r] += x * _w[a];
                    for (int f = 0; f < _k; f++)
                        Effective[r * _k + f] += x * _y[a * _k + f];
                }
        }

        public void DrawPriors(SeededRandom rng)
        {
            int groups = _biasMean.Length;
            (_biasMean[0], _biasPrec[0]) = DrawPrior(rng, _b, 0, 1, _rows, _biasPrec[0]);
            for (int f = 0; f < _k; f++)
                (_factorMean[f], _factorPrec[f]) = DrawPrior(rng, _p, f, _k, _rows, _factorPrec[f]);
            for (int g = 0; g + 1 < groups; g++)
            {
                int first = _attrs.GroupStarts[g], count = _attrs.GroupStarts[g + 1] - first;
                if (count == 0)
                    continue;
                (_biasMean[g + 1], _biasPrec[g + 1]) = DrawPrior(rng, _w, first, 1, count, _biasPrec[g + 1]);
                for (int f = 0; f < _k; f++)
                    (_factorMean[(g + 1) * _k + f], _factorPrec[(g + 1) * _k + f]) = DrawPrior(rng, _y, first * _k + f, _k, count, _factorPrec[(g + 1) * _k + f]);
            }
        }

        /// <summary>
        /// Draws this side's column <paramref name="f"/> (or the biases): ids, then attributes, each from its
        /// exact conditional. <paramref name="h"/> holds the derivative of each rating's prediction by the
        /// row's effective value (the other side's column f, or 1), in user-CSR order; a row's ratings are
        /// <c>positions[offsets[r]..offsets[r+1]]</c> (identity when <paramref name="positions"/> is null).
        /// Per row it keeps <c>Σ h·e</c> and <c>Σ h²</c>, so an attribute's draw costs its rows, not their
        /// ratings; the residuals take the summed change of each row at the end.
        /// </summary>
        public void DrawDimension(SeededRandom rng, double alpha, double[] e, double[] h, int[] offsets, int[]? positions, int[] counts, bool bias, int f)
        {
            for (int r = 0; r < _rows; r++)
            {
                double s = 0, hh = 0;
                for (int c = offsets[r]; c < offsets[r + 1]; c++)
                {
                    int t = positions is null ? c : positions[c];
                    s += h[t] * e[t];
                    hh += h[t] * h[t];
                }
                _sum[r] = s;
                _hh[r] = bias ? counts[r] : hh;
                _delta[r] = 0;
            }
            double[] ids = bias ? _b : _p;
            int stride = bias ? 1 : _k, col = bias ? 0 : f;
            double mean = bias ? _biasMean[0] : _factorMean[f], prec0 = bias ? _biasPrec[0] : _factorPrec[f];
            for (int r = 0; r < _rows; r++)
            {
                double theta = ids[r * stride + col];
                double prec = alpha * _hh[r] + prec0;
                double w = (alpha * (_sum[r] + theta * _hh[r]) + mean * prec0) / prec + rng.NextNormal() / Math.Sqrt(prec);
                double d = w - theta;
                _sum[r] -= d * _hh[r];
                _delta[r] += d;
                ids[r * stride + col] = w;
            }
            double[] attrs = bias ? _w : _y;
            int groups = _biasMean.Length;
            for (int g = 0; g + 1 < groups; g++)
            {
                double gm = bias ? _biasMean[g + 1] : _factorMean[(g + 1) * _k + f];
                double gp = bias ? _biasPrec[g + 1] : _factorPrec[(g + 1) * _k + f];
                for (int a = _attrs.GroupStarts[g]; a < _attrs.GroupStarts[g + 1]; a++)
                {
                    double theta = attrs[a * stride + col], s = 0, hh = 0;
                    for (int c = _aOff[a]; c < _aOff[a + 1]; c++)
                    {
                        int r = _aRow[c];
                        double x = _aWeight[c];
                        s += x * _sum[r];
                        hh += x * x * _hh[r];
                    }
                    double prec = alpha * hh + gp;
                    double w = (alpha * (s + theta * hh) + gm * gp) / prec + rng.NextNormal() / Math.Sqrt(prec);
                    double d = w - theta;
                    for (int c = _aOff[a]; c < _aOff[a + 1]; c++)
                    {
                        int r = _aRow[c];
                        double x = _aWeight[c];
                        _sum[r] -= d * x * _hh[r];
                        _delta[r] += d * x;
                    }
                    attrs[a * stride + col] = w;
                }
            }
            // Apply each row's total change to its ratings' residuals and its effective value.
            double[] eff = bias ? EffectiveBias : Effective;
            for (int r = 0; r < _rows; r++)
            {
                double d = _delta[r];
                if (d == 0)
                    continue;
                eff[r * stride + col] += d;
                for (int c = offsets[r]; c < offsets[r + 1]; c++)
                {
                    int t = positions is null ? c : positions[c];
                    e[t] -= d * h[t];
                }
            }
        }
    }

    /// <summary>
    /// The attributes of each row: with <paramref name="implicitItems"/> first the rows of the other side it
    /// rated (weight <c>|N(r)|^−½</c>, one prior group: SVD++'s implicit term, or its mirror for items), then named features (weight
    /// <c>m^−½</c> for a row with m of them), one prior group per prefix before '=' (the whole name if none).
    /// </summary>
    internal static Attributes Build(IdMap rows, int[]? implicitOffsets, int[]? implicitItems, int implicitCount,
        IReadOnlyDictionary<int, IReadOnlyList<string>>? features)
    {
        int n = rows.Count;
        var names = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        if (features is not null)
            foreach (var (id, list) in features)
                if (rows.IndexOf(id) >= 0)
                    foreach (string name in list)
                    {
                        int eq = name.IndexOf('=');
                        string group = eq < 0 ? name : name[..eq];
                        if (!names.TryGetValue(group, out var set))
                            names[group] = set = new SortedSet<string>(StringComparer.Ordinal);
                        set.Add(name);
                    }
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var starts = new List<int> { 0 };
        int next = 0;
        if (implicitOffsets is not null)
        {
            next = implicitCount;
            starts.Add(next);
        }
        foreach (var set in names.Values)
        {
            foreach (string name in set)
                index[name] = next++;
            starts.Add(next);
        }
        var offsets = new int[n + 1];
        var ids = new List<int>();
        var weights = new List<float>();
        for (int r = 0; r < n; r++)
        {
            if (implicitOffsets is not null)
            {
                int count = implicitOffsets[r + 1] - implicitOffsets[r];
                for (int c = implicitOffsets[r]; c < implicitOffsets[r + 1]; c++)
                {
                    ids.Add(implicitItems![c]);
                    weights.Add(1 / MathF.Sqrt(count));
                }
            }
            if (features is not null && features.TryGetValue(rows.Ids[r], out var list))
            {
                var distinct = list.Distinct(StringComparer.Ordinal).ToArray();
                foreach (string name in distinct)
                {
                    ids.Add(index[name]);
                    weights.Add(1 / MathF.Sqrt(distinct.Length));
                }
            }
            offsets[r + 1] = ids.Count;
        }
        return new Attributes(offsets, [.. ids], [.. weights], [.. starts]);
    }

    private static void Report(int sweep, RecommenderOptions o, double loss, IProgress<TrainingProgress>? progress)
    {
        if (!double.IsFinite(loss))
            throw new Diagnostics.NonFiniteException(Diagnostics.ThrowHelper.Format("recommender.train", $"the training loss became {loss} in sweep {sweep}"), sweep, -1, -1);
        progress?.Report(new TrainingProgress(sweep, o.Epochs, loss));
    }

    /// <summary>
    /// Draws a group's prior mean m and precision λ from their conditionals given its values
    /// <c>values[first + j·stride]</c>, j &lt; count: m | λ first (with the current λ), then λ | m (libFM's order).
    /// </summary>
    internal static (double Mean, double Precision) DrawPrior(SeededRandom rng, double[] values, int first, int stride, int count, double lambda)
    {
        double sum = 0;
        for (int j = 0; j < count; j++)
            sum += values[first + j * stride];
        double mean = sum / (count + Gamma0) + rng.NextNormal() / Math.Sqrt((count + Gamma0) * lambda);
        double ss = 0;
        for (int j = 0; j < count; j++)
        {
            double d = values[first + j * stride] - mean;
            ss += d * d;
        }
        double precision = Gamma(rng, (AlphaLambda + count + 1) / 2, (BetaLambda + ss + Gamma0 * mean * mean) / 2);
        return (mean, precision);
    }

    /// <summary>A Gamma(shape, rate) draw (Marsaglia &amp; Tsang 2000; shape &lt; 1 by the boost <c>G(a+1)·U^{1/a}</c>).</summary>
    internal static double Gamma(SeededRandom rng, double shape, double rate)
    {
        if (shape < 1)
        {
            double u = rng.NextDouble();
            return Gamma(rng, shape + 1, rate) * Math.Pow(Math.Max(u, double.Epsilon), 1 / shape);
        }
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = rng.NextNormal();
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double u = rng.NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(Math.Max(u, double.Epsilon)) < 0.5 * x * x + d * (1 - v + Math.Log(v)))
                return d * v / rate;
        }
    }
}
