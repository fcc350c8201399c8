using System.Diagnostics;
using System.Numerics.Tensors;
using EmbedSharp.Stores;

namespace EmbedSharp.Orleans.Training;

/// <summary>Settings of <see cref="StoreFactorization.TrainAsync"/>.</summary>
public sealed record StoreFactorizationOptions
{
    /// <summary>Passes over the ratings.</summary>
    public int Epochs { get; init; } = 5;

    /// <summary>Ratings per mini-batch (each touches one user row and one item row).</summary>
    public int BatchSize { get; init; } = 2048;

    /// <summary>Adagrad's learning rate (the store runs Adagrad).</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Standard deviation of the initial rows.</summary>
    public double InitScale { get; init; } = 0.1;

    /// <summary>Seeds the initial rows and the shuffles.</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>One epoch of <see cref="StoreFactorization.TrainAsync"/>.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="Mse">Mean squared error of the epoch's predictions (made before each batch's update).</param>
/// <param name="Seconds">Wall time of the epoch.</param>
/// <param name="RatingsPerSecond">Ratings trained per second.</param>
/// <param name="RowsPerSecond">Rows gathered and updated per second (two per rating, counted once each way).</param>
public sealed record StoreFactorizationEpoch(int Epoch, double Mse, double Seconds, double RatingsPerSecond, double RowsPerSecond);

/// <summary>
/// A client that trains a matrix factorization whose rows live in any <see cref="IEmbeddingStore"/>: user u is row
/// <c>u</c>, item i is row <c>userCount + i</c>; the model predicts <c>μ + p_u · q_i</c> (μ the mean rating). Each
/// mini-batch gathers its rows in one call, computes the squared-error gradients here, sums them per row, and
/// sends one Adagrad step to the store, where the optimizer runs. Deterministic for a synchronous store: the
/// in-process store and an Orleans cluster give the same loss curve bit for bit.
/// </summary>
public static class StoreFactorization
{
    /// <summary>Initialises the rows (seeded normal values), then trains; returns one entry per epoch.</summary>
    /// <exception cref="ArgumentException">The arrays differ in length, hold negative ids or non-finite ratings, or the store is too small.</exception>
    public static async Task<IReadOnlyList<StoreFactorizationEpoch>> TrainAsync(IEmbeddingStore store, int[] users, int[] items, float[] ratings,
        StoreFactorizationOptions? options = null, Action<StoreFactorizationEpoch>? progress = null, CancellationToken cancellationToken = default)
    {
        const string op = "store.factorization";
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(users);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(ratings);
        options ??= new StoreFactorizationOptions();
        if (users.Length != items.Length || users.Length != ratings.Length)
            throw new ArgumentException($"[{op}] {users.Length} users, {items.Length} items and {ratings.Length} ratings; give one of each per rating");
        if (users.Length == 0)
            throw new ArgumentException($"[{op}] no ratings to train on");
        if (options.Epochs < 1 || options.BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"[{op}] Epochs and BatchSize must be at least 1");
        if (users.Any(u => u < 0) || items.Any(i => i < 0))
            throw new ArgumentException($"[{op}] user and item ids must be non-negative");
        if (ratings.Any(r => !float.IsFinite(r)))
            throw new ArgumentException($"[{op}] ratings must be finite");
        int dims = store.Info.Dims;
        long userCount = users.Max() + 1L, rows = userCount + items.Max() + 1L;
        if (store.Info.NumEmbeddings is long n && n < rows)
            throw new ArgumentException($"[{op}] the store has {n} rows; {userCount} users and {items.Max() + 1} items need {rows}");
        double mean = ratings.Average(r => (double)r);
        var rng = new Random(options.Seed);

        // Initial rows, written in batches of at most 65,536.
        for (long first = 0; first < rows; first += 65536)
        {
            int count = (int)Math.Min(65536, rows - first);
            var ids = new long[count];
            var values = new float[count * dims];
            for (int k = 0; k < count; k++)
                ids[k] = first + k;
            for (int k = 0; k < values.Length; k++)
                values[k] = (float)(Normal(rng) * options.InitScale);
            await store.UpsertAsync(ids, values, cancellationToken).ConfigureAwait(false);
        }

        int total = users.Length, batch = Math.Min(options.BatchSize, total);
        var order = Enumerable.Range(0, total).ToArray();
        var batchIds = new long[2 * batch];
        var gathered = new float[2 * batch * dims];
        var grads = new float[2 * batch * dims];
        var results = new List<StoreFactorizationEpoch>();
        var one = ShardingPlan.Even(1);
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            rng.Shuffle(order);
            var clock = Stopwatch.StartNew();
            double squared = 0;
            long step = (long)(epoch - 1) * ((total + batch - 1) / batch);
            for (int start = 0; start < total; start += batch)
            {
                int b = Math.Min(batch, total - start);
                for (int k = 0; k < b; k++)
                {
                    int r = order[start + k];
                    batchIds[k] = users[r];
                    batchIds[b + k] = userCount + items[r];
                }
                ReadOnlyMemory<long> ids = batchIds.AsMemory(0, 2 * b);
                await store.GatherAsync(ids, gathered.AsMemory(0, 2 * b * dims), cancellationToken).ConfigureAwait(false);
                float scale = 2f / b;
                for (int k = 0; k < b; k++)
                {
                    ReadOnlySpan<float> p = gathered.AsSpan(k * dims, dims), q = gathered.AsSpan((b + k) * dims, dims);
                    float error = (float)(mean + TensorPrimitives.Dot(p, q)) - ratings[order[start + k]];
                    squared += (double)error * error;
                    TensorPrimitives.Multiply(q, scale * error, grads.AsSpan(k * dims, dims));
                    TensorPrimitives.Multiply(p, scale * error, grads.AsSpan((b + k) * dims, dims));
                }
                RoutedBatch routed = one.Route(ids.Span);
                var summed = new float[routed.UniqueCount * dims];
                routed.SumByUnique(grads.AsSpan(0, 2 * b * dims), summed, dims);
                await store.ApplyGradientsAsync(routed.UniqueIds.ToArray(), summed, OptimizerStep.Adagrad(options.LearningRate, ++step), cancellationToken).ConfigureAwait(false);
            }
            double seconds = clock.Elapsed.TotalSeconds;
            var result = new StoreFactorizationEpoch(epoch, squared / total, seconds, total / seconds, 4.0 * total / seconds);
            results.Add(result);
            progress?.Invoke(result);
        }
        return results;
    }

    private static double Normal(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
