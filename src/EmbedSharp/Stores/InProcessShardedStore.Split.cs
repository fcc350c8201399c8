using System.Diagnostics;

namespace EmbedSharp.Stores;

public sealed partial class InProcessShardedStore
{
    /// <summary>
    /// The one-thread update taken apart for the benchmark (StoreBench <c>--parts split</c>): the checks at the
    /// boundary (ids, duplicates, finite gradients), the rule applied to the rows in batch order, the same in
    /// ascending row order (the order a coalesced <c>SparseGradient</c> hands core's step), and the whole call,
    /// each timed alone over the same batches; process CPU nanoseconds per row, the least of 5 interleaved rounds.
    /// The store's rows change (each stage runs real steps).
    /// </summary>
    internal (string Stage, double NsPerRow)[] MeasureUpdateStages((long[] Ids, float[] Gradients)[] batches, Func<long, OptimizerStep> stepAt, int repeats)
    {
        long t = StepCount;
        long total = batches.Sum(b => (long)b.Ids.Length) * repeats;
        var sorted = batches.Select(b =>
        {
            int dims = _rows.Dims;
            int[] order = [.. Enumerable.Range(0, b.Ids.Length).OrderBy(i => b.Ids[i])];
            var grads = new float[b.Gradients.Length];
            for (int k = 0; k < order.Length; k++)
                b.Gradients.AsSpan(order[k] * dims, dims).CopyTo(grads.AsSpan(k * dims, dims));
            return (Ids: order.Select(i => b.Ids[i]).ToArray(), Gradients: grads);
        }).ToArray();
        bool dup = false;
        var stages = new List<(string, Action<int>)>
        {
            ("checks: ids and duplicates", b => { CheckIds(ApplyOp, batches[b].Ids); dup |= HasDuplicates(batches[b].Ids); }),
            ("checks: finite gradients", b => StoreUpdate.CheckFinite(ApplyOp, batches[b].Ids, batches[b].Gradients, _rows.Dims, t)),
            ("rule applied, batch order", b => Apply(batches[b], ++t)),
            ("rule applied, ascending rows", b => Apply(sorted[b], ++t)),
            ("rule applied, rows sorted in the call (gradients read out of order)", b => Apply(batches[b], ++t, ascending: true)),
            ("whole ApplyGradients, rows sorted in the call", b => { SortOneThreadUpdates = true; ApplyGradients(batches[b].Ids, batches[b].Gradients, stepAt(++t)); }),
            ("whole ApplyGradients, batch order", b => { SortOneThreadUpdates = false; ApplyGradients(batches[b].Ids, batches[b].Gradients, stepAt(++t)); SortOneThreadUpdates = true; }),
            ("checks then rule, batch order (the whole call's parts in sequence)", b =>
            {
                CheckIds(ApplyOp, batches[b].Ids);
                dup |= HasDuplicates(batches[b].Ids);
                StoreUpdate.CheckFinite(ApplyOp, batches[b].Ids, batches[b].Gradients, _rows.Dims, t);
                Apply(batches[b], ++t);
            }),
            ("whole ApplyGradients, ascending rows", b => ApplyGradients(sorted[b].Ids, sorted[b].Gradients, stepAt(++t))),
        };
        var best = stages.Select(_ => double.MaxValue).ToArray();
        for (int round = 0; round < 5; round++)
            for (int i = 0; i < stages.Count; i++)
            {
                stages[i].Item2(0);
                TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
                for (int r = 0; r < repeats; r++)
                    for (int b = 0; b < batches.Length; b++)
                        stages[i].Item2(b);
                best[i] = Math.Min(best[i], (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalNanoseconds / total);
            }
        Debug.Assert(!dup);
        return [.. stages.Select((s, i) => (s.Item1, best[i]))];

        void Apply((long[] Ids, float[] Gradients) batch, long step, bool ascending = false)
        {
            OptimizerStep s = stepAt(step);
            StateRows state = StateFor(s);
            var action = new ApplyAction(this, batch.Ids, null, batch.Gradients, state, step, ascending);
            s.Dispatch(ref action, ApplyOp);
        }
    }
}
