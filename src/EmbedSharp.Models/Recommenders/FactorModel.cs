using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Data;
using EmbedSharp.Numerics;

namespace EmbedSharp.Models.Recommenders;

/// <summary>
/// A trained factor recommender: <c>score(u, i) = μ + b_u + b_i + p_u · q_i</c>, with the parts a kind
/// does not learn left at zero (implicit ALS has no biases, BPR only item biases). For SVD++ the stored
/// user vector already includes the implicit term <c>|N(u)|^−½ Σ y_j</c>.
/// </summary>
/// <remarks>
/// <para>The model keeps each user's training items, so recommending never needs the training matrix
/// passed in again, and <see cref="Recommend(int, int, bool)"/> leaves them out by default (say
/// <c>excludeSeen: false</c> to see them). A user unseen in training is folded in from a few
/// interactions with <see cref="FoldIn"/> — one regularised least-squares solve against the fixed item
/// factors — without retraining.</para>
/// <para>Explicit kinds clip predictions to the rating scale; an unknown item or user falls back to
/// the biases that are known (μ + b_u or μ + b_i).</para>
/// </remarks>
public sealed partial class FactorModel
{
    internal FactorModel(RecommenderKind kind, int factors, IdMap users, IdMap items, RecommenderOptions options)
    {
        Kind = kind;
        Factors = factors;
        Users = users;
        Items = items;
        UserFactors = new float[(long)users.Count * factors];
        ItemFactors = new float[(long)items.Count * factors];
        UserBias = new float[users.Count];
        ItemBias = new float[items.Count];
        MinRating = options.MinRating;
        MaxRating = options.MaxRating;
        Regularization = options.Regularization;
        Alpha = options.Alpha;
        RegularizationExponent = options.RegularizationExponent;
        SeenOffsets = new int[users.Count + 1];
        SeenItems = [];
        SeenValues = [];
    }

    /// <summary>What was trained.</summary>
    public RecommenderKind Kind { get; }

    /// <summary>Latent factors per row.</summary>
    public int Factors { get; }

    /// <summary>Raw user ids ↔ rows.</summary>
    public IdMap Users { get; }

    /// <summary>Raw item ids ↔ rows.</summary>
    public IdMap Items { get; }

    /// <summary>μ (0 for implicit kinds).</summary>
    public float GlobalMean { get; internal set; }

    /// <summary><c>[Users.Count, Factors]</c> row-major.</summary>
    public float[] UserFactors { get; }

    /// <summary><c>[Items.Count, Factors]</c> row-major: the item table, exportable as vectors.</summary>
    public float[] ItemFactors { get; }

    /// <summary>SVD++'s implicit item factors y (null for other kinds).</summary>
    public float[]? ImplicitFactors { get; internal set; }

    /// <summary>b_u (zeros where not learned).</summary>
    public float[] UserBias { get; }

    /// <summary>b_i (zeros where not learned).</summary>
    public float[] ItemBias { get; }

    /// <summary>Rating scale (explicit kinds clip to it).</summary>
    public float MinRating { get; }

    /// <summary>Rating scale (explicit kinds clip to it).</summary>
    public float MaxRating { get; }

    /// <summary>The factor penalty used when folding in a user.</summary>
    public double Regularization { get; }

    /// <summary>Implicit confidence slope used when folding in a user.</summary>
    public double Alpha { get; }

    /// <summary>Implicit ALS's frequency-scaling exponent ν (the fold-in penalty is <c>λ·(N + α·Σ r)^ν</c>; 0 for plain λ).</summary>
    public double RegularizationExponent { get; }

    /// <summary>Whether the kind predicts ratings (clipped to the scale) rather than ranking scores.</summary>
    public bool IsExplicit => Kind is RecommenderKind.MatrixFactorization or RecommenderKind.ExplicitAls or RecommenderKind.SvdPlusPlus or RecommenderKind.BayesianMf;

    // Each user's training items (rows ascending) and their ratings, CSR over user rows.
    internal int[] SeenOffsets { get; set; }

    internal int[] SeenItems { get; set; }

    internal float[] SeenValues { get; set; }

    /// <summary>The item rows user row <paramref name="user"/> interacted with in training, ascending.</summary>
    public ReadOnlySpan<int> SeenItemRows(int user) => SeenItems.AsSpan(SeenOffsets[user], SeenOffsets[user + 1] - SeenOffsets[user]);

    internal ReadOnlySpan<float> SeenRatings(int user) => SeenValues.AsSpan(SeenOffsets[user], SeenOffsets[user + 1] - SeenOffsets[user]);

    internal Span<float> UserRow(int u) => UserFactors.AsSpan(u * Factors, Factors);

    internal Span<float> ItemRow(int i) => ItemFactors.AsSpan(i * Factors, Factors);

    /// <summary>The score of rows (u, i), unclipped.</summary>
    internal float ScoreRows(int u, int i) =>
        GlobalMean + UserBias[u] + ItemBias[i] + TensorPrimitives.Dot(UserFactors.AsSpan(u * Factors, Factors), ItemFactors.AsSpan(i * Factors, Factors));

    /// <summary>
    /// The prediction for raw ids: explicit kinds give a rating clipped to the scale; implicit kinds
    /// give a ranking score. Unknown ids fall back to the known biases (μ alone if both are unknown).
    /// </summary>
    public float Predict(int user, int item)
    {
        int u = Users.IndexOf(user), i = Items.IndexOf(item);
        float s;
        if (u >= 0 && i >= 0)
            s = ScoreRows(u, i);
        else
            s = GlobalMean + (u >= 0 ? UserBias[u] : 0) + (i >= 0 ? ItemBias[i] : 0);
        return IsExplicit ? Math.Clamp(s, MinRating, MaxRating) : s;
    }

    /// <summary>Scores every item for a user vector and bias into <paramref name="destination"/> (GEMV over the item table).</summary>
    internal unsafe void ScoreAllRows(ReadOnlySpan<float> userVector, float userBias, Span<float> destination)
    {
        fixed (float* q = ItemFactors)
        fixed (float* p = userVector)
        fixed (float* y = destination)
            Gemv.MultiplyVector(q, Items.Count, Factors, p, y, 1);
        TensorPrimitives.Add(destination, ItemBias, destination);
        TensorPrimitives.Add(destination, GlobalMean + userBias, destination);
    }

    /// <summary>
    /// The top <paramref name="k"/> items for known user <paramref name="user"/> (raw id), best first (ties to
    /// the lower row). Items the user saw in training are left out unless <paramref name="excludeSeen"/> is false.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="user"/> was not in the training data (fold them in instead).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> &lt; 1.</exception>
    public IReadOnlyList<(int Item, float Score)> Recommend(int user, int k = 10, bool excludeSeen = true)
    {
        const string op = "recommend";
        Guard.Positive(op, k);
        int u = Users.IndexOf(user);
        if (u < 0)
            ThrowHelper.Argument(op, nameof(user), $"user {user} is not in the model ({Users.Count} users were trained); fold the user in from their interactions instead");
        return TopK(UserFactors.AsSpan(u * Factors, Factors), UserBias[u], excludeSeen ? SeenItemRows(u) : default, k);
    }

    /// <summary>The top <paramref name="k"/> items for a folded-in user (their interactions left out unless <paramref name="excludeSeen"/> is false).</summary>
    public IReadOnlyList<(int Item, float Score)> Recommend(FoldedUser user, int k = 10, bool excludeSeen = true)
    {
        const string op = "recommend";
        Guard.NotNull(op, user);
        Guard.Positive(op, k);
        Guard.Length(op, user.Vector.Length, Factors, "the model's factors");
        return TopK(user.Vector, user.Bias, excludeSeen ? user.ItemRows : default, k);
    }

    private List<(int Item, float Score)> TopK(ReadOnlySpan<float> vector, float bias, ReadOnlySpan<int> exclude, int k)
    {
        var scores = new float[Items.Count];
        ScoreAllRows(vector, bias, scores);
        foreach (int i in exclude)
            scores[i] = float.NegativeInfinity;
        int[] order = Enumerable.Range(0, scores.Length).Where(i => !float.IsNegativeInfinity(scores[i])).ToArray();
        // Stable sort by descending score: ties keep the lower row first.
        Array.Sort(order, Comparer<int>.Create((a, b) => scores[b] != scores[a] ? scores[b].CompareTo(scores[a]) : a.CompareTo(b)));
        return [.. order.Take(k).Select(i => (Items.Ids[i], IsExplicit ? Math.Clamp(scores[i], MinRating, MaxRating) : scores[i]))];
    }

    /// <summary>A user folded into a trained model (see <see cref="FoldIn"/>).</summary>
    /// <param name="Vector">Their factor vector.</param>
    /// <param name="Bias">Their bias (explicit kinds).</param>
    /// <param name="ItemRows">The item rows they interacted with, ascending (excluded when recommending).</param>
    public sealed record FoldedUser(float[] Vector, float Bias, int[] ItemRows);

    /// <summary>
    /// Folds a new user in from their interactions (raw item id, rating; use rating 1 for implicit
    /// data) without retraining: item factors stay fixed and the user's vector is one regularised
    /// least-squares solve — explicit kinds fit <c>r − μ − b_i ≈ p·q_i + b_u</c> (as an ALS half-step),
    /// implicit kinds (implicit ALS, BPR) solve Hu–Koren–Volinsky's weighted system with confidence
    /// <c>1 + α·r</c>. Items the model does not know are ignored.
    /// </summary>
    /// <exception cref="ArgumentException">No interaction names a known item.</exception>
    public FoldedUser FoldIn(IEnumerable<(int Item, float Rating)> interactions)
    {
        const string op = "recommend.fold_in";
        Guard.NotNull(op, interactions);
        var rows = new SortedDictionary<int, float>();
        foreach (var (item, rating) in interactions)
        {
            Guard.Finite(op, rating, "rating");
            int i = Items.IndexOf(item);
            if (i >= 0)
                rows[i] = rating;
        }
        if (rows.Count == 0)
            ThrowHelper.Argument(op, nameof(interactions), "none of the interactions names an item the model knows");
        int[] items = [.. rows.Keys];
        float[] values = [.. rows.Values];
        var vector = new float[Factors];
        float bias = 0;
        if (IsExplicit)
            bias = Solvers.SolveExplicitRow(ItemFactors, ItemBias, GlobalMean, Factors, items, values, Regularization * items.Length, Regularization, vector);
        else
            Solvers.SolveImplicitRowExact(ItemFactors, Solvers.Gram(ItemFactors, Items.Count, Factors), Factors, items, values, Alpha,
                Solvers.ImplicitPenalty(Regularization, RegularizationExponent, Alpha, Items.Count, values), vector);
        return new FoldedUser(vector, bias, items);
    }
}
