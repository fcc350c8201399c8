using System.Diagnostics;

namespace EmbedSharp.Stores;

public sealed partial class InProcessShardedStore
{
    /// <summary>
    /// The one-thread update taken apart for the benchmark (StoreBench <c>--parts split</c>): the checks at the
    /// boundary (ids, duplicates, finite gradients), the sort that puts rows and gradients in row order, the rule
    /// applied to the rows in batch order and in ascending row order (the order a coalesced <c>SparseGradient</c>
    /// hands core's step, and the order the call applies a large batch in), and the whole call,
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
        int[] sortedSlots = new int[batches.Max(b => b.Ids.Length)];
        float[] sortedGradients = new float[batches.Max(b => b.Gradients.Length)];
        var stages = new List<(string, Action<int>)>
        {
            ("checks: ids and duplicates", b => { CheckIds(ApplyOp, batches[b].Ids); dup |= HasDuplicates(batches[b].Ids); }),
            ("checks: finite gradients (a batch under 1,024 ids)", b => StoreUpdate.CheckFinite(ApplyOp, batches[b].Ids, batches[b].Gradients, _rows.Dims, t)),
            ("sort by row + finite check + gradients into row order (the call's pass)", b =>
                StoreUpdate.SortByRow(ApplyOp, batches[b].Ids, batches[b].Gradients, _rows.Dims, t, Math.Max(0, _rows.NumEmbeddings - 1), sortedSlots, sortedGradients)),
            ("rule applied, batch order", b => Apply(batches[b], ++t)),
            ("rule applied, ascending rows, gradients in that order (what the call runs)", b => Apply(sorted[b], ++t)),
            ("whole ApplyGradients", b => ApplyGradients(batches[b].Ids, batches[b].Gradients, stepAt(++t))),
            ("the form before: finite check, rows sorted, gradients read out of order (checks and rule, no call overhead)", b => SortedOutOfOrder(batches[b], ++t)),
            ("the call's form: sort + check + gradients into row order, rule (checks and rule, no call overhead)", b =>
            {
                StoreUpdate.SortByRow(ApplyOp, batches[b].Ids, batches[b].Gradients, _rows.Dims, t, Math.Max(0, _rows.NumEmbeddings - 1), sortedSlots, sortedGradients);
                OptimizerStep s = stepAt(++t);
                var action = new ApplyAction(this, batches[b].Ids, null, sortedGradients.AsMemory(0, batches[b].Gradients.Length), StateFor(s), t, sortedSlots);
                s.Dispatch(ref action, ApplyOp);
            }),
            ("whole ApplyGradients, batch already ascending", b => ApplyGradients(sorted[b].Ids, sorted[b].Gradients, stepAt(++t))),
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

        // The one-thread update as it was before the gradients were put in row order: rows sorted by a radix sort,
        // each gradient row read where it lies in the batch.
        void SortedOutOfOrder((long[] Ids, float[] Gradients) batch, long step)
        {
            int dims = _rows.Dims, n = batch.Ids.Length;
            StoreUpdate.CheckFinite(ApplyOp, batch.Ids, batch.Gradients, dims, step);
            int[] slots = new int[n], gradientRows = new int[n], scratchSlots = new int[n], scratchRows = new int[n];
            for (int k = 0; k < n; k++)
            {
                slots[k] = (int)batch.Ids[k];
                gradientRows[k] = k;
            }
            Numerics.Kernels.SortByKey(slots, gradientRows, Math.Max(0, _rows.NumEmbeddings - 1), scratchSlots, scratchRows);
            OptimizerStep s = stepAt(step);
            var action = new OutOfOrderAction(_rows, StateFor(s), slots, gradientRows, batch.Gradients, step);
            s.Dispatch(ref action, ApplyOp);
        }

        // The rule over the batch's rows in the order given (the one-thread path without its sort).
        void Apply((long[] Ids, float[] Gradients) batch, long step)
        {
            OptimizerStep s = stepAt(step);
            StateRows state = StateFor(s);
            var action = new ApplyAction(this, batch.Ids, null, batch.Gradients, state, step);
            s.Dispatch(ref action, ApplyOp);
        }
    }

    private readonly struct OutOfOrderAction(Tables.EmbeddingTable rows, StateRows state, int[] slots, int[] gradientRows, float[] gradients, long t) : IRuleAction
    {
        public void Run<TRule>(in TRule rule) where TRule : struct, Optimizers.ISparseUpdateRule =>
            StoreUpdate.Apply(ApplyOp, rule, t, rows, state, slots, gradientRows, gradients, default);
    }
}
