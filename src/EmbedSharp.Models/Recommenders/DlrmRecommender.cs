using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Data;
using EmbedSharp.Models.Dense;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Tables;

namespace EmbedSharp.Models.Recommenders;

/// <summary>
/// A <see cref="Dlrm"/> click model over MovieLens-style ratings and side files: sparse features are the
/// user id, the item id, the user's occupation, zip-code prefix (first three characters) and gender,
/// and the movie's genres (one summed bag); dense features are the user's age and the movie's release
/// year, standardised. The target is click-style: rating ≥ <see cref="ClickThreshold"/>.
/// </summary>
/// <remarks>
/// <para>Each table has a row 0 for values unseen in training (a user or item with no training
/// rating, an occupation not in the users file), so any pair can be scored. The model keeps the side
/// features of every user and movie it was given, so scoring needs only ids.</para>
/// <para>Training holds out a seeded <see cref="DlrmOptions.ValidationFraction"/> of the ratings, measures
/// validation AUC after every epoch, stops after <see cref="DlrmOptions.Patience"/> epochs without a
/// better one and restores the best epoch's weights (DLRM overfits MovieLens-100K after a few epochs).</para>
/// </remarks>
// Size: one type in two files (~570 lines): the model on MovieLens features and its training with early
// stopping (this file), and its ESDLRM01 file format. They share the feature vocabularies, which is why
// they are one type.
public sealed partial class DlrmRecommender : IDisposable
{
    /// <summary>The sparse features, in table order.</summary>
    public static IReadOnlyList<string> SparseFeatureNames { get; } = ["user", "item", "occupation", "zip3", "gender", "genre"];

    /// <summary>Dense inputs per row: standardised age and release year.</summary>
    public const int DenseFeatures = 2;

    private readonly Dictionary<int, UserSide> _users;
    private readonly Dictionary<int, ItemSide> _items;

    private DlrmRecommender(Dlrm model, float clickThreshold, IdMap trainedUsers, IdMap trainedItems, string[] occupations, string[] zip3s,
        Dictionary<int, UserSide> users, Dictionary<int, ItemSide> items, IReadOnlyList<int> bottomHidden, IReadOnlyList<int> topHidden)
    {
        Model = model;
        ClickThreshold = clickThreshold;
        TrainedUsers = trainedUsers;
        TrainedItems = trainedItems;
        Occupations = occupations;
        Zip3s = zip3s;
        _users = users;
        _items = items;
        BottomHidden = bottomHidden;
        TopHidden = topHidden;
    }

    /// <summary>The network.</summary>
    public Dlrm Model { get; }

    /// <summary>Ratings ≥ this were clicks in training.</summary>
    public float ClickThreshold { get; }

    /// <summary>Users with an id row (row = index + 1; 0 is the unknown row).</summary>
    public IdMap TrainedUsers { get; }

    /// <summary>Items with an id row (row = index + 1).</summary>
    public IdMap TrainedItems { get; }

    /// <summary>Occupation vocabulary (row = index + 1).</summary>
    public IReadOnlyList<string> Occupations { get; }

    /// <summary>Zip-prefix vocabulary (row = index + 1).</summary>
    public IReadOnlyList<string> Zip3s { get; }

    /// <summary>Bottom MLP hidden widths.</summary>
    public IReadOnlyList<int> BottomHidden { get; }

    /// <summary>Top MLP hidden widths.</summary>
    public IReadOnlyList<int> TopHidden { get; }

    /// <summary>The epoch whose weights were kept (1-based).</summary>
    public int BestEpoch { get; private set; }

    /// <summary>Epochs that ran before stopping.</summary>
    public int EpochsRun { get; private set; }

    /// <summary>Validation AUC of the kept epoch (NaN when trained without validation).</summary>
    public double ValidationAuc { get; private set; } = double.NaN;

    /// <summary>Users whose side features the model knows.</summary>
    public int KnownUsers => _users.Count;

    /// <summary>Items whose side features the model knows.</summary>
    public int KnownItems => _items.Count;

    // A user's or movie's side features as table rows and standardised values.
    internal readonly record struct UserSide(int Occupation, int Zip3, int Gender, float Age);

    internal readonly record struct ItemSide(float Year, int[] Genres);

    /// <summary>
    /// Trains on <paramref name="ratings"/> with the users' and movies' side features; every user and item
    /// of the ratings must be listed in <paramref name="users"/> and <paramref name="items"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No ratings, a duplicate side entry, or a rated user or item missing from the side lists.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option out of range.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (checked between batches).</exception>
    public static DlrmRecommender Train(RatingData ratings, IReadOnlyList<MovieLens.User> users, IReadOnlyList<MovieLens.Item> items,
        DlrmOptions options, IProgress<DlrmProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        const string op = "dlrm.train";
        Guard.NotNull(op, ratings);
        Guard.NotNull(op, users);
        Guard.NotNull(op, items);
        Guard.NotNull(op, options);
        options.Validate();
        if (ratings.Count == 0)
            ThrowHelper.Argument(op, nameof(ratings), "there are no ratings to train on");
        var userSide = BuildUsers(op, users, out string[] occupations, out string[] zip3s);
        var itemSide = BuildItems(op, items);
        for (int t = 0; t < ratings.Count; t++)
        {
            if (!userSide.ContainsKey(ratings.Users[t]))
                ThrowHelper.Argument(op, nameof(users), $"user {ratings.Users[t]} of rating {t + 1} is not listed in the users file; every rated user needs its side features");
            if (!itemSide.ContainsKey(ratings.Items[t]))
                ThrowHelper.Argument(op, nameof(items), $"item {ratings.Items[t]} of rating {t + 1} is not listed in the items file; every rated item needs its side features");
        }
        // The validation draw comes first so that the id rows cover only what the model trains on.
        var rng = new SeededRandom(options.Seed);
        int[] order = Enumerable.Range(0, ratings.Count).ToArray();
        Shuffle(order, rng);
        int valCount = options.ValidationFraction > 0 ? (int)Math.Round(options.ValidationFraction * ratings.Count) : 0;
        if (valCount > 0 && valCount >= ratings.Count)
            valCount = 0;
        RatingData validation = ratings.Select(order.AsSpan(0, valCount));
        int[] trainPositions = order[valCount..];
        Array.Sort(trainPositions);
        RatingData train = ratings.Select(trainPositions);
        var trainedUsers = new IdMap(train.Users);
        var trainedItems = new IdMap(train.Items);
        var tables = new TableConfig[]
        {
            new("user", trainedUsers.Count + 1, options.Dims, ["user"]),
            new("item", trainedItems.Count + 1, options.Dims, ["item"]),
            new("occupation", occupations.Length + 1, options.Dims, ["occupation"]),
            new("zip3", zip3s.Length + 1, options.Dims, ["zip3"]),
            new("gender", 3, options.Dims, ["gender"]),
            new("genre", MovieLens.GenreCount, options.Dims, ["genre"]),
        };
        var dlrm = new Dlrm(DenseFeatures, tables, options.BottomHidden, options.TopHidden, options.Seed);
        var model = new DlrmRecommender(dlrm, options.ClickThreshold, trainedUsers, trainedItems, occupations, zip3s, userSide, itemSide,
            [.. options.BottomHidden], [.. options.TopHidden]);
        try
        {
            model.Fit(train, validation, options, rng, progress, cancellationToken);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private void Fit(RatingData train, RatingData validation, DlrmOptions o, SeededRandom rng, IProgress<DlrmProgress>? progress, CancellationToken ct)
    {
        var dense = new DenseAdam(Model.DenseParameters, o.LearningRate);
        var sparseOptions = o.Threads > 0 ? new SparseOptimizerOptions { Threads = o.Threads } : new SparseOptimizerOptions();
        var sparse = Model.Tables.Configs.ToDictionary(c => c.Name,
            c => (SparseOptimizer)FusedSparseBackward.Create(Model.Tables[c.Name], new Adam(o.SparseLearningRate), sparseOptions));
        try
        {
            int[] order = Enumerable.Range(0, train.Count).ToArray();
            float[]? bestTables = null, bestDense = null;
            double best = double.NegativeInfinity;
            int sinceBest = 0;
            for (int epoch = 1; epoch <= o.MaxEpochs; epoch++)
            {
                Shuffle(order, rng);
                double loss = 0;
                int batches = 0;
                for (int start = 0; start < order.Length; start += o.BatchSize)
                {
                    ct.ThrowIfCancellationRequested();
                    int count = Math.Min(o.BatchSize, order.Length - start);
                    var (x, s) = Encode(train.Users, train.Items, order.AsSpan(start, count));
                    var labels = new float[count];
                    for (int k = 0; k < count; k++)
                        labels[k] = train.Ratings[order[start + k]] >= ClickThreshold ? 1 : 0;
                    loss += Model.TrainStep(x, s, labels, dense, sparse);
                    batches++;
                }
                loss /= Math.Max(batches, 1);
                if (!double.IsFinite(loss))
                    throw new NonFiniteException(ThrowHelper.Format("dlrm.train", $"the training loss became {loss} in epoch {epoch}; lower the learning rates"), epoch, -1, -1);
                EpochsRun = epoch;
                double auc = validation.Count > 0 ? Evaluate(validation).Auc : double.NaN;
                progress?.Report(new DlrmProgress(epoch, o.MaxEpochs, loss, auc));
                if (validation.Count == 0)
                {
                    BestEpoch = epoch;
                    continue;
                }
                if (bestTables is null || auc > best)
                {
                    best = auc;
                    BestEpoch = epoch;
                    ValidationAuc = auc;
                    sinceBest = 0;
                    (bestTables, bestDense) = Snapshot();
                }
                else if (++sinceBest >= o.Patience)
                {
                    break;
                }
            }
            if (bestTables is not null && BestEpoch != EpochsRun)
                Restore(bestTables, bestDense!);
        }
        finally
        {
            foreach (var opt in sparse.Values)
                opt.Dispose();
        }
    }

    private (float[] Tables, float[] Dense) Snapshot()
    {
        var tables = new List<float>();
        foreach (var c in Model.Tables.Configs)
            tables.AddRange(Model.Tables[c.Name].ToArray());
        var dense = new List<float>();
        foreach (var p in Model.DenseParameters)
            dense.AddRange(p.Value);
        return ([.. tables], [.. dense]);
    }

    private void Restore(float[] tables, float[] dense)
    {
        int at = 0;
        foreach (var c in Model.Tables.Configs)
        {
            int n = c.NumEmbeddings * c.Dims;
            Model.Tables[c.Name].CopyFrom(tables.AsSpan(at, n));
            at += n;
        }
        at = 0;
        foreach (var p in Model.DenseParameters)
        {
            dense.AsSpan(at, p.Length).CopyTo(p.Value);
            at += p.Length;
        }
    }

    private static void Shuffle(int[] order, SeededRandom rng)
    {
        for (int k = order.Length - 1; k > 0; k--)
        {
            int j = rng.NextInt(k + 1);
            (order[k], order[j]) = (order[j], order[k]);
        }
    }

    /// <summary>The features of the pairs (users[p], items[p]) for each p of <paramref name="positions"/>.</summary>
    internal (float[] Dense, KeyedBatch Sparse) Encode(int[] users, int[] items, ReadOnlySpan<int> positions)
    {
        int b = positions.Length;
        var dense = new float[b * DenseFeatures];
        int[] u = new int[b], i = new int[b], occ = new int[b], zip = new int[b], gender = new int[b];
        var genreOffsets = new int[b + 1];
        var genres = new List<int>();
        for (int k = 0; k < b; k++)
        {
            int user = users[positions[k]], item = items[positions[k]];
            u[k] = TrainedUsers.IndexOf(user) + 1;
            i[k] = TrainedItems.IndexOf(item) + 1;
            if (_users.TryGetValue(user, out var us))
            {
                (occ[k], zip[k], gender[k]) = (us.Occupation, us.Zip3, us.Gender);
                dense[k * DenseFeatures] = us.Age;
            }
            if (_items.TryGetValue(item, out var its))
            {
                dense[k * DenseFeatures + 1] = its.Year;
                genres.AddRange(its.Genres);
            }
            genreOffsets[k + 1] = genres.Count;
        }
        int[] offsets = [.. Enumerable.Range(0, b + 1)];
        var batch = new KeyedBatch(b).Add("user", u, offsets).Add("item", i, offsets).Add("occupation", occ, offsets)
            .Add("zip3", zip, offsets).Add("gender", gender, offsets).Add("genre", [.. genres], genreOffsets);
        return (dense, batch);
    }

    /// <summary>Click logits of the pairs (raw ids); unknown users or items use their unknown rows.</summary>
    /// <exception cref="ArgumentException">Lengths differ.</exception>
    public float[] PredictLogits(ReadOnlySpan<int> users, ReadOnlySpan<int> items)
    {
        const string op = "dlrm.predict";
        Guard.Length(op, items.Length, users.Length, "one item per user");
        int[] u = users.ToArray(), it = items.ToArray();
        var logits = new float[u.Length];
        const int chunk = 4096;
        for (int start = 0; start < u.Length; start += chunk)
        {
            int count = Math.Min(chunk, u.Length - start);
            int[] positions = [.. Enumerable.Range(start, count)];
            var (x, s) = Encode(u, it, positions);
            Model.Forward(x, s, logits.AsSpan(start, count));
        }
        return logits;
    }

    /// <summary>The click probability σ(logit) of one pair (raw ids).</summary>
    public float PredictProbability(int user, int item)
    {
        float logit = PredictLogits([user], [item])[0];
        return 1 / (1 + MathF.Exp(-logit));
    }

    /// <summary>AUC, log loss and accuracy of the click target (rating ≥ <see cref="ClickThreshold"/>) over <paramref name="test"/>.</summary>
    public ClickReport Evaluate(RatingData test)
    {
        Guard.NotNull("dlrm.evaluate", test);
        float[] logits = PredictLogits(test.Users, test.Items);
        var labels = new float[test.Count];
        double logLoss = 0;
        int right = 0, clicks = 0, unknown = 0;
        for (int t = 0; t < test.Count; t++)
        {
            labels[t] = test.Ratings[t] >= ClickThreshold ? 1 : 0;
            clicks += (int)labels[t];
            double x = logits[t];
            // −log σ(x) for a click, −log σ(−x) otherwise, computed stably.
            double z = labels[t] == 1 ? x : -x;
            logLoss += z > 0 ? Math.Log(1 + Math.Exp(-z)) : -z + Math.Log(1 + Math.Exp(z));
            if ((x >= 0) == (labels[t] == 1))
                right++;
            if (TrainedUsers.IndexOf(test.Users[t]) < 0 || TrainedItems.IndexOf(test.Items[t]) < 0)
                unknown++;
        }
        int n = Math.Max(test.Count, 1);
        double auc = test.Count == 0 ? double.NaN : Tabular.TabularModel.Auc(logits, labels);
        return new ClickReport(auc, logLoss / n, (double)right / n, test.Count, clicks, unknown);
    }

    private static Dictionary<int, UserSide> BuildUsers(string op, IReadOnlyList<MovieLens.User> users, out string[] occupations, out string[] zip3s)
    {
        var occ = new Dictionary<string, int>(StringComparer.Ordinal);
        var zip = new Dictionary<string, int>(StringComparer.Ordinal);
        double mean = users.Count == 0 ? 0 : users.Average(u => (double)u.Age);
        double std = users.Count == 0 ? 1 : Math.Sqrt(users.Average(u => (u.Age - mean) * (u.Age - mean)));
        if (!(std > 0))
            std = 1;
        var result = new Dictionary<int, UserSide>();
        foreach (var u in users)
        {
            string z3 = u.ZipCode.Length >= 3 ? u.ZipCode[..3] : u.ZipCode;
            if (!occ.TryGetValue(u.Occupation, out int o))
                occ[u.Occupation] = o = occ.Count + 1;
            if (!zip.TryGetValue(z3, out int zr))
                zip[z3] = zr = zip.Count + 1;
            int gender = u.Gender switch { "M" => 1, "F" => 2, _ => 0 };
            if (!result.TryAdd(u.Id, new UserSide(o, zr, gender, (float)((u.Age - mean) / std))))
                ThrowHelper.Argument(op, nameof(users), $"user {u.Id} is listed twice in the users file");
        }
        occupations = [.. occ.OrderBy(kv => kv.Value).Select(kv => kv.Key)];
        zip3s = [.. zip.OrderBy(kv => kv.Value).Select(kv => kv.Key)];
        return result;
    }

    private static Dictionary<int, ItemSide> BuildItems(string op, IReadOnlyList<MovieLens.Item> items)
    {
        var years = items.Where(i => i.Year is not null).Select(i => (double)i.Year!.Value).ToArray();
        double mean = years.Length == 0 ? 0 : years.Average();
        double std = years.Length == 0 ? 1 : Math.Sqrt(years.Average(y => (y - mean) * (y - mean)));
        if (!(std > 0))
            std = 1;
        var result = new Dictionary<int, ItemSide>();
        foreach (var i in items)
        {
            if (i.Genres.Any(g => (uint)g >= MovieLens.GenreCount))
                ThrowHelper.Argument(op, nameof(items), $"item {i.Id} has a genre outside 0..{MovieLens.GenreCount - 1}");
            float year = i.Year is int y ? (float)((y - mean) / std) : 0;
            if (!result.TryAdd(i.Id, new ItemSide(year, [.. i.Genres])))
                ThrowHelper.Argument(op, nameof(items), $"item {i.Id} is listed twice in the items file");
        }
        return result;
    }

    /// <summary>Frees the tables.</summary>
    public void Dispose() => Model.Dispose();
}
