using System.Buffers;
using EmbedSharp.Diagnostics;
using EmbedSharp.Optimizers;
using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

/// <summary>
/// The optimizer inside a store: core's rule applied row by row to rows held in a float32
/// <see cref="EmbeddingTable"/> (by slot) and state held in <see cref="StateRows"/>.
/// </summary>
/// <remarks>
/// Per step: <c>scalars = rule.Prepare(t, 1)</c>; per row: back up the row and its state, <c>rule.UpdateRow</c>,
/// and if a weight or state value came out non-finite, restore the row and throw (the guard of
/// <see cref="FusedSparseBackward{TRule}"/>, whose rule code this is). Gradients are checked finite at the
/// store's boundary, before any row changes.
/// </remarks>
internal static class StoreUpdate
{
    /// <summary>The initial state row of <paramref name="step"/>'s rule for rows of <paramref name="dims"/>.</summary>
    public static float[] Template(OptimizerStep step, int dims)
    {
        var t = new TemplateAction(dims);
        step.Dispatch(ref t, "store.optimizer");
        return t.Result!;
    }

    /// <summary>Checks that every gradient is finite; throws the guard's message naming the id.</summary>
    public static void CheckFinite(string op, ReadOnlySpan<long> ids, ReadOnlySpan<float> gradients, int dims, long step)
    {
        int bad = Numerics.Kernels.FirstNonFinite(gradients);
        if (bad >= 0)
            ThrowNonFinite(op, ids, gradients, dims, step, bad);
    }

    /// <summary>
    /// Puts a batch in ascending row order for the one-thread update: <paramref name="slots"/> gets the ids (rows)
    /// ascending and <paramref name="ordered"/> their gradient rows in that order, each gradient row checked finite
    /// (in batch order, the same error as <see cref="CheckFinite"/>) as it is copied. The gradients are read once,
    /// front to back, in the pass the check needs anyway, so the update then reads them as one forward stream, as
    /// core's step reads a coalesced gradient, instead of out of order. <paramref name="maxRow"/> is the largest row
    /// an id can be (the radix sort's key range).
    /// </summary>
    public static void SortByRow(string op, ReadOnlySpan<long> ids, ReadOnlySpan<float> gradients, int dims, long step, int maxRow, Span<int> slots, Span<float> ordered)
    {
        int count = ids.Length;
        int[] source = ArrayPool<int>.Shared.Rent(count), rankOf = ArrayPool<int>.Shared.Rent(count), scratch = ArrayPool<int>.Shared.Rent(count);
        try
        {
            for (int k = 0; k < count; k++)
            {
                slots[k] = (int)ids[k];
                source[k] = k;
            }
            // source[j] = the batch position of the j-th smallest row; rankOf inverts it, so the copy below writes
            // each gradient row to its place in row order while reading the batch front to back.
            Numerics.Kernels.SortByKey(slots[..count], source.AsSpan(0, count), maxRow, rankOf, scratch);
            for (int j = 0; j < count; j++)
                rankOf[source[j]] = j;
            for (int k = 0; k < count; k++)
            {
                ReadOnlySpan<float> row = gradients.Slice(k * dims, dims);
                int bad = Numerics.Kernels.FirstNonFinite(row);
                if (bad >= 0)
                    ThrowNonFinite(op, ids, gradients, dims, step, k * dims + bad);
                row.CopyTo(ordered.Slice(rankOf[k] * dims, dims));
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(source);
            ArrayPool<int>.Shared.Return(rankOf);
            ArrayPool<int>.Shared.Return(scratch);
        }
    }

    private static void ThrowNonFinite(string op, ReadOnlySpan<long> ids, ReadOnlySpan<float> gradients, int dims, long step, int bad)
    {
        int i = bad / dims;
        throw new NonFiniteException(ThrowHelper.Format(op, $"step {step}: id {ids[i]} (gradients row {i}) has gradient {gradients[bad]} at element {bad % dims}; nothing was updated"),
            step, i, bad % dims);
    }

    /// <summary>
    /// Applies <paramref name="rule"/> at step <paramref name="t"/> to slots <paramref name="slots"/>, slot k taking
    /// gradient row <paramref name="gradientRows"/>[k] of <paramref name="gradients"/>; <paramref name="ids"/>[k] names
    /// slot k in an error message (empty: the slots are the ids).
    /// </summary>
    /// <remarks>
    /// The weights, the state and the gradient row of the slot <c>prefetchDistance</c> ahead are prefetched: the
    /// gradient rows are visited in slot order, not in their own, so they are as scattered as the weights.
    /// </remarks>
    public static unsafe void Apply<TRule>(string op, in TRule rule, long t, EmbeddingTable rows, StateRows state,
        ReadOnlySpan<int> slots, ReadOnlySpan<int> gradientRows, ReadOnlySpan<float> gradients, ReadOnlySpan<long> ids)
        where TRule : struct, ISparseUpdateRule
    {
        const int prefetchDistance = 4;
        int dims = rows.Dims;
        nint rowBytes = (nint)dims * sizeof(float);
        StepScalars scalars = rule.Prepare(t, 1.0);
        Span<float> weightBackup = dims <= 1024 ? stackalloc float[dims] : new float[dims];
        Span<float> stateBackup = state.Width <= 2048 ? stackalloc float[state.Width] : new float[state.Width];
        byte* table = rows.Pointer;
        fixed (float* gradientBase = gradients)
        {
            for (int k = 0; k < slots.Length; k++)
            {
                if (k + prefetchDistance < slots.Length)
                {
                    // Rows are random in a large table: start loading the weights, state and gradient a few rows ahead.
                    RowPrefetch.Lines(table + slots[k + prefetchDistance] * rowBytes, rowBytes);
                    state.Prefetch(slots[k + prefetchDistance]);
                    RowPrefetch.Lines((byte*)(gradientBase + (nint)gradientRows[k + prefetchDistance] * dims), rowBytes);
                }
                var weight = new Span<float>(table + slots[k] * rowBytes, dims);
                Span<float> s = state.Row(slots[k]);
                ReadOnlySpan<float> g = gradients.Slice(gradientRows[k] * dims, dims);
                // The optimizer's own guarded update (fused backup and check where the rule has one), as FusedSparseBackward runs it.
                bool finite = TRule.HasGuardedUpdate
                    ? rule.UpdateRowGuarded(weight, g, s, scalars, weightBackup, stateBackup)
                    : RowGuard.BackupAndUpdate(rule, weight, g, s, scalars, weightBackup, stateBackup);
                if (finite)
                    continue;
                int badWeight = Numerics.Kernels.FirstNonFinite(weight);
                int badState = badWeight < 0 ? Numerics.Kernels.FirstNonFinite(s) : -1;
                float value = badWeight >= 0 ? weight[badWeight] : s[Math.Max(0, badState)];
                weightBackup.CopyTo(weight);
                stateBackup.CopyTo(s);
                string what = badWeight >= 0 ? $"weight {value} at element {badWeight}" : $"optimizer state {value} at element {badState}";
                throw new NonFiniteException(ThrowHelper.Format(op,
                    $"step {t}: id {(ids.IsEmpty ? slots[k] : ids[k])} produced {what} in its update; the row was left as it was, and rows applied before it in this call keep their update (lower the learning rate or enable clipping)"),
                    t, slots[k], badWeight >= 0 ? badWeight : badState);
            }
        }
    }

    private struct TemplateAction(int dims) : IRuleAction
    {
        public float[]? Result;

        public void Run<TRule>(in TRule rule) where TRule : struct, ISparseUpdateRule
        {
            Result = new float[rule.StateWidth(dims)];
            rule.InitializeState(Result);
        }
    }
}
