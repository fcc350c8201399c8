using System.Diagnostics;
using EmbedSharp.Search;
using EmbedSharp.Web.Diagnostics;

namespace EmbedSharp.Web.Catalog;

/// <summary>
/// Exact neighbour searches folded into batches: requests that arrive while a batch is being
/// answered wait for it to finish and then go together as the next one, through
/// <see cref="ExactIndex.SearchBatch"/> (one GEMM pass over the table with a fused top-k per query)
/// instead of one full scan each. A lone request starts at once, so an idle server adds no delay;
/// under load the window is the previous batch's own duration.
/// </summary>
/// <remarks>
/// Answers do not depend on what else is in the batch: every query asks the index for
/// <see cref="Candidates"/> rows (its k, one more for the query row, and <see cref="Margin"/> more),
/// whose reported scores <see cref="ExactIndex"/> recomputes exactly from the rows, and keeps the best
/// k after dropping the excluded row. The batched and the single-query scans pick candidates from
/// dot products rounded differently (GEMM against a streaming dot); the margin keeps the k-th answer
/// far inside both candidate lists, so the two give the same words with the same scores.
/// </remarks>
internal sealed class NeighbourBatcher
{
    /// <summary>Extra candidates per query, beyond k and the excluded row.</summary>
    public const int Margin = 16;

    /// <summary>Most queries in one batch (a GEMM query block is 96); the rest wait for the next.</summary>
    public const int MaxBatch = 96;

    /// <summary>Largest k folded into batches; larger ones (projection subsets) scan on their own.</summary>
    public const int MaxBatchedK = 128;

    private readonly ExactIndex _index;
    private readonly object _gate = new();
    private List<Pending> _queue = [];
    private bool _draining;
    private long _batches;
    private long _queries;

    /// <summary>A batcher over <paramref name="index"/>: one batch in flight at a time, on all of the machine's threads.</summary>
    public NeighbourBatcher(ExactIndex index) => _index = index;

    /// <summary>Batches answered so far (for tests and the benchmark's log).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Queries answered through batches so far.</summary>
    public long Queries => Interlocked.Read(ref _queries);

    /// <summary>Candidates asked of the index for a k-neighbour answer.</summary>
    public static int Candidates(int k) => k + 1 + Margin;

    /// <summary>
    /// The <paramref name="k"/> rows nearest <paramref name="query"/> by cosine, <paramref name="exclude"/>
    /// (a row id, or −1) left out: batched with whatever else is waiting.
    /// </summary>
    /// <exception cref="ArgumentException">The query has the wrong length or holds NaN or infinity.</exception>
    public Task<Neighbor[]> SearchAsync(float[] query, int k, int exclude)
    {
        if (query.Length != _index.Dims)
            throw new ArgumentException($"[neighbors] query has {query.Length} values; the table's rows have {_index.Dims}");
        if (!float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Sum(query)) && query.Any(x => !float.IsFinite(x)))
            throw new ArgumentException("[neighbors] the query vector holds NaN or infinity; a finite vector is needed");
        if (k > MaxBatchedK)
            return Task.Run(() => Single(_index, query, k, exclude));
        var pending = new Pending(query, k, exclude);
        bool start = false;
        lock (_gate)
        {
            _queue.Add(pending);
            if (!_draining)
            {
                _draining = true;
                start = true;
            }
        }
        if (start)
            _ = Task.Factory.StartNew(Drain, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return ServeMetrics.Active is { } metrics ? Observed(pending, metrics) : pending.Done.Task;
    }

    private static async Task<Neighbor[]> Observed(Pending pending, ServeMetrics metrics)
    {
        var found = await pending.Done.Task;
        metrics.Query(pending.Started - pending.Enqueued, Stopwatch.GetTimestamp() - pending.Answered);
        return found;
    }

    /// <summary>One query on its own through the single-query scan: the answer a batch must equal.</summary>
    public static Neighbor[] Single(ExactIndex index, float[] query, int k, int exclude) =>
        Keep(index.Search(query, Candidates(k)), k, exclude);

    private void Drain()
    {
        while (true)
        {
            List<Pending> batch;
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    _draining = false;
                    return;
                }
                if (_queue.Count <= MaxBatch)
                {
                    batch = _queue;
                    _queue = [];
                }
                else
                {
                    batch = _queue.GetRange(0, MaxBatch);
                    _queue.RemoveRange(0, MaxBatch);
                }
            }
            Answer(batch);
        }
    }

    private void Answer(List<Pending> batch)
    {
        int dims = _index.Dims;
        int kMax = batch.Max(p => p.K);
        long started = Stopwatch.GetTimestamp();
        long fallbacks = _index.PrefilterCounts.Fallbacks;
        foreach (var p in batch)
            p.Started = started;
        try
        {
            Neighbor[][] found;
            if (batch.Count == 1)
            {
                found = [_index.Search(batch[0].Query, Candidates(kMax))];
            }
            else
            {
                var queries = new float[batch.Count * dims];
                for (int i = 0; i < batch.Count; i++)
                    batch[i].Query.CopyTo(queries, i * dims);
                found = _index.SearchBatch(queries, Candidates(kMax));
            }
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _queries, batch.Count);
            long answered = Stopwatch.GetTimestamp();
            ServeMetrics.Active?.Batch(batch.Count, answered - started, _index.PrefilterCounts.Fallbacks - fallbacks);
            for (int i = 0; i < batch.Count; i++)
            {
                var p = batch[i];
                p.Answered = answered;
                // A longer candidate list than this query asked for: the exact re-scoring sorted it, so its
                // first Candidates(k) are what the query alone would have kept.
                var own = found[i].Length > Candidates(p.K) ? found[i][..Candidates(p.K)] : found[i];
                p.Done.TrySetResult(Keep(own, p.K, p.Exclude));
            }
        }
        catch (Exception ex)
        {
            foreach (var p in batch)
                p.Done.TrySetException(ex);
        }
    }

    /// <summary>The first <paramref name="k"/> of a sorted candidate list with <paramref name="exclude"/> dropped.</summary>
    private static Neighbor[] Keep(Neighbor[] candidates, int k, int exclude)
    {
        var kept = new List<Neighbor>(k);
        if (k == 0)
            return [];
        foreach (var n in candidates)
        {
            if (n.Index == exclude)
                continue;
            kept.Add(n);
            if (kept.Count == k)
                break;
        }
        return [.. kept];
    }

    /// <remarks>
    /// The draining thread runs each answer's continuation (the handler's response write) itself before it takes the
    /// next batch, instead of queueing it to the thread pool: queued, an answer waited for a pool thread while the next
    /// batch held both cores (server-side p50 2.5 ms, p99 ~20 ms from answer to handler, see benchmarks/README.md); inline
    /// it goes out at once (p50 0.2 ms). Callers must not block on the returned task inside such a continuation (the
    /// server's handlers only await it).
    /// </remarks>
    private sealed class Pending(float[] query, int k, int exclude)
    {
        public float[] Query { get; } = query;

        public int K { get; } = k;

        public int Exclude { get; } = exclude;

        public TaskCompletionSource<Neighbor[]> Done { get; } = new(TaskCreationOptions.None);

        /// <summary>Timestamps (<see cref="Stopwatch.GetTimestamp"/>): queued, its batch begun, its batch answered.</summary>
        public long Enqueued { get; } = Stopwatch.GetTimestamp();

        public long Started { get; set; }

        public long Answered { get; set; }
    }
}
