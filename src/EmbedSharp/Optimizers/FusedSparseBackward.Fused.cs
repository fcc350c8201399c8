using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Sparse;

namespace EmbedSharp.Optimizers;

public sealed partial class FusedSparseBackward<TRule>
{
    /// <summary>Kept positions × Dims below which a fused step stays on the calling thread.</summary>
    private const long FusedParallelThreshold = 1 << 16;

    /// <summary>
    /// The fused step: rows are visited in ascending order; for each, its positions' gradients are
    /// summed into a per-thread scratch row (the arithmetic of <see cref="Coalesce.Rows"/>) and the
    /// rule is applied at once, while the weights, state and upstream rows of rows a few places ahead
    /// are prefetched. Nothing of batch size is allocated except the pooled grouping.
    /// </summary>
    /// <remarks>
    /// <para>Results are bit for bit those of <c>Step(Coalesce.Rows(...))</c>, for any thread count:
    /// each row is updated by one thread with the same operations. With <see cref="SparseOptimizerOptions.Threads"/>
    /// &gt; 1 and a large batch, contiguous ranges of rows are claimed by worker threads — also in
    /// <see cref="UpdateMode.Exact"/> mode, since rows are disjoint.</para>
    /// <para>With <see cref="SparseOptimizerOptions.GuardNonFinite"/>, the upstream gradient is checked
    /// before anything changes (as <see cref="Step(SparseGradient)"/> checks the coalesced one); a row
    /// whose finite contributions sum to ±∞ is reported when it is reached, like an update that
    /// overflows: that row is left as it was and other rows of the step may already be updated.</para>
    /// <para>Clipping (<see cref="SparseOptimizerOptions.MaxRowNorm"/>, <see cref="SparseOptimizerOptions.MaxGlobalNorm"/>)
    /// needs every row's norm before the first update, and <see cref="UntouchedRows.Dense"/> visits all
    /// rows: both materialise the gradient and take the <see cref="Step(SparseGradient)"/> path.</para>
    /// </remarks>
    internal override void Step(RowGroups groups, in GradientSource source)
    {
        if (source.Dims != Table.Dims)
            ThrowHelper.Argument(StepOp, "gradient", $"the gradient rows have {source.Dims} dims but the optimizer's table has {Table.Dims}");
        if (Table.IsDisposed)
            ThrowHelper.Disposed(StepOp, "EmbeddingTable");
        if (Options.MaxRowNorm is not null || Options.MaxGlobalNorm is not null || Options.UntouchedRows == UntouchedRows.Dense)
        {
            Step(groups.Materialize(Table.NumEmbeddings, source));
            return;
        }
        bool exact = Options.Mode == UpdateMode.Exact;
        if (exact && Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            ThrowHelper.InvalidOperation(StepOp, "another Exact-mode step is running on this optimizer; concurrent steps need UpdateMode.Hogwild");
        try
        {
            if (Options.GuardNonFinite && !AllFinite(groups, source, Options.Threads))
                CheckGradient(groups.Materialize(Table.NumEmbeddings, source), StepCount + 1);
            long step = exact ? ++_step : Interlocked.Increment(ref _step);
            StepScalars scalars = _rule.Prepare(step, Options.Schedule.Factor(step));
            ApplyFused(groups, source, scalars);
        }
        finally
        {
            if (exact)
                Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Whether every upstream row a kept position reads is finite (a sequential pass when all rows are read).</summary>
    private static unsafe bool AllFinite(RowGroups groups, in GradientSource source, int threads)
    {
        int dims = source.Dims;
        if (dims == 0)
            return true;
        if (source.SourceRow.IsEmpty && groups.PositionCount == source.GradRows.Length / dims)
        {
            int length = source.GradRows.Length;
            if (threads == 1 || length < 1 << 20)
                return Kernels.FirstNonFinite(source.GradRows) < 0;
            int bad = 0;
            fixed (float* g = source.GradRows)
            {
                nint gA = (nint)g;
                ParallelWork.For(length, 1 << 18, threads, (start, end) =>
                {
                    if (Kernels.FirstNonFinite(new ReadOnlySpan<float>((float*)gA + start, end - start)) >= 0)
                        Volatile.Write(ref bad, 1);
                });
            }
            return bad == 0;
        }
        foreach (int j in groups.Positions)
            if (Kernels.FirstNonFinite(source.GradRows.Slice(source.Source(j) * dims, dims)) >= 0)
                return false;
        return true;
    }

    private unsafe void ApplyFused(RowGroups groups, in GradientSource source, StepScalars scalars)
    {
        int count = groups.Count;
        if (count == 0)
            return;
        int dims = source.Dims;
        int threads = Options.Threads == 1 || (long)groups.PositionCount * dims < FusedParallelThreshold ? 1 : Options.Threads;
        if (threads == 1)
        {
            ApplyRange(new RowWorker(this), groups, source, 0, count, scalars);
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
                    ApplyRange(worker, groups, s, start, end, scalars);
                }
                catch
                {
                    Volatile.Write(ref failed, 1);
                    throw;
                }
            }, static _ => { });
        }
    }

    /// <summary>Sums and applies rows <c>[start, end)</c> of the groups, prefetching ahead.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void ApplyRange(RowWorker worker, RowGroups groups, in GradientSource source, int start, int end, in StepScalars scalars)
    {
        ReadOnlySpan<int> rows = groups.Rows;
        ReadOnlySpan<int> starts = groups.Starts;
        ReadOnlySpan<int> positions = groups.Positions;
        float[] sum = worker.Summed;
        bool guard = Options.GuardNonFinite;
        // The upstream rows were checked before the step: a row fed by one position at scale 1 sums to
        // 0 + g, which is finite, so only other rows can overflow in the sum and need the check.
        bool unitScale = source.PositionScale.IsEmpty && source.Scale == 1f;
        for (int i = start; i < end; i++)
        {
            if (i + PrefetchDistance < end)
            {
                int ahead = i + PrefetchDistance;
                Prefetch(rows[ahead]);
                PrefetchGradient(source, source.Source(positions[starts[ahead]]));
            }
            source.Sum(groups, i, sum);
            if (guard && !(unitScale && starts[i + 1] - starts[i] == 1))
            {
                int d = Kernels.FirstNonFinite(sum);
                if (d >= 0)
                    throw new NonFiniteException(ThrowHelper.Format(StepOp,
                        $"step {scalars.Step}: the gradient of row {rows[i]} sums to {sum[d]} at dimension {d} (its positions' finite gradients overflowed); the row was left as it was, and other rows of this step may already be updated"),
                        scalars.Step, rows[i], d);
            }
            worker.Apply(rows[i], sum, 1f, scalars);
        }
    }

    /// <summary>Starts loading upstream gradient row <paramref name="sourceRow"/>.</summary>
    private static unsafe void PrefetchGradient(in GradientSource source, int sourceRow)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported)
            return;
        int dims = source.Dims;
        fixed (float* g = source.GradRows)
        {
            byte* p = (byte*)(g + (nint)sourceRow * dims);
            nint lines = Math.Min((nint)dims * sizeof(float), 2048);
            for (nint offset = 0; offset < lines; offset += 64)
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(p + offset);
        }
    }
}
