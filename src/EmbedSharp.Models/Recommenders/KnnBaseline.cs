using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Data;

namespace EmbedSharp.Models.Recommenders;

/// <summary>Hyper-parameters of <see cref="KnnBaseline"/> (defaults: Surprise's KNNBaseline with item-based pearson-baseline similarity).</summary>
public sealed record KnnBaselineOptions
{
    /// <summary>Most neighbours (the user's rated items most similar to the target) per prediction.</summary>
    public int Neighbors { get; init; } = 40;

    /// <summary>Shrinkage s: a similarity over n common raters is multiplied by <c>(n − 1) / (n − 1 + s)</c>.</summary>
    public double Shrinkage { get; init; } = 100;

    /// <summary>Alternating sweeps that fit the baseline biases.</summary>
    public int BaselineEpochs { get; init; } = 10;

    /// <summary>Penalty λ_u of the user biases: <c>b_u = Σ_i (r − μ − b_i) / (λ_u + |I(u)|)</c>.</summary>
    public double UserBiasRegularization { get; init; } = 15;

    /// <summary>Penalty λ_i of the item biases: <c>b_i = Σ_u (r − μ − b_u) / (λ_i + |U(i)|)</c>.</summary>
    public double ItemBiasRegularization { get; init; } = 10;

    /// <summary>Smallest rating (predictions are clipped to the scale).</summary>
    public float MinRating { get; init; } = 1;

    /// <summary>Largest rating.</summary>
    public float MaxRating { get; init; } = 5;

    internal void Validate()
    {
        const string op = "knn_baseline.train";
        Guard.InRange(op, Neighbors, 1, 100_001, nameof(Neighbors));
        Guard.Finite(op, Shrinkage, nameof(Shrinkage));
        Guard.InRange(op, BaselineEpochs, 0, 10_001, nameof(BaselineEpochs));
        Guard.Finite(op, UserBiasRegularization, nameof(UserBiasRegularization));
        Guard.Finite(op, ItemBiasRegularization, nameof(ItemBiasRegularization));
        if (Shrinkage < 0 || UserBiasRegularization < 0 || ItemBiasRegularization < 0)
            ThrowHelper.ArgumentOutOfRange(op, nameof(Shrinkage), Shrinkage, "Shrinkage and the bias penalties must be ≥ 0");
        Guard.Finite(op, MinRating, nameof(MinRating));
        Guard.Finite(op, MaxRating, nameof(MaxRating));
        if (!(MinRating <= MaxRating))
            ThrowHelper.ArgumentOutOfRange(op, nameof(MaxRating), MaxRating, $"MaxRating {MaxRating} must be ≥ MinRating {MinRating}");
    }
}

/// <summary>
/// Item-based neighbourhood model with baselines (Koren 2010, "Factor in the neighbors"; Surprise's
/// KNNBaseline): <c>r̂_ui = b_ui + Σ_{j∈N_k(i;u)} s_ij (r_uj − b_uj) / Σ_{j∈N_k(i;u)} s_ij</c>, with
/// <c>b_ui = μ + b_u + b_i</c> fitted by alternating regularised means and <c>s_ij</c> the shrunk
/// pearson-baseline similarity: the correlation of the baseline residuals over the users who rated both,
/// times <c>(n − 1)/(n − 1 + shrinkage)</c>. N_k(i;u) are the k items the user rated that are most
/// similar to i, positive similarities only.
/// </summary>
/// <remarks>
/// The similarity matrix is dense (<c>Items²</c> floats), so the model is for catalogues up to
/// <see cref="MaxItems"/> items (MovieLens-100K: 1 682, 11 MB). Training has no randomness.
/// </remarks>
public sealed class KnnBaseline
{
    /// <summary>The largest catalogue the dense similarity matrix is built for.</summary>
    public const int MaxItems = 16_384;

    private readonly float[] _similarity;
    private readonly int[] _userOffsets;
    private readonly int[] _userItems;
    private readonly float[] _userResiduals;

    private KnnBaseline(KnnBaselineOptions options, IdMap users, IdMap items, float mu, float[] bu, float[] bi, float[] similarity,
        int[] userOffsets, int[] userItems, float[] userResiduals)
    {
        Options = options;
        Users = users;
        Items = items;
        GlobalMean = mu;
        UserBias = bu;
        ItemBias = bi;
        _similarity = similarity;
        _userOffsets = userOffsets;
        _userItems = userItems;
        _userResiduals = userResiduals;
    }

    /// <summary>The options it was trained with.</summary>
    public KnnBaselineOptions Options { get; }

    /// <summary>Raw user ids ↔ rows.</summary>
    public IdMap Users { get; }

    /// <summary>Raw item ids ↔ rows.</summary>
    public IdMap Items { get; }

    /// <summary>μ.</summary>
    public float GlobalMean { get; }

    /// <summary>b_u.</summary>
    public float[] UserBias { get; }

    /// <summary>b_i.</summary>
    public float[] ItemBias { get; }

    /// <summary>The shrunk similarity of item rows <paramref name="i"/> and <paramref name="j"/> (0 without common raters).</summary>
    public float Similarity(int i, int j) => _similarity[(long)i * Items.Count + j];

    /// <summary>Fits the baselines and the similarities.</summary>
    /// <exception cref="ArgumentException">No ratings, or more than <see cref="MaxItems"/> items.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option out of range.</exception>
    public static KnnBaseline Train(RatingData data, KnnBaselineOptions options)
    {
        const string op = "knn_baseline.train";
        Guard.NotNull(op, data);
        Guard.NotNull(op, options);
        options.Validate();
        if (data.Count == 0)
            ThrowHelper.Argument(op, nameof(data), "there are no ratings to train on");
        var users = new IdMap(data.Users);
        var items = new IdMap(data.Items);
        int nu = users.Count, ni = items.Count;
        if (ni > MaxItems)
            ThrowHelper.Argument(op, nameof(data), $"{ni} items; the dense similarity matrix is built for at most {MaxItems}");
        var u = new int[data.Count];
        var it = new int[data.Count];
        for (int t = 0; t < data.Count; t++)
        {
            u[t] = users.IndexOf(data.Users[t]);
            it[t] = items.IndexOf(data.Items[t]);
        }
        double mu = data.Ratings.Average(r => (double)r);
        var bu = new double[nu];
        var bi = new double[ni];
        var userCount = new int[nu];
        var itemCount = new int[ni];
        for (int t = 0; t < data.Count; t++)
        {
            userCount[u[t]]++;
            itemCount[it[t]]++;
        }
        var sum = new double[Math.Max(nu, ni)];
        for (int epoch = 0; epoch < options.BaselineEpochs; epoch++)
        {
            Array.Clear(sum);
            for (int t = 0; t < data.Count; t++)
                sum[it[t]] += data.Ratings[t] - mu - bu[u[t]];
            for (int i = 0; i < ni; i++)
                bi[i] = sum[i] / (options.ItemBiasRegularization + itemCount[i]);
            Array.Clear(sum);
            for (int t = 0; t < data.Count; t++)
                sum[u[t]] += data.Ratings[t] - mu - bi[it[t]];
            for (int x = 0; x < nu; x++)
                bu[x] = sum[x] / (options.UserBiasRegularization + userCount[x]);
        }
        // Each user's rated items (rows ascending) with their baseline residuals.
        var offsets = new int[nu + 1];
        for (int x = 0; x < nu; x++)
            offsets[x + 1] = offsets[x] + userCount[x];
        var fill = (int[])offsets.Clone();
        var userItems = new int[data.Count];
        var residuals = new float[data.Count];
        for (int t = 0; t < data.Count; t++)
        {
            int at = fill[u[t]]++;
            userItems[at] = it[t];
            residuals[at] = (float)(data.Ratings[t] - mu - bu[u[t]] - bi[it[t]]);
        }
        for (int x = 0; x < nu; x++)
            Array.Sort(userItems, residuals, offsets[x], offsets[x + 1] - offsets[x]);
        float[] similarity = Similarities(ni, nu, offsets, userItems, residuals, options.Shrinkage);
        return new KnnBaseline(options, users, items, (float)mu, [.. bu.Select(b => (float)b)], [.. bi.Select(b => (float)b)], similarity,
            offsets, userItems, residuals);
    }

    /// <summary>Shrunk pearson-baseline similarities from co-rating sums (a user's repeated item counts once per rating).</summary>
    private static float[] Similarities(int ni, int nu, int[] offsets, int[] userItems, float[] residuals, double shrinkage)
    {
        long cells = (long)ni * ni;
        var product = new double[cells];
        var squares = new double[cells]; // squares[i·n + j] = Σ e_ui² over users who rated i and j
        var common = new int[cells];
        for (int x = 0; x < nu; x++)
        {
            int start = offsets[x], end = offsets[x + 1];
            for (int a = start; a < end; a++)
            {
                int i = userItems[a];
                double ei = residuals[a];
                long row = (long)i * ni;
                for (int b = start; b < end; b++)
                {
                    if (b == a)
                        continue;
                    int j = userItems[b];
                    double ej = residuals[b];
                    product[row + j] += ei * ej;
                    squares[row + j] += ei * ei;
                    common[row + j]++;
                }
            }
        }
        var similarity = new float[cells];
        for (int i = 0; i < ni; i++)
        {
            for (int j = 0; j < ni; j++)
            {
                long c = (long)i * ni + j;
                int n = common[c];
                double denominator = Math.Sqrt(squares[c] * squares[(long)j * ni + i]);
                if (i == j || n < 2 || denominator <= 0)
                    continue;
                similarity[c] = (float)(product[c] / denominator * (n - 1) / (n - 1 + shrinkage));
            }
        }
        return similarity;
    }

    /// <summary>
    /// The predicted rating for raw ids, clipped to the scale. Unknown ids fall back to the known
    /// baseline parts (μ alone if both are unknown); a user with no positively similar rated item gets b_ui.
    /// </summary>
    public float Predict(int user, int item)
    {
        int u = Users.IndexOf(user), i = Items.IndexOf(item);
        double baseline = GlobalMean + (u >= 0 ? UserBias[u] : 0) + (i >= 0 ? ItemBias[i] : 0);
        if (u < 0 || i < 0)
            return Math.Clamp((float)baseline, Options.MinRating, Options.MaxRating);
        int start = _userOffsets[u], count = _userOffsets[u + 1] - start;
        int k = Math.Min(Options.Neighbors, count);
        // The k most similar rated items by a partial selection (ties to the lower position).
        var sims = new float[count];
        var positions = new int[count];
        long row = (long)i * Items.Count;
        for (int t = 0; t < count; t++)
        {
            sims[t] = _similarity[row + _userItems[start + t]];
            positions[t] = t;
        }
        Array.Sort(positions, (a, b) => sims[b] != sims[a] ? sims[b].CompareTo(sims[a]) : a.CompareTo(b));
        double numerator = 0, weight = 0;
        for (int n = 0; n < k; n++)
        {
            int t = positions[n];
            if (sims[t] <= 0)
                break;
            numerator += sims[t] * _userResiduals[start + t];
            weight += sims[t];
        }
        double estimate = weight > 0 ? baseline + numerator / weight : baseline;
        return Math.Clamp((float)estimate, Options.MinRating, Options.MaxRating);
    }
}
