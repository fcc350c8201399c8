using System.Runtime.ExceptionServices;

namespace EmbedSharp.Numerics;

/// <summary>
/// The one way kernels split work across threads: a range of items is cut into chunks of
/// <c>grain</c> items that workers (the calling thread plus up to <c>threads − 1</c> pool threads)
/// claim one at a time from a shared counter.
/// </summary>
/// <remarks>
/// Claiming chunks dynamically, instead of handing each thread one fixed half, is what keeps two
/// threads from being slower than one: a pool thread that starts late (thread wake-up costs tens of
/// microseconds) or is descheduled on a busy machine simply claims fewer chunks, and the caller,
/// which starts at once, does the rest. Chunks are contiguous item ranges and each worker writes only
/// the outputs of the items it claimed, so results never depend on the thread count and workers do
/// not share cache lines except at chunk edges.
/// </remarks>
internal static class ParallelWork
{
    /// <summary>The number of workers a kernel uses by default: the processor count the runtime reports.</summary>
    public static int DefaultThreads => Environment.ProcessorCount;

    /// <summary>Runs <paramref name="body"/>(start, end) over <c>[0, count)</c> in chunks of <paramref name="grain"/> items.</summary>
    public static void For(int count, int grain, int threads, Action<int, int> body) =>
        For<object?>(count, grain, threads, static () => null, (_, start, end) => body(start, end), static _ => { });

    /// <summary>
    /// As <see cref="For(int, int, int, Action{int, int})"/> with per-worker state (scratch buffers)
    /// made by <paramref name="init"/> and released by <paramref name="release"/>.
    /// </summary>
    public static void For<TState>(int count, int grain, int threads, Func<TState> init, Action<TState, int, int> body, Action<TState> release)
    {
        if (count <= 0)
            return;
        grain = Math.Max(grain, 1);
        int chunks = (int)(((long)count + grain - 1) / grain);
        int workers = Math.Min(Math.Max(threads, 1), chunks);
        if (workers == 1)
        {
            TState state = init();
            try
            {
                body(state, 0, count);
            }
            finally
            {
                release(state);
            }
            return;
        }
        var next = new Counter();
        try
        {
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ =>
            {
                TState state = init();
                try
                {
                    int c;
                    while ((c = Interlocked.Increment(ref next.Value) - 1) < chunks)
                    {
                        int start = c * grain;
                        body(state, start, (int)Math.Min(count, (long)start + grain));
                    }
                }
                finally
                {
                    release(state);
                }
            });
        }
        catch (AggregateException ae) when (ae.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(ae.InnerExceptions[0]).Throw();
        }
    }

    private sealed class Counter
    {
        public int Value;
    }
}
