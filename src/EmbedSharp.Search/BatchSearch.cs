using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search;

/// <summary>Validates and copies one query of a batch; throws before any search runs.</summary>
internal delegate float[] PrepareQuery(ReadOnlySpan<float> query);

/// <summary>
/// The batch search loop the approximate indexes share: the batch is cut into <c>dims</c>-long
/// queries, every query is prepared (validated) before the first search, then workers claim queries
/// one at a time, each answered whole on one thread, so results do not depend on the thread count.
/// </summary>
internal static class BatchSearch
{
    public static Neighbor[][] Run(string op, ReadOnlySpan<float> queries, int dims, int threads, PrepareQuery prepare, Func<float[], Neighbor[]> searchOne)
    {
        if (queries.Length % dims != 0)
            ThrowHelper.Argument(op, nameof(queries), $"{queries.Length} values is not a whole number of {dims}-long queries");
        int m = queries.Length / dims;
        var prepared = new float[m][];
        for (int i = 0; i < m; i++)
            prepared[i] = prepare(queries.Slice(i * dims, dims));
        var results = new Neighbor[m][];
        if (threads <= 0)
            threads = Environment.ProcessorCount;
        int next = -1;
        Parallel.For(0, Math.Max(1, Math.Min(threads, m)), new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < m)
                results[i] = searchOne(prepared[i]);
        });
        return results;
    }
}
