using EmbedSharp.Diagnostics;

namespace EmbedSharp.Tables;

/// <summary>
/// One batch of bags per feature for a <see cref="TableCollection"/> (TorchRec's <c>KeyedJaggedTensor</c>):
/// every feature holds <see cref="BatchSize"/> bags given as ids plus B + 1 CSR offsets (the last equal
/// to the number of ids), and optional per-sample weights.
/// </summary>
/// <remarks>
/// Example, B = 2: <c>Add("user", indices: [4, 9, 9], offsets: [0, 1, 3])</c> is bag 0 = [4] and
/// bag 1 = [9, 9]. Offsets are checked when added; ids are checked against the table at lookup.
/// </remarks>
public sealed class KeyedBatch
{
    private readonly Dictionary<string, Feature> _features = new(StringComparer.Ordinal);

    /// <summary>Starts an empty batch of <paramref name="batchSize"/> bags per feature.</summary>
    public KeyedBatch(int batchSize)
    {
        Guard.NonNegative("keyed_batch", batchSize);
        BatchSize = batchSize;
    }

    /// <summary>Bags per feature, B.</summary>
    public int BatchSize { get; }

    /// <summary>Adds (or replaces) the bags of <paramref name="feature"/>. The arrays are kept, not copied.</summary>
    /// <exception cref="ArgumentException">Offsets are not B + 1 long, do not start at 0, decrease, or do not end at indices.Length; weights have the wrong length.</exception>
    public KeyedBatch Add(string feature, int[] indices, int[] offsets, float[]? perSampleWeights = null)
    {
        const string op = "keyed_batch.add";
        if (string.IsNullOrEmpty(feature))
            ThrowHelper.Argument(op, nameof(feature), "the feature name must not be empty");
        Guard.NotNull(op, indices);
        Guard.NotNull(op, offsets);
        Guard.Length(op, offsets.Length, (long)BatchSize + 1, $"B + 1 = {BatchSize + 1} offsets for feature '{feature}'");
        if (offsets[0] != 0 || offsets[^1] != indices.Length)
            ThrowHelper.Argument(op, nameof(offsets), $"feature '{feature}': offsets must start at 0 and end at indices.Length {indices.Length}, but are {offsets[0]} .. {offsets[^1]}");
        for (int b = 1; b < offsets.Length; b++)
            if (offsets[b] < offsets[b - 1])
                ThrowHelper.Argument(op, nameof(offsets), $"feature '{feature}': offsets must be non-decreasing, but offsets[{b - 1}] = {offsets[b - 1]} and offsets[{b}] = {offsets[b]}");
        if (perSampleWeights is not null)
            Guard.Length(op, perSampleWeights.Length, indices.Length, $"one weight per id of feature '{feature}'");
        _features[feature] = new Feature(indices, offsets, perSampleWeights);
        return this;
    }

    /// <summary>Offsets (B + 1 entries) from bag lengths, for callers that hold lengths as TorchRec does.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative length.</exception>
    public static int[] OffsetsFromLengths(ReadOnlySpan<int> lengths)
    {
        var offsets = new int[lengths.Length + 1];
        for (int b = 0; b < lengths.Length; b++)
        {
            if (lengths[b] < 0)
                ThrowHelper.ArgumentOutOfRange("keyed_batch.offsets", nameof(lengths), lengths[b], $"lengths[{b}] = {lengths[b]} is negative");
            offsets[b + 1] = checked(offsets[b] + lengths[b]);
        }
        return offsets;
    }

    /// <summary>Names of the features present.</summary>
    public IEnumerable<string> Features => _features.Keys;

    internal bool TryGet(string feature, out Feature value) => _features.TryGetValue(feature, out value!);

    internal sealed record Feature(int[] Indices, int[] Offsets, float[]? PerSampleWeights);
}
