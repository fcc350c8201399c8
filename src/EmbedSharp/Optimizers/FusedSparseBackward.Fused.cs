using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp.Optimizers;

public sealed partial class FusedSparseBackward<TRule>
{
    /// <summary>Kept positions × Dims below which a fused step stays on the calling thread.</summary>
    private const long FusedParallelThreshold = 1 << 16;

    /// <summary>
    /// The fused step: each row's positions' gradients are summed into a per-thread scratch row (the
    /// arithmetic of <see cref="Coalesce.Rows"/>) and the rule is applied at once, while the weights,
    /// state and upstream rows of rows a few places ahead are prefetched. Rows
    /// fed by one position are visited in batch order first, so their upstream rows are read front to
    /// back, then the others ascending. Nothing of batch size is allocated except the pooled grouping.
    /// </summary>
    /// <remarks>
    /// <para>Results are bit for bit those of <c>Step(Coalesce.Rows(...))</c>, for any thread count:
    /// each row is updated by one thread with the same operations. With <see cref="SparseOptimizerOptions.Threads"/>
    /// &gt; 1 and a large batch, contiguous ranges of rows are claimed by worker threads — also in
    /// <see cref="UpdateMode.Exact"/> mode, since rows are disjoint.</para>
    /// <para>With <see cref="SparseOptimizerOptions.GuardNonFinite"/>, the upstream gradient is checked
    /// before anything changes (as <see cref="Step(SparseGradient)"/> checks the coalesced one); a row
    /// whose finite contributions sum to ±∞ is reported when it is reached, like an update that
    /// overflows: that row is left as it was and other rows of the step may already be updated. The
    /// same pass bounds the upstream rows; single rows of a float32 table whose rule proves finite
    /// weights stay finite under that bound (<see cref="ISparseUpdateRule.SafeGradientBound"/>: plain
    /// SGD) are checked before their update instead of being backed up and checked after.</para>
    /// <para>Clipping (<see cref="SparseOptimizerOptions.MaxRowNorm"/>, <see cref="SparseOptimizerOptions.MaxGlobalNorm"/>)
    /// needs every row's norm before the first update, and <see cref="UntouchedRows.Dense"/> visits all
    /// rows: both materialise the gradient and take the <see cref="Step(SparseGradient)"/> path.</para>
    /// </remarks>
    internal override void Step(BatchRows batch, in GradientSource source) => StepFused(batch, source, float.NaN);

    /// <summary>
    /// With the guard on, more than one thread and a batch whose upstream rows are its positions (a plain
    /// embedding, not bags), the guard's pass over the gradient runs beside the grouping, which takes one
    /// thread: one worker groups while the others check 1 MiB chunks of the gradient, and it joins them
    /// when done. The pass covers every position; see <see cref="StepFused"/> for how that bound is used.
    /// </summary>
    internal override unsafe void Step(ReadOnlySpan<int> indices, int skipIndex, System.Collections.BitArray? skipRow, in GradientSource source)
    {
        using StateUse use = Enter(StepOp);
        int dims = source.Dims, length = source.GradRows.Length;
        if (!Options.GuardNonFinite || Options.Threads == 1 || !source.SourceRow.IsEmpty || dims != Table.Dims || dims == 0
            || length != (long)indices.Length * dims || length < 1 << 20 || Table.IsDisposed || Materializes)
        {
            base.Step(indices, skipIndex, skipRow, source);
            return;
        }
        int chunks = (length + GuardChunk - 1) / GuardChunk, n = indices.Length, rows = Table.NumEmbeddings;
        var partial = new float[chunks];
        BatchRows? batch = null;
        try
        {
            fixed (int* ids = indices)
            fixed (float* grad = source.GradRows)
            {
                nint idsA = (nint)ids, gradA = (nint)grad;
                ParallelWork.For(chunks + 1, 1, Options.Threads, (start, end) =>
                {
                    for (int c = start; c < end; c++)
                    {
                        if (c == 0)
                        {
                            batch = BatchRows.Build(new ReadOnlySpan<int>((int*)idsA, n), rows, skipIndex, skipRow);
                            continue;
                        }
                        partial[c - 1] = GuardChunkMax((float*)gradA, length, c - 1);
                    }
                });
            }
            StepFused(batch!, source, Kernels.MaxAbsIfFinite(partial));
        }
        finally
        {
            batch?.Dispose();
        }
    }

    /// <summary>Floats per chunk of the guard's pass when it runs on several threads (1 MiB).</summary>
    private const int GuardChunk = 1 << 18;

    /// <summary>The guard's bound over chunk <paramref name="chunk"/> of a gradient of <paramref name="length"/> floats.</summary>
    private static unsafe float GuardChunkMax(float* grad, int length, int chunk)
    {
        int first = chunk * GuardChunk;
        return Kernels.MaxAbsIfFinite(new ReadOnlySpan<float>(grad + first, Math.Min(GuardChunk, length - first)));
    }

    /// <summary>
    /// Clipping needs every row's norm before the first update, and <see cref="UntouchedRows.Dense"/>
    /// visits all rows: both take the <see cref="Step(SparseGradient)"/> path on the materialised gradient.
    /// </summary>
    private bool Materializes => Options.MaxRowNorm is not null || Options.MaxGlobalNorm is not null || Options.UntouchedRows == UntouchedRows.Dense;

    /// <summary>
    /// The fused step. <paramref name="allMax"/> is the guard's bound over every upstream row when the
    /// caller already computed it (NaN when not): it is used as is when finite (a bound over all rows also
    /// bounds the kept ones) or when every position is kept; +∞ with skipped positions (a padding
    /// position may hold NaN) is recomputed over the kept positions.
    /// </summary>
    private void StepFused(BatchRows batch, in GradientSource source, float allMax)
    {
        using StateUse use = Enter(StepOp);
        if (source.Dims != Table.Dims)
            ThrowHelper.Argument(StepOp, "gradient", $"the gradient rows have {source.Dims} dims but the optimizer's table has {Table.Dims}");
        if (Table.IsDisposed)
            ThrowHelper.Disposed(StepOp, "EmbeddingTable");
        if (Materializes)
        {
            using RowGroups groups = batch.ToGroups(Table.NumEmbeddings);
            Step(groups.Materialize(Table.NumEmbeddings, source));
            return;
        }
        bool exact = Options.Mode == UpdateMode.Exact;
        if (exact && Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            ThrowHelper.InvalidOperation(StepOp, "another Exact-mode step is running on this optimizer; concurrent steps need UpdateMode.Hogwild");
        try
        {
            // The guard's pass over the upstream rows also bounds them (+∞ when one is not finite).
            float maxAbs = !Options.GuardNonFinite ? float.PositiveInfinity
                : !float.IsNaN(allMax) && (allMax != float.PositiveInfinity || batch.PositionCount == batch.IndexCount) ? allMax
                : MaxAbsIfFinite(batch, source, Options.Threads);
            if (maxAbs == float.PositiveInfinity && Options.GuardNonFinite)
            {
                using RowGroups groups = batch.ToGroups(Table.NumEmbeddings);
                CheckGradient(groups.Materialize(Table.NumEmbeddings, source), StepCount + 1);
            }
            long step = exact ? ++_step : Interlocked.Increment(ref _step);
            StepScalars scalars = _rule.Prepare(step, Options.Schedule.Factor(step));
            ApplyFused(batch, source, scalars, maxAbs);
        }
        finally
        {
            if (exact)
                Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>The largest |g| over the upstream rows kept positions read, or +∞ when one is not finite (a sequential pass when all rows are read).</summary>
    private static unsafe float MaxAbsIfFinite(BatchRows batch, in GradientSource source, int threads)
    {
        int dims = source.Dims;
        if (dims == 0)
            return 0f;
        if (source.SourceRow.IsEmpty && batch.PositionCount == source.GradRows.Length / dims)
        {
            int length = source.GradRows.Length;
            if (threads == 1 || length < 1 << 20)
                return Kernels.MaxAbsIfFinite(source.GradRows);
            var partial = new float[(length + GuardChunk - 1) / GuardChunk];
            fixed (float* g = source.GradRows)
            {
                nint gA = (nint)g;
                ParallelWork.For(partial.Length, 1, threads, (start, end) =>
                {
                    for (int c = start; c < end; c++)
                        partial[c] = GuardChunkMax((float*)gA, length, c);
                });
            }
            return Kernels.MaxAbsIfFinite(partial);
        }
        float max = 0f;
        foreach (int j in batch.SinglePositions)
            max = MathF.Max(max, Kernels.MaxAbsIfFinite(source.GradRows.Slice(source.Source(j) * dims, dims)));
        foreach (int j in batch.Others.Positions)
            max = MathF.Max(max, Kernels.MaxAbsIfFinite(source.GradRows.Slice(source.Source(j) * dims, dims)));
        return max;
    }

    private unsafe void ApplyFused(BatchRows batch, in GradientSource source, StepScalars scalars, float maxAbs)
    {
        int count = batch.Count;
        if (count == 0)
            return;
        int dims = source.Dims;
        int threads = Options.Threads == 1 || (long)batch.PositionCount * dims < FusedParallelThreshold ? 1 : Options.Threads;
        // Single rows at scale 1 of a float32 table whose stateless rule bounds its update (plain SGD) are
        // checked before their update rather than backed up and checked after (see SafeGradientBound;
        // a bound of 0 means none, even for an all-zero gradient).
        float bound = _state.Width == 0 ? _rule.SafeGradientBound(scalars) : 0f;
        bool precheck = Options.GuardNonFinite && Table.DType == DType.Float32 && source.PositionScale.IsEmpty && source.Scale == 1f
            && bound > 0f && maxAbs <= bound;
        if (threads == 1)
        {
            ApplyRange(new RowWorker(this), batch, source, precheck, 0, count, scalars);
            return;
        }
        // Worker threads rebuild the source from pinned pointers (a ref struct cannot be captured).
        fixed (float* grad = source.GradRows)
        fixed (int* src = source.SourceRow)
        fixed (float* ps = source.PositionScale)
        {
            nint gradA = (nint)grad, srcA = (nint)src, psA = (nint)ps;
            int gradLength = source.GradRows.Length, srcLength = source.SourceRow.Length, psLength = source.PositionScale.Length;
            float scale = source.Scale;
            bool divide = source.DivideByCount;
            int failed = 0;
            ParallelWork.For(count, Math.Clamp(count / (8 * threads), 64, 4096), threads, () => new RowWorker(this), (worker, start, end) =>
            {
                if (Volatile.Read(ref failed) != 0)
                    return;
                var s = new GradientSource(new ReadOnlySpan<float>((float*)gradA, gradLength), dims,
                    new ReadOnlySpan<int>((int*)srcA, srcLength), new ReadOnlySpan<float>((float*)psA, psLength), scale, divide);
                try
                {
                    ApplyRange(worker, batch, s, precheck, start, end, scalars);
                }
                catch
                {
                    Volatile.Write(ref failed, 1);
                    throw;
                }
            }, static _ => { });
        }
    }

    /// <summary>Applies entries <c>[start, end)</c> of the visit: entries below <c>SingleCount</c> are the single rows in batch order, the rest the other rows' segments, ascending.</summary>
    private void ApplyRange(RowWorker worker, BatchRows batch, in GradientSource source, bool precheck, int start, int end, in StepScalars scalars)
    {
        int singles = batch.SingleCount;
        int split = Math.Clamp(singles, start, end);
        if (start < split)
        {
            var visit = new SingleVisit(source, batch.SingleRows[start..split], batch.SinglePositions[start..split]);
            if (precheck)
                ApplyRows<SingleVisit, PrecheckGuard>(worker, ref visit, 0, split - start, scalars);
            else
                ApplyRowsGuarded(worker, ref visit, 0, split - start, scalars);
        }
        if (split < end)
        {
            float factor = _state.Width == 0 && Table.DType == DType.Float32 ? _rule.PlainStepFactor(scalars) : float.NaN;
            if (!float.IsNaN(factor))
            {
                ApplyPlainSegments(worker, source, batch.Others, split - singles, end - singles, factor, _rule.SafeGradientBound(scalars), scalars);
                return;
            }
            // The upstream rows were checked before the step, but finite rows can overflow in their sum.
            var visit = new SegmentVisit(source, batch.Others);
            ApplyRowsGuarded(worker, ref visit, split - singles, end - singles, scalars);
        }
    }
}
