using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Numerics;

/// <summary>
/// One pooling rule for <see cref="Kernels.PoolBags{TPool, TRows}"/>: how a bag's rows are combined.
/// Implemented by <see cref="SumPooling"/>, <see cref="MeanPooling"/> and <see cref="MaxPooling"/>;
/// the kernel is written once and specialised per rule, so the inner loop never branches on the mode.
/// </summary>
public interface IPoolingOperator
{
    /// <summary>True when the rule tracks, per dimension, the position that produced the output (max).</summary>
    static abstract bool TracksSource { get; }

    /// <summary>Folds the first non-padding row of a bag into the empty accumulator.</summary>
    static abstract void First(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source);

    /// <summary>Folds a further row into the accumulator.</summary>
    static abstract void Next(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source);

    /// <summary>Finishes a bag that held <paramref name="count"/> ≥ 1 non-padding rows.</summary>
    static abstract void Finish(Span<float> acc, int count);
}

/// <summary>Sum pooling: <c>out = Σ w_j · row_j</c> (w = 1 without per-sample weights).</summary>
public readonly struct SumPooling : IPoolingOperator
{
    /// <inheritdoc/>
    public static bool TracksSource => false;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void First(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source)
    {
        if (weight == 1f)
            row.CopyTo(acc);
        else
            TensorPrimitives.Multiply(row, weight, acc);
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Next(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source)
    {
        if (weight == 1f)
            TensorPrimitives.Add(acc, row, acc);
        else
            Kernels.AddScaled(row, weight, acc);
    }

    /// <inheritdoc/>
    public static void Finish(Span<float> acc, int count) { }
}

/// <summary>Mean pooling: <c>out = (Σ row_j) · (1 / count)</c> over the non-padding rows.</summary>
public readonly struct MeanPooling : IPoolingOperator
{
    /// <inheritdoc/>
    public static bool TracksSource => false;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void First(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source) =>
        row.CopyTo(acc);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Next(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source) =>
        TensorPrimitives.Add(acc, row, acc);

    /// <inheritdoc/>
    public static void Finish(Span<float> acc, int count)
    {
        if (count > 1)
            TensorPrimitives.Multiply(acc, 1f / count, acc);
    }
}

/// <summary>
/// Max pooling, per dimension: <c>out[d] = max_j row_j[d]</c>, with <c>source[d]</c> the position of
/// the first row attaining it (strict <c>&gt;</c>, so ties keep the earlier position).
/// </summary>
/// <remarks>
/// NaN rule: NaN wins. A NaN candidate replaces a non-NaN maximum and is never replaced afterwards,
/// so the output is NaN whenever any candidate is NaN (as <c>torch.max</c>), and the gradient goes to
/// the first NaN row. SIMD: lanes compare <c>v &gt; acc</c> or <c>(v ≠ v) ∧ (acc = acc)</c> and blend
/// both the value and the int32 source lane; the last vector overlaps the previous one, which is
/// harmless because re-folding the same row changes nothing.
/// </remarks>
public readonly struct MaxPooling : IPoolingOperator
{
    /// <inheritdoc/>
    public static bool TracksSource => true;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void First(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source)
    {
        row.CopyTo(acc);
        source.Fill(position);
    }

    /// <inheritdoc/>
    public static void Next(ReadOnlySpan<float> row, float weight, int position, Span<float> acc, Span<int> source)
    {
        if (source.IsEmpty)
            Fold<NoSource>(row, position, acc, source);
        else
            Fold<WithSource>(row, position, acc, source);
    }

    private interface ISourceTracking
    {
        static abstract bool Enabled { get; }
    }

    private readonly struct NoSource : ISourceTracking
    {
        public static bool Enabled => false;
    }

    private readonly struct WithSource : ISourceTracking
    {
        public static bool Enabled => true;
    }

    private static void Fold<TTrack>(ReadOnlySpan<float> row, int position, Span<float> acc, Span<int> source)
        where TTrack : struct, ISourceTracking
    {
        int n = row.Length;
        ref float r = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(row);
        ref float a = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(acc);
        ref int s = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(source);
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var pos = Vector256.Create(position);
            int last = n - Vector256<float>.Count;
            for (int d = 0; ; d += Vector256<float>.Count)
            {
                if (d > last)
                    d = last; // overlapping tail
                var v = Vector256.LoadUnsafe(ref r, (nuint)d);
                var m = Vector256.LoadUnsafe(ref a, (nuint)d);
                var take = Vector256.GreaterThan(v, m) | (~Vector256.Equals(v, v) & Vector256.Equals(m, m));
                Vector256.ConditionalSelect(take, v, m).StoreUnsafe(ref a, (nuint)d);
                if (TTrack.Enabled)
                    Vector256.ConditionalSelect(take.AsInt32(), pos, Vector256.LoadUnsafe(ref s, (nuint)d)).StoreUnsafe(ref s, (nuint)d);
                if (d == last)
                    return;
            }
        }
        if (Vector128.IsHardwareAccelerated && n >= Vector128<float>.Count)
        {
            var pos = Vector128.Create(position);
            int last = n - Vector128<float>.Count;
            for (int d = 0; ; d += Vector128<float>.Count)
            {
                if (d > last)
                    d = last;
                var v = Vector128.LoadUnsafe(ref r, (nuint)d);
                var m = Vector128.LoadUnsafe(ref a, (nuint)d);
                var take = Vector128.GreaterThan(v, m) | (~Vector128.Equals(v, v) & Vector128.Equals(m, m));
                Vector128.ConditionalSelect(take, v, m).StoreUnsafe(ref a, (nuint)d);
                if (TTrack.Enabled)
                    Vector128.ConditionalSelect(take.AsInt32(), pos, Vector128.LoadUnsafe(ref s, (nuint)d)).StoreUnsafe(ref s, (nuint)d);
                if (d == last)
                    return;
            }
        }
        for (int d = 0; d < n; d++)
        {
            float v = row[d], m = acc[d];
            if (v > m || (float.IsNaN(v) && !float.IsNaN(m)))
            {
                acc[d] = v;
                if (TTrack.Enabled)
                    source[d] = position;
            }
        }
    }

    /// <inheritdoc/>
    public static void Finish(Span<float> acc, int count) { }
}
