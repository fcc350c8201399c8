using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;

namespace EmbedSharp;

/// <summary>
/// The argument rules every lookup layer shares, in one place and with one wording (the
/// <see cref="Quantization.QuantizationArguments"/> pattern): padding row, max-norm and its p, pooling
/// mode and per-sample weights, and int64 ids narrowed to local slots through an <see cref="IdRemap"/>.
/// CSR offsets are checked by <see cref="BagBatch"/>. Every check runs before a layer changes anything.
/// </summary>
internal static class LookupArguments
{
    /// <summary>
    /// The padding row normalised to <c>0 .. numEmbeddings-1</c> (negative values count from the end, as in
    /// PyTorch), or null.
    /// </summary>
    public static int? PaddingIdx(string op, int? paddingIdx, int numEmbeddings)
    {
        if (paddingIdx is not int p)
            return null;
        if (p < -numEmbeddings || p >= numEmbeddings)
            ThrowHelper.ArgumentOutOfRange(op, "PaddingIdx", p, numEmbeddings == 0
                ? $"PaddingIdx = {p} but the table has no rows"
                : $"PaddingIdx = {p} is out of range; valid values are {-numEmbeddings}..{numEmbeddings - 1} (negative counts from the end)");
        return p < 0 ? p + numEmbeddings : p;
    }

    /// <summary>Checks the max-norm and its p: MaxNorm null or a finite number &gt; 0, NormType &gt; 0 (or +∞).</summary>
    public static void MaxNorm(string op, double? maxNorm, double normType)
    {
        if (maxNorm is double m && !(m > 0 && double.IsFinite(m)))
            ThrowHelper.ArgumentOutOfRange(op, "MaxNorm", m, $"MaxNorm must be a finite number > 0 but was {m} (PyTorch accepts ≤ 0 and silently zeroes or sign-flips rows; leave MaxNorm null to disable)");
        if (!(normType > 0) || double.IsNaN(normType))
            ThrowHelper.ArgumentOutOfRange(op, "NormType", normType, $"NormType must be > 0 (1, 2, any p > 0, or +∞) but normType was {normType}");
    }

    /// <summary>Checks a storage type is one the tables hold.</summary>
    public static void DType(string op, DType dtype)
    {
        if (!Enum.IsDefined(dtype))
            ThrowHelper.ArgumentOutOfRange(op, "DType", dtype, $"DType {dtype} is unknown; valid values are Float32, Float16, BFloat16");
    }

    /// <summary>Checks a pooling mode, and that <paramref name="scaleGradByFreq"/> is not asked of a max.</summary>
    public static void Mode(string op, PoolingMode mode, bool scaleGradByFreq)
    {
        if (!Enum.IsDefined(mode))
            ThrowHelper.ArgumentOutOfRange(op, "Mode", mode, $"mode {mode} is unknown; valid values are Sum, Mean, Max");
        if (scaleGradByFreq && mode == PoolingMode.Max)
            ThrowHelper.NotSupported(op, "ScaleGradByFreq is not supported with PoolingMode.Max (the gradient of a max has no per-id frequency); use Sum or Mean");
    }

    /// <summary>Per-sample weights: empty, or one per id and only with <see cref="PoolingMode.Sum"/>.</summary>
    public static void PerSampleWeights(string op, PoolingMode mode, int count, ReadOnlySpan<float> perSampleWeights)
    {
        if (perSampleWeights.IsEmpty)
            return;
        if (mode != PoolingMode.Sum)
            ThrowHelper.NotSupported(op, $"perSampleWeights is only supported with PoolingMode.Sum, not {mode}");
        Guard.Length(op, perSampleWeights.Length, count, "one weight per id, the shape of indices");
    }

    /// <summary>Checks every index against <c>[0, numEmbeddings)</c>; throws naming the first bad one and its position.</summary>
    public static void Indices(string op, string paramName, ReadOnlySpan<int> indices, int numEmbeddings, ReadOnlySpan<nint> shape = default)
    {
        int i = Numerics.Kernels.FirstOutOfRange(indices, numEmbeddings);
        if (i >= 0)
            ThrowHelper.IndexOutOfRange(op, paramName, indices[i], i, numEmbeddings, shape);
    }

    /// <summary>
    /// int64 ids to local slots: <c>slots[i] = remap(indices[i])</c>, each checked against
    /// <c>[0, numEmbeddings)</c>. The identity remap narrows with the same message as the int32 overloads.
    /// </summary>
    public static int[] Slots(string op, ReadOnlySpan<long> indices, int numEmbeddings, IdRemap remap, ReadOnlySpan<nint> shape = default)
    {
        var slots = new int[indices.Length];
        if (remap.IsIdentity)
        {
            for (int i = 0; i < indices.Length; i++)
            {
                long v = indices[i];
                if ((ulong)v >= (ulong)numEmbeddings)
                    ThrowHelper.IndexOutOfRange(op, "indices", v, i, numEmbeddings, shape);
                slots[i] = (int)v;
            }
            return slots;
        }
        for (int i = 0; i < indices.Length; i++)
        {
            long v = indices[i];
            if (!remap.TryGetSlot(v, out int slot))
                ThrowHelper.ArgumentOutOfRange(op, "indices", v,
                    $"indices{ThrowHelper.FormatPosition(i, shape)} = {v} has no slot in the layer's id remap; map the id (or load its row) before the lookup");
            if ((uint)slot >= (uint)numEmbeddings)
                ThrowHelper.ArgumentOutOfRange(op, "indices", v,
                    $"indices{ThrowHelper.FormatPosition(i, shape)} = {v} maps to slot {slot}, outside the table's 0..{numEmbeddings - 1} (numEmbeddings {numEmbeddings})");
            slots[i] = slot;
        }
        return slots;
    }
}
