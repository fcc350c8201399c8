using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EmbedSharp.Numerics;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp.Optimizers;

/// <remarks>
/// The one row loop. A step is planned first (a coalesced gradient, every row of a page, or the fused
/// step's <see cref="Sparse.BatchRows"/>: single rows in batch order, then segments ascending); each
/// plan is an <see cref="IRowVisit"/>, and <see cref="ApplyRows{TVisit, TGuard}"/> — generic over the
/// rule (the class's <c>TRule</c>), the visit and the guard (<see cref="IRowGuard"/>), as
/// <c>AffineKernels.Row&lt;TBits, TSink, TRound&gt;</c> is over its policies — applies it. Rule
/// shortcuts come from the rule's declared capabilities (<see cref="ISparseUpdateRule.AcceptsUnsummedRow"/>,
/// <see cref="ISparseUpdateRule.HasGuardedUpdate"/>, <see cref="ISparseUpdateRule.PlainStepFactor"/>).
/// </remarks>
public sealed partial class FusedSparseBackward<TRule>
{
    /// <summary>Rows ahead whose weights and optimizer state are prefetched (random rows of a large table miss every cache).</summary>
    private const int PrefetchDistance = 4;

    /// <summary>Rows ahead whose weight rows the plain update prefetches (no state): farther than the rules with state.</summary>
    private const int PlainPrefetchDistance = 12;

    /// <summary>
    /// Applies entries <c>[start, end)</c> of <paramref name="visit"/>: each row's gradient is formed
    /// (a source row, or a sum in the worker's scratch row), checked when it is a sum and the guard is
    /// on, and the rule applied at once while the rows of entries ahead are prefetched.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void ApplyRows<TVisit, TGuard>(RowWorker worker, scoped ref TVisit visit, int start, int end, in StepScalars scalars)
        where TVisit : IRowVisit, allows ref struct
        where TGuard : struct, IRowGuard
    {
        if (visit.UnitSingles && typeof(TGuard) != typeof(BackupGuard) && Table.DType == DType.Float32)
        {
            float factor = _rule.PlainStepFactor(scalars);
            if (!float.IsNaN(factor))
            {
                ApplyPlain<TGuard>(visit.Units, start, end, factor, scalars.Step);
                return;
            }
        }
        float[] scratch = worker.Summed;
        for (int k = start; k < end; k++)
        {
            if (TVisit.MaySkip && visit.Skip(k))
                continue;
            if (TVisit.Prefetches && k + PrefetchDistance < end)
            {
                Prefetch(visit.Row(k + PrefetchDistance));
                visit.PrefetchGradient(k + PrefetchDistance);
            }
            int row = visit.Row(k);
            ReadOnlySpan<float> grad = visit.Gradient(k, scratch, TRule.AcceptsUnsummedRow);
            if (TGuard.Checks && visit.MayOverflow)
                NonFiniteGuard.Check(grad, NonFiniteGuard.Finding.GradientSum, scalars.Step, row);
            ApplyRow<TGuard>(worker, row, grad, scalars);
        }
    }

    /// <summary>
    /// <see cref="ApplyRows{TVisit, TGuard}"/> for a rule whose step is <c>w + factor·g</c> without state
    /// (<see cref="ISparseUpdateRule.PlainStepFactor"/>), a float32 table and single rows at scale 1: each
    /// weight row is updated straight from its upstream row, <c>w + factor·(g + 0)</c>, the operations of
    /// the update of the summed row without the scratch row or the per-row dispatch.
    /// </summary>
    /// <remarks>
    /// Written over raw pointers taken once (<see cref="UnitRows"/>), prefetching only the weight rows ahead:
    /// asking the visit per entry reloaded and bounds-checked its spans per row, looked the upstream row up twice
    /// and prefetched in two loops, which the issue-17 harness measured 1.02–1.06× slower than the loop before the
    /// seam; prefetching the upstream rows too (read in batch order, which the hardware follows) cost more than it saved.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void ApplyPlain<TGuard>(UnitRows units, int start, int end, float factor, long step)
        where TGuard : struct, IRowGuard
    {
        int dims = Table.Dims;
        nint rowBytes = (nint)dims * sizeof(float);
        nint lines = Math.Min(rowBytes, RowPrefetch.MaxBytes);
        byte* table = Table.Pointer;
        GradientSource source = units.Source;
        System.Diagnostics.Debug.Assert(units.Rows.Length >= end && units.Positions.Length >= end && source.Dims == dims);
        fixed (int* rows = units.Rows)
        fixed (int* positions = units.Positions)
        fixed (int* map = source.SourceRow)
        fixed (float* grad = source.GradRows)
        {
            bool mapped = map != null; // empty SourceRow: position j reads upstream row j
            byte* upstream = (byte*)grad;
            for (int k = start; k < end; k++)
            {
                // Only the weight rows are prefetched: the upstream rows come in batch order, which the hardware
                // prefetcher follows, and prefetching them as well cost about a fifth of the loop (AVX2, one thread:
                // 6.1 against 4.9 ms for 65,536 rows of 128 floats).
                if (System.Runtime.Intrinsics.X86.Sse.IsSupported && k + PlainPrefetchDistance < end)
                {
                    Kernels.PrefetchRow(table + rows[k + PlainPrefetchDistance] * rowBytes, lines);
                }
                int row = rows[k], position = positions[k];
                float* w = (float*)(table + row * rowBytes);
                if (TGuard.Checks)
                {
                    int bad = Kernels.FirstNonFinite(new ReadOnlySpan<float>(w, dims));
                    if (bad >= 0)
                        throw NonFiniteGuard.Error(NonFiniteGuard.Finding.WeightBefore, step, row, bad, w[bad]);
                }
                AddScaledPlusZero(w, (float*)(upstream + (mapped ? map[position] : position) * rowBytes), dims, factor);
            }
        }
    }

    /// <summary><c>w[i] = w[i] + factor·(g[i] + 0)</c> (so −0 gradients become +0 exactly as in the summed row). No checks: the caller owns both rows of <paramref name="dims"/> floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddScaledPlusZero(float* w, float* g, int dims, float factor)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var step = Vector256.Create(factor);
            for (; i <= dims - Vector256<float>.Count; i += Vector256<float>.Count)
                (Vector256.Load(w + i) + step * (Vector256.Load(g + i) + Vector256<float>.Zero)).Store(w + i);
        }
        for (; i < dims; i++)
            w[i] = w[i] + factor * (g[i] + 0f);
    }

    /// <summary>Rows ahead whose weight row and upstream rows the plain loop over repeated rows prefetches.</summary>
    private const int SegmentPrefetchDistance = 8;

    /// <summary>
    /// The rows fed by several positions (segments <c>[start, end)</c> of <paramref name="groups"/>) for a rule whose
    /// step is <c>w + factor·g</c> without state, on a float32 table: each row's positions are summed into the worker's
    /// scratch row (<see cref="GradientSource.Sum(ReadOnlySpan{int}, Span{float})"/>) and the row updated from it with
    /// the rule's operations, so the bits are those of the generic loop.
    /// </summary>
    /// <remarks>
    /// With the guard on, one pass over the sum both checks it (a sum of finite rows can overflow: reported as
    /// before) and bounds it; a sum within the rule's <see cref="ISparseUpdateRule.SafeGradientBound"/> (<paramref name="bound"/>)
    /// cannot make finite weights non-finite, so the row's weights are checked before its update instead of being
    /// backed up and checked after, as single rows are. A sum past the bound takes the backed-up update.
    /// This loop took the rows fed twice out of the generic loop (per-row dispatch, a backup of each row, a
    /// prefetch four rows ahead).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void ApplyPlainSegments(RowWorker worker, in GradientSource source, RowGroups groups, int start, int end, float factor, float bound, in StepScalars scalars)
    {
        int dims = Table.Dims;
        nint rowBytes = (nint)dims * sizeof(float);
        nint lines = Math.Min(rowBytes, RowPrefetch.MaxBytes);
        byte* table = Table.Pointer;
        bool guard = Options.GuardNonFinite;
        ReadOnlySpan<int> rows = groups.Rows, starts = groups.Starts, positions = groups.Positions;
        Span<float> sum = worker.Summed.AsSpan(0, dims);
        fixed (float* scratch = sum)
        fixed (float* grad = source.GradRows)
        {
            for (int k = start; k < end; k++)
            {
                if (System.Runtime.Intrinsics.X86.Sse.IsSupported && k + SegmentPrefetchDistance < end)
                {
                    int ahead = k + SegmentPrefetchDistance;
                    Kernels.PrefetchRow(table + rows[ahead] * rowBytes, lines);
                    for (int p = starts[ahead]; p < starts[ahead + 1]; p++)
                        RowPrefetch.Lines((byte*)grad + source.Source(positions[p]) * rowBytes, rowBytes);
                }
                int row = rows[k];
                source.Sum(positions[starts[k]..starts[k + 1]], sum);
                float* w = (float*)(table + row * rowBytes);
                if (guard)
                {
                    float maxAbs = Kernels.MaxAbsIfFinite(sum);
                    if (maxAbs == float.PositiveInfinity)
                        NonFiniteGuard.Check(sum, NonFiniteGuard.Finding.GradientSum, scalars.Step, row);
                    if (!(bound > 0f && maxAbs <= bound))
                    {
                        ApplyRow<BackupGuard>(worker, row, sum, scalars);
                        continue;
                    }
                    int bad = Kernels.FirstNonFinite(new ReadOnlySpan<float>(w, dims));
                    if (bad >= 0)
                        throw NonFiniteGuard.Error(NonFiniteGuard.Finding.WeightBefore, scalars.Step, row, bad, w[bad]);
                }
                AddScaledPlusZero(w, scratch, dims, factor); // the sum is +0-normalised already, so the + 0 changes no bit
            }
        }
    }

    /// <summary>
    /// Updates one row from its gradient under guard <typeparamref name="TGuard"/>: float32 rows in place,
    /// 16-bit rows widened into scratch, updated and rounded back (nearest, ties to even). With
    /// <see cref="BackupGuard"/> the row and its state are restored and the step stops when a new value is
    /// not finite (after rounding: a finite float can round to ±∞ in float16).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ApplyRow<TGuard>(RowWorker worker, int row, ReadOnlySpan<float> grad, in StepScalars scalars) where TGuard : struct, IRowGuard
    {
        EmbeddingTable table = Table;
        Span<float> state = _state.Row(row, _rule);
        bool inPlace = table.DType == DType.Float32;
        Span<float> w = inPlace ? table.RowUnchecked<float>(row) : worker.Weight;
        if (!inPlace)
            table.ReadRowUnchecked(row, w);
        if (typeof(TGuard) != typeof(BackupGuard))
        {
            if (TGuard.Checks)
            {
                int before = Kernels.FirstNonFinite(w);
                if (before >= 0)
                    throw NonFiniteGuard.Error(NonFiniteGuard.Finding.WeightBefore, scalars.Step, row, before, w[before]);
            }
            _rule.UpdateRow(w, grad, state, scalars);
            if (!inPlace)
                table.WriteRowUnchecked(row, w);
            return;
        }
        float[] weightBackup = worker.WeightBackup, stateBackup = worker.StateBackup;
        bool finite = TRule.HasGuardedUpdate
            ? _rule.UpdateRowGuarded(w, grad, state, scalars, weightBackup, stateBackup)
            : RowGuard.BackupAndUpdate(_rule, w, grad, state, scalars, weightBackup, stateBackup);
        if (!inPlace)
        {
            table.WriteRowUnchecked(row, w);
            table.ReadRowUnchecked(row, w); // what was stored
        }
        else if (finite)
        {
            return;
        }
        int bad = Kernels.FirstNonFinite(w);
        var finding = NonFiniteGuard.Finding.WeightProduced;
        if (bad < 0)
        {
            bad = Kernels.FirstNonFinite(state);
            finding = NonFiniteGuard.Finding.StateProduced;
        }
        if (bad < 0)
            return;
        float value = finding == NonFiniteGuard.Finding.WeightProduced ? w[bad] : state[bad];
        if (inPlace)
            weightBackup.CopyTo(w);
        else
            table.WriteRowUnchecked(row, weightBackup);
        stateBackup.CopyTo(state);
        throw NonFiniteGuard.Error(finding, scalars.Step, row, bad, value);
    }

    /// <summary>Starts loading the weights and (if allocated) the state of <paramref name="row"/>.</summary>
    private unsafe void Prefetch(int row)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported)
            return;
        nint bytes = (nint)Table.Dims * Table.ElementSize;
        RowPrefetch.Lines(Table.Pointer + row * bytes, bytes);
        if (_state.Width == 0 || !_state.IsAllocated(row >> RowStateStore.PageShift))
            return;
        RowPrefetch.Lines((byte*)_state.RowPointer(row), (nint)_state.Width * sizeof(float));
    }

    /// <summary>Scratch rows of one worker thread.</summary>
    private sealed class RowWorker(FusedSparseBackward<TRule> owner)
    {
        /// <summary>A 16-bit row widened to float32.</summary>
        public float[] Weight { get; } = new float[owner.Table.Dims];

        /// <summary>The guard's copy of the row before its update.</summary>
        public float[] WeightBackup { get; } = new float[owner.Table.Dims];

        /// <summary>The guard's copy of the row's state before its update.</summary>
        public float[] StateBackup { get; } = new float[owner._state.Width];

        /// <summary>A zero gradient (rows of <see cref="UntouchedRows.Dense"/> outside the gradient).</summary>
        public float[] Zeros { get; } = new float[owner.Table.Dims];

        /// <summary>A row's summed (or scaled) gradient.</summary>
        public float[] Summed { get; } = new float[owner.Table.Dims];
    }
}
