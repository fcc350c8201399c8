using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Data;
using EmbedSharp.Numerics;

namespace EmbedSharp.Models.Recommenders;

/// <summary>
/// Fits a <see cref="FactorModel"/> of <see cref="RecommenderOptions.Kind"/> to interactions. SGD kinds
/// run on one thread in a seeded order (same seed, same bits); ALS sweeps solve rows in parallel, each
/// row independently, so their results do not depend on the thread count either.
/// </summary>
// Size: ~530 lines: the entry point that dispatches each RecommenderKind and the SGD, ALS and BPR loops it runs.
// Each loop is short; they share the data preparation and the returned FactorModel's layout.
public static class RecommenderTrainer
{
    /// <summary>Trains on <paramref name="data"/>; progress is reported after every epoch.</summary>
    /// <exception cref="ArgumentException">No interactions.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option out of range.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (checked between epochs).</exception>
    /// <exception cref="Diagnostics.NonFiniteException">The loss became NaN or infinite (lower the learning rate).</exception>
    public static FactorModel Train(RatingData data, RecommenderOptions options, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        const string op = "recommender.train";
        Guard.NotNull(op, data);
        Guard.NotNull(op, options);
        options.Validate();
        if (data.Count == 0)
            ThrowHelper.Argument(op, nameof(data), "there are no interactions to train on");
        var users = new IdMap(data.Users);
        var items = new IdMap(data.Items);
        var model = new FactorModel(options.Kind, options.Kind == RecommenderKind.BayesianMf ? options.Factors * options.Samples : options.Factors, users, items, options);
        var set = Interactions.Build(data, users, items);
        model.SeenOffsets = set.UserOffsets;
        model.SeenItems = set.UserItems;
        model.SeenValues = set.UserValues;
        var rng = new SeededRandom(options.Seed);
        if (options.Kind != RecommenderKind.BayesianMf)
        {
            FillNormal(model.UserFactors, options.InitStd, rng);
            FillNormal(model.ItemFactors, options.InitStd, rng);
        }
        if (model.IsExplicit)
            model.GlobalMean = (float)data.Ratings.Average(r => (double)r);
        switch (options.Kind)
        {
            case RecommenderKind.MatrixFactorization:
                Sgd(model, set, options, rng, progress, cancellationToken);
                break;
            case RecommenderKind.SvdPlusPlus:
                model.ImplicitFactors = new float[model.ItemFactors.Length];
                SvdPlusPlus(model, set, options, rng, progress, cancellationToken);
                break;
            case RecommenderKind.ExplicitAls:
                ExplicitAls(model, set, options, progress, cancellationToken);
                break;
            case RecommenderKind.ImplicitAls:
                ImplicitAls(model, set, options, progress, cancellationToken);
                break;
            case RecommenderKind.Bpr:
                Bpr(model, set, options, rng, progress, cancellationToken);
                break;
            case RecommenderKind.BayesianMf:
            {
                var userAttrs = BayesianMf.Build(users, null, null, 0, options.UserFeatures);
                if (options.ImplicitFeedback)
                {
                    var (offsets, rated) = ImplicitSets(set, users, items, options.ImplicitInteractions);
                    userAttrs = BayesianMf.Build(users, offsets, rated, items.Count, options.UserFeatures);
                }
                var itemAttrs = BayesianMf.Build(items, null, null, 0, options.ItemFeatures);
                if (options.ItemImplicitFeedback)
                {
                    var (offsets, raters) = ImplicitSets(set, users, items, options.ImplicitInteractions, byItem: true);
                    itemAttrs = BayesianMf.Build(items, offsets, raters, users.Count, options.ItemFeatures);
                }
                BayesianMf.Train(model, set, options, userAttrs, itemAttrs, rng, progress, cancellationToken);
                break;
            }
            case RecommenderKind.TwoTower:
                TwoTowers(model, set, options, rng, progress, cancellationToken);
                break;
        }
        return model;
    }

    /// <summary>
    /// Each user's training items plus the known items of <paramref name="extra"/>'s pairs, as CSR over user
    /// rows (items ascending, distinct); with <paramref name="byItem"/> each item's users instead.
    /// </summary>
    private static (int[] Offsets, int[] Others) ImplicitSets(Interactions set, IdMap users, IdMap items, RatingData? extra, bool byItem = false)
    {
        int rows = byItem ? items.Count : users.Count;
        var lists = new SortedSet<int>[rows];
        for (int r = 0; r < rows; r++)
            lists[r] = [.. (byItem ? set.ItemUsersOf(r) : set.UserItemsOf(r)).ToArray()];
        if (extra is not null)
            for (int t = 0; t < extra.Count; t++)
            {
                int u = users.IndexOf(extra.Users[t]), i = items.IndexOf(extra.Items[t]);
                if (u >= 0 && i >= 0)
                    lists[byItem ? i : u].Add(byItem ? u : i);
            }
        var offsets = new int[rows + 1];
        var all = new List<int>();
        for (int r = 0; r < rows; r++)
        {
            all.AddRange(lists[r]);
            offsets[r + 1] = all.Count;
        }
        return (offsets, [.. all]);
    }

    private static void FillNormal(float[] values, double std, SeededRandom rng)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(rng.NextNormal() * std);
    }

    private static void Report(string op, int epoch, RecommenderOptions o, double loss, IProgress<TrainingProgress>? progress)
    {
        if (!double.IsFinite(loss))
            throw new Diagnostics.NonFiniteException(ThrowHelper.Format(op, $"the training loss became {loss} in epoch {epoch}; lower the learning rate or raise the regularization"), epoch, -1, -1);
        progress?.Report(new TrainingProgress(epoch, o.Epochs, loss));
    }

    private static void Shuffle(int[] order, SeededRandom rng)
    {
        for (int k = order.Length - 1; k > 0; k--)
        {
            int j = rng.NextInt(k + 1);
            (order[k], order[j]) = (order[j], order[k]);
        }
    }

    /// <summary>Biased MF by SGD: <c>e = r − r̂; b += lr(e − λ_b b); p += lr(e q − λ p); q += lr(e p − λ q)</c>.</summary>
    private static void Sgd(FactorModel m, Interactions set, RecommenderOptions o, SeededRandom rng, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        int[] order = Enumerable.Range(0, set.Count).ToArray();
        double lr = o.LearningRate;
        float reg = (float)o.Regularization, regQ = (float)(o.ItemRegularization ?? o.Regularization), regB = (float)o.BiasRegularization, mu = m.GlobalMean;
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            ct.ThrowIfCancellationRequested();
            Shuffle(order, rng);
            double loss = SgdEpoch(m, set, order, (float)lr, reg, regQ, regB, mu);
            lr *= o.LearningRateDecay;
            Report("recommender.train", epoch, o, loss, progress);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SgdEpoch(FactorModel m, Interactions set, int[] order, float lr, float reg, float regQ, float regB, float mu)
    {
        int k = m.Factors;
        float[] p = m.UserFactors, q = m.ItemFactors, bu = m.UserBias, bi = m.ItemBias;
        double loss = 0;
        foreach (int t in order)
        {
            int u = set.Users[t], i = set.Items[t];
            Span<float> pu = p.AsSpan(u * k, k), qi = q.AsSpan(i * k, k);
            float e = set.Values[t] - (mu + bu[u] + bi[i] + TensorPrimitives.Dot(pu, qi));
            loss += (double)e * e;
            bu[u] += lr * (e - regB * bu[u]);
            bi[i] += lr * (e - regB * bi[i]);
            UpdatePair(pu, qi, lr * e, lr * reg, lr * regQ);
        }
        return loss / order.Length;
    }

    /// <summary><c>p' = p + a·q − c·p</c>, <c>q' = q + a·p − c_q·q</c> with the old p and q on both right-hand sides.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UpdatePair(Span<float> p, Span<float> q, float a, float c, float cq)
    {
        int d = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var va = new Vector<float>(a);
            var vc = new Vector<float>(c);
            var vcq = new Vector<float>(cq);
            for (; d <= p.Length - Vector<float>.Count; d += Vector<float>.Count)
            {
                var vp = new Vector<float>(p[d..]);
                var vq = new Vector<float>(q[d..]);
                (vp + va * vq - vc * vp).CopyTo(p[d..]);
                (vq + va * vp - vcq * vq).CopyTo(q[d..]);
            }
        }
        for (; d < p.Length; d++)
        {
            float pd = p[d], qd = q[d];
            p[d] = pd + a * qd - c * pd;
            q[d] = qd + a * pd - cq * qd;
        }
    }

    /// <summary>
    /// SVD++ by SGD, one user at a time: <c>z = p_u + |N(u)|^−½ Σ y_j</c> is formed once per user, the
    /// user's ratings update b, p and q as in MF with z in place of p, and the y_j of N(u) (the user's
    /// training items) take one step with the summed gradient <c>|N(u)|^−½ Σ e·q_i</c> at the end of the user.
    /// The stored user vector is z, so scoring is MF's.
    /// </summary>
    private static void SvdPlusPlus(FactorModel m, Interactions set, RecommenderOptions o, SeededRandom rng, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        int k = m.Factors, users = m.Users.Count;
        float[] y = m.ImplicitFactors!;
        FillNormal(y, o.InitStd * 0.1, rng);
        float[] p = m.UserFactors, q = m.ItemFactors, bu = m.UserBias, bi = m.ItemBias;
        float mu = m.GlobalMean, reg = (float)o.Regularization, regB = (float)o.BiasRegularization;
        int[] userOrder = Enumerable.Range(0, users).ToArray();
        var z = new float[k];
        var acc = new float[k];
        var implicitSum = new float[k];
        double lr = o.LearningRate;
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            ct.ThrowIfCancellationRequested();
            Shuffle(userOrder, rng);
            float a = (float)lr;
            double loss = 0;
            foreach (int u in userOrder)
            {
                ReadOnlySpan<int> its = set.UserItemsOf(u);
                ReadOnlySpan<float> rs = set.UserValuesOf(u);
                if (its.Length == 0)
                    continue;
                float norm = 1 / MathF.Sqrt(its.Length);
                implicitSum.AsSpan().Clear();
                foreach (int j in its)
                    TensorPrimitives.Add(implicitSum, y.AsSpan(j * k, k), implicitSum);
                TensorPrimitives.Multiply(implicitSum, norm, implicitSum);
                acc.AsSpan().Clear();
                Span<float> pu = p.AsSpan(u * k, k);
                for (int t = 0; t < its.Length; t++)
                {
                    int i = its[t];
                    Span<float> qi = q.AsSpan(i * k, k);
                    TensorPrimitives.Add(pu, implicitSum, z);
                    float e = rs[t] - (mu + bu[u] + bi[i] + TensorPrimitives.Dot(z, qi));
                    loss += (double)e * e;
                    bu[u] += a * (e - regB * bu[u]);
                    bi[i] += a * (e - regB * bi[i]);
                    for (int d = 0; d < k; d++)
                    {
                        float qd = qi[d];
                        acc[d] += e * qd;
                        qi[d] = qd + a * (e * z[d] - reg * qd);
                        pu[d] += a * (e * qd - reg * pu[d]);
                    }
                }
                foreach (int j in its)
                {
                    Span<float> yj = y.AsSpan(j * k, k);
                    for (int d = 0; d < k; d++)
                        yj[d] += a * (norm * acc[d] - reg * yj[d]);
                }
            }
            lr *= o.LearningRateDecay;
            Report("recommender.train", epoch, o, loss / set.Count, progress);
        }
        // Store z so scoring is μ + b_u + b_i + z·q.
        for (int u = 0; u < users; u++)
        {
            ReadOnlySpan<int> its = set.UserItemsOf(u);
            if (its.Length == 0)
                continue;
            float norm = 1 / MathF.Sqrt(its.Length);
            Span<float> pu = p.AsSpan(u * k, k);
            foreach (int j in its)
                TensorPrimitives.MultiplyAdd(y.AsSpan(j * k, k), norm, pu, pu);
        }
    }

    /// <summary>Biased ALS with ALS-WR regularisation (λ·n per row), users then items per sweep.</summary>
    private static void ExplicitAls(FactorModel m, Interactions set, RecommenderOptions o, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        int k = m.Factors;
        float mu = m.GlobalMean;
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            ct.ThrowIfCancellationRequested();
            ParallelWork.For(m.Users.Count, 16, ParallelWork.DefaultThreads, (first, last) =>
            {
                for (int u = first; u < last; u++)
                {
                    ReadOnlySpan<int> its = set.UserItemsOf(u);
                    if (its.Length > 0)
                        m.UserBias[u] = Solvers.SolveExplicitRow(m.ItemFactors, m.ItemBias, mu, k, its, set.UserValuesOf(u),
                            o.Regularization * its.Length, o.BiasRegularization * its.Length, m.UserFactors.AsSpan(u * k, k));
                }
            });
            ParallelWork.For(m.Items.Count, 16, ParallelWork.DefaultThreads, (first, last) =>
            {
                for (int i = first; i < last; i++)
                {
                    ReadOnlySpan<int> us = set.ItemUsersOf(i);
                    if (us.Length > 0)
                        m.ItemBias[i] = Solvers.SolveExplicitRow(m.UserFactors, m.UserBias, mu, k, us, set.ItemValuesOf(i),
                            o.Regularization * us.Length, o.BiasRegularization * us.Length, m.ItemFactors.AsSpan(i * k, k));
                }
            });
            double loss = 0;
            for (int t = 0; t < set.Count; t++)
            {
                double e = set.Values[t] - m.ScoreRows(set.Users[t], set.Items[t]);
                loss += e * e;
            }
            Report("recommender.train", epoch, o, loss / set.Count, progress);
        }
    }

    /// <summary>
    /// Hu–Koren–Volinsky implicit ALS: confidence <c>1 + α·r</c>, each row by warm-started CG, its penalty
    /// λ or frequency-scaled <c>λ·(N + α·Σ r)^ν</c> (<see cref="RecommenderOptions.RegularizationExponent"/>).
    /// </summary>
    private static void ImplicitAls(FactorModel m, Interactions set, RecommenderOptions o, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        int k = m.Factors;
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            ct.ThrowIfCancellationRequested();
            double[] gramQ = Solvers.Gram(m.ItemFactors, m.Items.Count, k);
            ParallelWork.For(m.Users.Count, 16, ParallelWork.DefaultThreads, () => new double[4 * k], (scratch, first, last) =>
            {
                for (int u = first; u < last; u++)
                    Solvers.SolveImplicitRowCg(m.ItemFactors, gramQ, k, set.UserItemsOf(u), set.UserValuesOf(u), o.Alpha,
                        Solvers.ImplicitPenalty(o.Regularization, o.RegularizationExponent, o.Alpha, m.Items.Count, set.UserValuesOf(u)),
                        o.CgSteps, m.UserFactors.AsSpan(u * k, k), scratch);
            }, _ => { });
            double[] gramP = Solvers.Gram(m.UserFactors, m.Users.Count, k);
            ParallelWork.For(m.Items.Count, 16, ParallelWork.DefaultThreads, () => new double[4 * k], (scratch, first, last) =>
            {
                for (int i = first; i < last; i++)
                    Solvers.SolveImplicitRowCg(m.UserFactors, gramP, k, set.ItemUsersOf(i), set.ItemValuesOf(i), o.Alpha,
                        Solvers.ImplicitPenalty(o.Regularization, o.RegularizationExponent, o.Alpha, m.Users.Count, set.ItemValuesOf(i)),
                        o.CgSteps, m.ItemFactors.AsSpan(i * k, k), scratch);
            }, _ => { });
            // Loss over the observed cells only (the unobserved part is what the Gram trick avoids forming).
            double loss = 0;
            for (int t = 0; t < set.Count; t++)
            {
                double e = 1 - m.ScoreRows(set.Users[t], set.Items[t]);
                loss += (1 + o.Alpha * set.Values[t]) * e * e;
            }
            Report("recommender.train", epoch, o, loss / set.Count, progress);
        }
    }

    /// <summary>
    /// BPR by SGD: per positive (u, i) a uniform negative j the user has not seen; ascends
    /// <c>w_ui·log σ(b_i − b_j + p_u·(q_i − q_j))</c>, w_ui the interaction's value (1 for plain positives).
    /// </summary>
    private static void Bpr(FactorModel m, Interactions set, RecommenderOptions o, SeededRandom rng, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        int k = m.Factors, items = m.Items.Count;
        float[] p = m.UserFactors, q = m.ItemFactors, bi = m.ItemBias;
        float reg = (float)o.Regularization, regB = (float)o.BiasRegularization;
        int[] order = Enumerable.Range(0, set.Count).ToArray();
        var diff = new float[k];
        double lr = o.LearningRate;
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            ct.ThrowIfCancellationRequested();
            Shuffle(order, rng);
            float a = (float)lr;
            double loss = 0;
            foreach (int t in order)
            {
                int u = set.Users[t], i = set.Items[t];
                ReadOnlySpan<int> seen = set.UserItemsOf(u);
                if (seen.Length >= items)
                    continue;
                int j;
                do
                    j = rng.NextInt(items);
                while (seen.BinarySearch(j) >= 0);
                Span<float> pu = p.AsSpan(u * k, k), qi = q.AsSpan(i * k, k), qj = q.AsSpan(j * k, k);
                TensorPrimitives.Subtract(qi, qj, diff);
                float x = bi[i] - bi[j] + TensorPrimitives.Dot(pu, diff);
                // −log σ(x) and σ(−x), computed stably.
                loss += x > 0 ? Math.Log(1 + Math.Exp(-x)) : -x + Math.Log(1 + Math.Exp(x));
                // A weighted interaction (e.g. RatingData.RecencyWeighted) scales its pair's loss; 1 for plain data.
                float weight = set.Values[t];
                float g = weight * (float)(x > 0 ? Math.Exp(-x) / (1 + Math.Exp(-x)) : 1 / (1 + Math.Exp(x)));
                bi[i] += a * (g - regB * bi[i]);
                bi[j] += a * (-g - regB * bi[j]);
                for (int d = 0; d < k; d++)
                {
                    float pd = pu[d];
                    pu[d] = pd + a * (g * diff[d] - reg * pd);
                    qi[d] += a * (g * pd - reg * qi[d]);
                    qj[d] += a * (-g * pd - reg * qj[d]);
                }
            }
            lr *= o.LearningRateDecay;
            Report("recommender.train", epoch, o, loss / set.Count, progress);
        }
    }

    /// <summary>
    /// Two towers over the user and item rows (id tables of <c>Factors</c> dims, one hidden layer of
    /// 2·Factors, unit outputs), trained on the interactions in shuffled batches with in-batch
    /// negatives and log-Q of each item's share of the interactions; the encoded users (times the
    /// learned inverse temperature) and items become the factor tables.
    /// </summary>
    private static void TwoTowers(FactorModel m, Interactions set, RecommenderOptions o, SeededRandom rng, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        int k = m.Factors, users = m.Users.Count, items = m.Items.Count;
        using var model = new TwoTower(
            new Tower([new Tables.TableConfig("user", users, k, ["user"])], [2 * k], k, o.Seed),
            new Tower([new Tables.TableConfig("item", items, k, ["item"])], [2 * k], k, o.Seed + 1));
        var dense = new Dense.DenseAdam(model.DenseParameters, o.LearningRate);
        var userOpt = new Dictionary<string, Optimizers.SparseOptimizer> { ["user"] = Optimizers.FusedSparseBackward.Create(model.Users.Tables["user"], new Optimizers.Adam(o.LearningRate)) };
        var itemOpt = new Dictionary<string, Optimizers.SparseOptimizer> { ["item"] = Optimizers.FusedSparseBackward.Create(model.Items.Tables["item"], new Optimizers.Adam(o.LearningRate)) };
        try
        {
            var logQ = new float[items];
            for (int i = 0; i < items; i++)
                logQ[i] = (float)Math.Log(Math.Max(set.ItemOffsets[i + 1] - set.ItemOffsets[i], 1) / (double)set.Count);
            int b = Math.Min(o.BatchSize, set.Count);
            int[] order = Enumerable.Range(0, set.Count).ToArray();
            int[] offsets = [.. Enumerable.Range(0, b + 1)];
            var us = new int[b];
            var its = new int[b];
            var q = new float[b];
            for (int epoch = 1; epoch <= o.Epochs; epoch++)
            {
                ct.ThrowIfCancellationRequested();
                Shuffle(order, rng);
                double loss = 0;
                int steps = 0;
                for (int start = 0; start + b <= order.Length; start += b)
                {
                    for (int t = 0; t < b; t++)
                    {
                        us[t] = set.Users[order[start + t]];
                        its[t] = set.Items[order[start + t]];
                        q[t] = logQ[its[t]];
                    }
                    loss += model.TrainStep(new Tables.KeyedBatch(b).Add("user", (int[])us.Clone(), offsets), new Tables.KeyedBatch(b).Add("item", (int[])its.Clone(), offsets),
                        q, dense, userOpt, itemOpt);
                    steps++;
                }
                Report("recommender.train", epoch, o, loss / Math.Max(steps, 1), progress);
            }
            float scale = (float)(1 / model.Loss.Temperature);
            float[] u = model.Users.Encode(new Tables.KeyedBatch(users).Add("user", [.. Enumerable.Range(0, users)], [.. Enumerable.Range(0, users + 1)]));
            float[] v = model.Items.Encode(new Tables.KeyedBatch(items).Add("item", [.. Enumerable.Range(0, items)], [.. Enumerable.Range(0, items + 1)]));
            TensorPrimitives.Multiply(u, scale, m.UserFactors);
            v.CopyTo(m.ItemFactors, 0);
        }
        finally
        {
            foreach (var opt in userOpt.Values.Concat(itemOpt.Values))
                opt.Dispose();
        }
    }
}

/// <summary>Training interactions as row indices, grouped by user (items ascending) and by item (users ascending).</summary>
internal sealed class Interactions
{
    public required int[] Users { get; init; }

    public required int[] Items { get; init; }

    public required float[] Values { get; init; }

    public required int[] UserOffsets { get; init; }

    public required int[] UserItems { get; init; }

    public required float[] UserValues { get; init; }

    public required int[] ItemOffsets { get; init; }

    public required int[] ItemUsers { get; init; }

    public required float[] ItemValues { get; init; }

    public int Count => Users.Length;

    public ReadOnlySpan<int> UserItemsOf(int u) => UserItems.AsSpan(UserOffsets[u], UserOffsets[u + 1] - UserOffsets[u]);

    public ReadOnlySpan<float> UserValuesOf(int u) => UserValues.AsSpan(UserOffsets[u], UserOffsets[u + 1] - UserOffsets[u]);

    public ReadOnlySpan<int> ItemUsersOf(int i) => ItemUsers.AsSpan(ItemOffsets[i], ItemOffsets[i + 1] - ItemOffsets[i]);

    public ReadOnlySpan<float> ItemValuesOf(int i) => ItemValues.AsSpan(ItemOffsets[i], ItemOffsets[i + 1] - ItemOffsets[i]);

    public static Interactions Build(RatingData data, IdMap users, IdMap items)
    {
        int n = data.Count;
        var u = new int[n];
        var i = new int[n];
        for (int t = 0; t < n; t++)
        {
            u[t] = users.IndexOf(data.Users[t]);
            i[t] = items.IndexOf(data.Items[t]);
        }
        var (uo, ui, uv) = Group(u, i, data.Ratings, users.Count);
        var (io, iu, iv) = Group(i, u, data.Ratings, items.Count);
        return new Interactions
        {
            Users = u, Items = i, Values = data.Ratings,
            UserOffsets = uo, UserItems = ui, UserValues = uv,
            ItemOffsets = io, ItemUsers = iu, ItemValues = iv,
        };
    }

    /// <summary>CSR by <paramref name="keys"/>, each group's <paramref name="others"/> ascending.</summary>
    private static (int[] Offsets, int[] Others, float[] Values) Group(int[] keys, int[] others, float[] values, int groups)
    {
        var offsets = new int[groups + 1];
        foreach (int key in keys)
            offsets[key + 1]++;
        for (int g = 0; g < groups; g++)
            offsets[g + 1] += offsets[g];
        var fill = (int[])offsets.Clone();
        var o = new int[keys.Length];
        var v = new float[keys.Length];
        for (int t = 0; t < keys.Length; t++)
        {
            int at = fill[keys[t]]++;
            o[at] = others[t];
            v[at] = values[t];
        }
        for (int g = 0; g < groups; g++)
            Array.Sort(o, v, offsets[g], offsets[g + 1] - offsets[g]);
        return (offsets, o, v);
    }
}
